"""A group admin's WeChat account settings on a real database (SQLite, or Postgres via TEST_DATABASE_URL): the
AppSecret is write-only and sealed at rest, template ids are set, changed and removed, and what notify gets
through ``get_wechat_credentials`` follows; other tenants, other roles and bad values are refused."""
import datetime as dt

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.dependencies import DbHandle
from estatedesk_common.errors import Forbidden, ValidationFailed

from intake import wechat_accounts_admin as admin
from intake.seed import seed_demo
from intake.tables import reliability, wechat_accounts
from intake.wechat_credentials import get_credentials
from intake.wechat_seed import DEMO_TEMPLATES, DEMO_WECHAT, DEMO_WECHAT_ID

pytestmark = pytest.mark.integration

TENANT, OTHER = DEMO_TENANT["id"], OTHER_TENANT["id"]
ADMIN = [["group_admin", None]]


class Clock:
    def now(self):
        return dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def db(intake_engine):
    seed_demo(intake_engine)
    return DbHandle(intake_engine, reliability, Clock(), "req-wechat-admin", None)


def test_the_app_secret_is_write_only_and_sealed_and_notify_gets_the_new_one(db):
    environ = {"ESTATEDESK_SECRETS_KEY": Fernet.generate_key().decode()}
    [account] = admin.list_accounts(TENANT, ADMIN, db.engine)
    assert account["id"] == DEMO_WECHAT_ID and account["app_id"] == DEMO_WECHAT["app_id"]
    assert account["app_secret_set"] is True and account["templates"] == DEMO_TEMPLATES
    assert "app_secret" not in account and DEMO_WECHAT["app_secret"] not in str(account)
    saved = admin.update_account(DEMO_WECHAT_ID, {"app_secret": " f00dfacef00dfacef00dfacef00dface "}, TENANT,
                                 "u-admin", ADMIN, db.uow(), environ)
    assert saved["changed"] == {"app_secret": True, "templates": []} and "f00dface" not in str(saved)
    with db.engine.connect() as conn:
        stored = conn.execute(select(wechat_accounts.c.app_secret).where(
            wechat_accounts.c.tenant_id == TENANT, wechat_accounts.c.id == DEMO_WECHAT_ID)).scalar_one()
    assert stored.startswith("enc:v1:") and "f00dface" not in stored
    creds = get_credentials(DEMO_WECHAT["app_id"], TENANT, None, db.engine, environ)
    assert creds["app_secret"] == "f00dfacef00dfacef00dfacef00dface"
    unchanged = admin.update_account(DEMO_WECHAT_ID, {"app_secret": ""}, TENANT, "u-admin", ADMIN, db.uow(), environ)
    assert unchanged["changed"]["app_secret"] is False and unchanged["app_secret_set"] is True


def test_template_ids_are_set_changed_and_removed(db):
    changes = {"templates": {"acknowledgement": "tplAckNew0001", "progress": DEMO_TEMPLATES["progress"],
                             "resolved": "", "callback_survey": None}}
    saved = admin.update_account(DEMO_WECHAT_ID, changes, TENANT, "u-admin", ADMIN, db.uow(), {})
    assert saved["templates"] == {"acknowledgement": "tplAckNew0001", "progress": DEMO_TEMPLATES["progress"]}
    assert saved["changed"] == {"app_secret": False, "templates": ["acknowledgement", "callback_survey",
                                                                   "resolved"]}
    creds = get_credentials(DEMO_WECHAT["app_id"], TENANT, None, db.engine, {})
    assert creds["templates"] == saved["templates"]
    again = admin.update_account(DEMO_WECHAT_ID, changes, TENANT, "u-admin", ADMIN, db.uow(), {})
    assert again["changed"]["templates"] == []  # nothing new: nothing to audit


def test_other_tenants_roles_and_bad_values_are_refused(db):
    assert admin.list_accounts(OTHER, ADMIN, db.engine) == []
    with pytest.raises(admin.WeChatAccountNotFound):  # the demo account from the other tenant
        admin.update_account(DEMO_WECHAT_ID, {"templates": {"progress": "x1"}}, OTHER, "u", ADMIN, db.uow(), {})
    for roles in ([["agent", "DEMO-RES"]], [["head_office", None]], []):
        with pytest.raises(Forbidden):
            admin.list_accounts(TENANT, roles, db.engine)
        with pytest.raises(Forbidden):
            admin.update_account(DEMO_WECHAT_ID, {}, TENANT, "u", roles, db.uow(), {})
    for changes, field in [({"app_secret": "short"}, "app_secret"), ({"app_secret": "has a space inside"},
                                                                      "app_secret"),
                           ({"templates": {"progress": "bad id!"}}, "templates.progress"),
                           ({"templates": {"escalation": "tpl1"}}, "templates.escalation"),
                           ({"templates": {"progress": "x" * 65}}, "templates.progress"),
                           ({"templates": ["x"]}, "templates"), ({"token": "x"}, "changes")]:
        with pytest.raises(ValidationFailed) as err:
            admin.update_account(DEMO_WECHAT_ID, changes, TENANT, "u", ADMIN, db.uow(), {})
        assert err.value.field == field
    assert get_credentials(DEMO_WECHAT["app_id"], TENANT, None, db.engine, {})["templates"] == DEMO_TEMPLATES
