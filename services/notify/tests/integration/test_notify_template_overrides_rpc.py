"""Template override RPCs on a real container, broker and database (SQLite, or PostgreSQL with
``TEST_DATABASE_URL``): a site manager's estate override is saved, previewed, listed, refused when it reaches
outside the sandbox (with the line, nothing stored), invisible to another tenant, and deleted."""
import uuid

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from estatedesk_common.errors import parse_remote

from notify.service import NotifyService
from notify.tables import template_overrides

pytestmark = pytest.mark.integration

ACK = "acknowledgement"


def _context(tenant, roles):
    return {"tenant_id": tenant, "user_id": str(uuid.uuid4()), "roles": roles}


def _stored(engine, tenant):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(template_overrides).where(
            template_overrides.c.tenant_id == tenant)).scalar_one()


def test_template_override_round_trip(container_factory, notify_config, engine):
    container_factory(NotifyService, notify_config).start()
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    manager = _context(tenant, [["site_manager", "DEMO-RES"]])
    with ServiceRpcProxy("notify", notify_config, context_data=manager) as notify:
        preview = notify.preview_template(ACK, "zh_CN", {"subject": "【{{ estate_name }}】收到 {{ reference }}"},
                                          "DEMO-RES")
        assert preview["parts"] == {"subject": "【锦绣花园】收到 TS20261124-7KQ2MX"} and preview["errors"] == {}
        assert _stored(engine, tenant) == 0
        saved = notify.save_template(ACK, "zh_CN", {"subject": "【{{ estate_name }}】收到 {{ reference }}"},
                                     "DEMO-RES")
        assert saved["parts"]["subject"]["in_force"] == "estate" and saved["parts"]["subject"]["version"] == 1
        with pytest.raises(RemoteError) as refused:
            notify.save_template(ACK, "zh_CN", {"body_txt": "您好\n{{ ''.__class__.__mro__ }}"}, "DEMO-RES")
        error = parse_remote(refused.value.value)
        assert (error["error"], error["details"]["field"], error["details"]["line"]) == (
            "validation_failed", "parts.body_txt", 2)
        with pytest.raises(RemoteError) as forbidden:
            notify.save_template(ACK, "zh_CN", {"subject": "x"}, None)  # the group's: not a site manager's
        assert "forbidden" in str(forbidden.value)
        assert [o["estate"] for o in notify.list_template_overrides()["overrides"]] == ["DEMO-RES"]
    assert _stored(engine, tenant) == 1
    with ServiceRpcProxy("notify", notify_config, context_data=_context(other, [["group_admin", None]])) as notify:
        assert notify.list_template_overrides()["overrides"] == []
        assert notify.get_template(ACK, "zh_CN", "DEMO-RES")["parts"]["subject"]["in_force"] == "default"
        assert notify.delete_template(ACK, "zh_CN", "DEMO-RES")["deleted"] == 0
    with ServiceRpcProxy("notify", notify_config, context_data=manager) as notify:
        assert notify.delete_template(ACK, "zh_CN", "DEMO-RES")["deleted"] == 1
    assert _stored(engine, tenant) == 0
