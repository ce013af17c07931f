"""reporting's caller errors (they cross RPC as JSON; see estatedesk_common.errors)."""
from estatedesk_common.errors import EXPECTED, Forbidden, NotFound, ValidationFailed  # noqa: F401

EXPECTED_EXCEPTIONS = EXPECTED
