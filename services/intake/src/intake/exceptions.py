"""intake's caller errors (they cross RPC as JSON; see estatedesk_common.errors)."""
from estatedesk_common.errors import EXPECTED, NotFound, ValidationFailed  # noqa: F401


class EstateNotFound(NotFound):
    code = "estate_not_found"


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class CallNotFound(NotFound):
    code = "call_not_found"


EXPECTED_EXCEPTIONS = EXPECTED
