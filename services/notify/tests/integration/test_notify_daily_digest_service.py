"""The managers' daily digest on real containers, broker, database and SMTP server: the timer of two notify
replicas sends one e-mail per manager (figures from a stand-in ``workflow`` over RPC); ``send_daily_digest``
answers what it did, never sends twice, and refuses site staff."""
import datetime as dt
import email
import email.policy
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import func, select

from estatedesk_common.unit_of_work import UnitOfWork
from notify import digest, staff
from notify.service import NotifyService
from notify.tables import digest_runs, manager_digests, reliability

pytestmark = pytest.mark.integration

ASKED = []


class StandInWorkflow:
    """workflow's ``digest_figures`` as the digest calls it: as a service, tenant in the context, no roles."""
    name = "workflow"

    @rpc
    def digest_figures(self, since, until, due_before, worst=10):
        ASKED.append((since, until, due_before, worst))
        return {"estates": [{"estate": "DEMO-RES", "estate_name": "锦绣花园", "new": 3, "resolved": 1, "open": 5,
                             "overdue": 1, "due_today": 2, "escalated": 0, "extensions_pending": 0}],
                "items": [{"complaint_id": "c-1", "reference": "TS20261124-LATE01", "estate": "DEMO-RES",
                           "estate_name": "锦绣花园", "status": "assigned", "severity": "normal", "assignee": "wang",
                           "escalation_level": 0, "received_at": "2026-11-23T01:00:00+00:00", "overdue": True,
                           "due_today": False, "escalated": False, "extension_pending": False,
                           "next_deadline": {"stage": "resolution", "due_at": "2026-11-24T01:00:00+00:00"}}]}


class RealClock:
    def now(self):
        return dt.datetime.now(dt.timezone.utc)


def _managers(engine, tenant):
    staff.set_staff_contacts(tenant, None, [
        {"role": "site_manager", "estate": "DEMO-RES", "name": "项目经理 王", "email": "wang@demo.example"},
        {"role": "head_office", "name": "总部", "email": "hq@demo.example", "locale": "en"},
        {"role": "agent", "estate": "DEMO-RES", "email": "agent@demo.example"}],
        UnitOfWork(engine, reliability, RealClock()))


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_two_replicas_send_each_manager_one_digest_at_the_hour(container_factory, notify_config, smtp_sink, engine):
    smtp_sink.start()
    tenant = str(uuid.uuid4())
    _managers(engine, tenant)
    hour = dt.datetime.now(ZoneInfo("Asia/Shanghai")).hour  # due now
    digest.save_settings(tenant, None, None, {"enabled": True, "hour": hour},
                         UnitOfWork(engine, reliability, RealClock()))
    container_factory(StandInWorkflow, notify_config).start()
    for _ in range(2):
        config = dict(notify_config, DIGEST_CHECK_SECONDS=0.2, CONSOLE_BASE_URL="https://console.example.cn/",
                      WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}")
        container_factory(NotifyService, config).start()
    received = smtp_sink.wait_for(2)
    time.sleep(1.0)  # several more passes of both replicas
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.received) == ["hq@demo.example", "wang@demo.example"]
    assert _count(engine, manager_digests) == 2 and _count(engine, digest_runs) == 1
    mails = {r.rcpt_tos[0]: email.message_from_bytes(r.original_content, policy=email.policy.default)
             for r in received}
    wang = mails["wang@demo.example"]
    assert wang["Subject"].startswith("【每日摘要】锦绣花园 ") and "逾期 1 件，今日到期 2 件" in wang["Subject"]
    body = wang.get_body(("plain",)).get_content()
    assert "新受理投诉：3" in body and "https://console.example.cn/complaints/c-1" in body
    assert "TS20261124-LATE01" in wang.get_body(("html",)).get_content()
    assert mails["hq@demo.example"]["Subject"].startswith("Daily digest ")
    since, until, due_before, worst = ASKED[0]
    assert dt.datetime.fromisoformat(until) - dt.datetime.fromisoformat(since) == dt.timedelta(days=1)
    assert worst == 10


def test_send_now_answers_what_it_did_once(container_factory, notify_config, smtp_sink, engine):
    smtp_sink.start()
    tenant = str(uuid.uuid4())
    _managers(engine, tenant)
    container_factory(StandInWorkflow, notify_config).start()
    container_factory(NotifyService, dict(notify_config, DIGEST_CHECK_SECONDS=0)).start()  # no timer
    with ServiceRpcProxy("notify", notify_config, context_data={"tenant_id": tenant}) as notify:
        first = notify.send_daily_digest()
        again = notify.send_daily_digest(first["day"])
    assert (first["recipients"], first["queued"], first["already_sent"]) == (2, 2, 0)
    assert (again["queued"], again["already_sent"]) == (0, 2)
    assert len(smtp_sink.wait_for(2)) == 2
    site = {"tenant_id": tenant, "user_id": str(uuid.uuid4()), "roles": [["site_manager", "DEMO-RES"]]}
    with ServiceRpcProxy("notify", notify_config, context_data=site) as notify:
        with pytest.raises(RemoteError) as refused:
            notify.send_daily_digest()
        assert "forbidden" in str(refused.value)
        with pytest.raises(RemoteError):
            notify.get_digest_settings()
    hq = {"tenant_id": tenant, "user_id": str(uuid.uuid4()), "roles": [["head_office", None]]}
    with ServiceRpcProxy("notify", notify_config, context_data=hq) as notify:
        saved = notify.set_digest_settings({"enabled": False, "hour": 7, "opt_outs": ["hq@demo.example"]})
        assert (saved["enabled"], saved["hour"], saved["opt_outs"]) == (False, 7, ["hq@demo.example"])
        with pytest.raises(RemoteError) as bad:
            notify.set_digest_settings({"enabled": True, "hour": 25})
        assert "validation_failed" in str(bad.value) and '"hour"' in str(bad.value)
