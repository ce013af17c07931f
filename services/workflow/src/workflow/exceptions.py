"""workflow's caller errors (they cross RPC as JSON; see estatedesk_common.errors)."""
from estatedesk_common.errors import EXPECTED, NotFound


class CaseNotFound(NotFound):
    code = "case_not_found"


EXPECTED_EXCEPTIONS = EXPECTED
