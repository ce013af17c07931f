from estatedesk_common.db import make_engine
from estatedesk_common.config import DbTarget
from estatedesk_common.demo import DEMO_GROUPS, DEMO_PASSWORD, DEMO_TENANT, DEMO_USERS, demo_id

from gateway import accounts


def test_seed_is_idempotent(db_url):
    engine = make_engine(DbTarget(db_url, None))
    try:
        assert "0 new" in accounts.seed_demo(engine)
        with engine.connect() as conn:
            assert accounts.authenticate(conn, "admin@demo", DEMO_PASSWORD).roles == (("group_admin", None),)
    finally:
        engine.dispose()


def test_passwords_are_argon2_hashes(db_url):
    from sqlalchemy import select

    from gateway.tables import users

    engine = make_engine(DbTarget(db_url, None))
    try:
        with engine.connect() as conn:
            hashes = conn.execute(select(users.c.password_hash)).scalars().all()
    finally:
        engine.dispose()
    assert len(hashes) == sum(len(group[3]) for group in DEMO_GROUPS)
    assert all(h.startswith("$argon2id$") and DEMO_PASSWORD not in h for h in hashes)


def test_profile_of_another_tenant_is_invisible(db_url):
    engine = make_engine(DbTarget(db_url, None))
    other = "00000000-0000-4000-8000-000000000002"
    try:
        with engine.begin() as conn:
            accounts.ensure_tenant(conn, other, "other-test", "Other Group")
            accounts.ensure_user(conn, other, demo_id("user", "x@other"), "x@other", "X", "pw", [("agent", None)])
        with engine.connect() as conn:
            assert accounts.profile(conn, other, demo_id("user", "agent@demo")) is None
            assert accounts.profile(conn, DEMO_TENANT["id"], demo_id("user", "x@other")) is None
            assert accounts.profile(conn, other, demo_id("user", "x@other"))["tenant"]["slug"] == "other-test"
            assert accounts.roles_of(conn, DEMO_TENANT["id"], demo_id("user", "x@other")) == ()
    finally:
        engine.dispose()
