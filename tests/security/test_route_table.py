"""A gateway route without a cross-tenant probe fails here, in the unit phase (no system needed)."""
from .routes import unprobed


def test_every_gateway_route_has_a_security_probe():
    missing, stale = unprobed()
    assert not missing, (f"routes without a probe in tests/security/routes.py and "
                         f"tests/e2e/test_security_isolation.py: {sorted(missing)}")
    assert not stale, f"probes for routes that no longer exist: {sorted(stale)}"


def test_every_gateway_route_has_a_row_in_the_role_matrix():
    from tests.e2e.role_matrix import MATRIX, ROLES, unlisted

    missing, stale = unlisted()
    assert not missing, f"routes without a row in tests/e2e/role_matrix.py: {sorted(missing)}"
    assert not stale, f"role matrix rows for routes that no longer exist: {sorted(stale)}"
    assert all(access.roles <= set(ROLES) for access in MATRIX.values())
