"""notify's caller errors (they cross RPC as JSON; see estatedesk_common.errors)."""
from estatedesk_common.errors import EXPECTED, Conflict, Forbidden, NotFound, ValidationFailed  # noqa: F401


class CallbackNotFound(NotFound):
    code = "callback_not_found"


class ResolverCannotClaim(Forbidden):
    """The person who resolved a case may not call its owner back (seed 001 §4.6: someone else checks)."""
    code = "resolver_cannot_claim"


class CallbackConflict(Conflict):
    code = "callback_conflict"


class SurveyNotFound(NotFound):
    """Unknown, already answered or expired survey token: one answer for all, nothing to probe."""
    code = "survey_not_found"


EXPECTED_EXCEPTIONS = EXPECTED
