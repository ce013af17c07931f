"""workflow's caller errors (they cross RPC as JSON; see estatedesk_common.errors)."""
from estatedesk_common.errors import EXPECTED, NotFound, ValidationFailed


class CaseNotFound(NotFound):
    code = "case_not_found"


class PolicyRejected(ValidationFailed):
    """A policy document that does not validate; ``details.problems`` name each path and line."""

    code = "policy_invalid"


class CalendarMissing(ValidationFailed):
    """A deadline needs a year the statutory calendar has no data for."""

    code = "calendar_unavailable"


EXPECTED_EXCEPTIONS = EXPECTED
