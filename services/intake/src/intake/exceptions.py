"""intake's caller errors (they cross RPC as JSON; see estatedesk_common.errors)."""
from estatedesk_common.errors import EXPECTED, BadRequest, NotFound, ValidationFailed  # noqa: F401


class EstateNotFound(NotFound):
    code = "estate_not_found"


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class CallNotFound(NotFound):
    code = "call_not_found"


class InvalidFilter(BadRequest):
    """A list filter outside its documented values (400 with ``details.field`` and ``details.allowed``)."""
    code = "invalid_filter"


EXPECTED_EXCEPTIONS = EXPECTED
