"""Staff alerts: the responsible role's people of the estate get one e-mail per SLA event; contacts per tenant."""
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from notify import owner_updates, staff
from notify.domain.staff import clean_contacts, recipients
from notify.domain.timeline import timeline_entry
from notify.exceptions import Forbidden, ValidationFailed
from notify.tables import messages

TENANT = str(uuid.uuid4())
ADMIN = [["group_admin", None]]
CONTACTS = [
    {"role": "cs_supervisor", "estate": "DEMO-RES", "name": "客服主管 李", "email": "li@example.com"},
    {"role": "cs_supervisor", "estate": "DEMO-OFFICE", "name": "主管 赵", "email": "zhao@example.com"},
    {"role": "site_manager", "estate": None, "name": "Manager Wang", "email": "wang@example.com", "locale": "en"},
    {"role": "head_office", "estate": None, "name": "总部", "email": "hq@example.com"},
]


def rows(engine, tenant=TENANT):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.tenant_id == tenant)).mappings().all()


def sla(event_type, complaint_id, **over):
    return Envelope(event_type=event_type, tenant_id=TENANT, payload={
        "case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS20261124-ABCDEF",
        "estate_code": "DEMO-RES", "stage": "first_contact", "due_at": "2026-11-24T07:30:00+00:00"} | over)


def test_warning_goes_to_the_estates_supervisor_breach_to_the_manager(engine, new_uow, make_case_opened):
    staff.set_staff_contacts(TENANT, ADMIN, CONTACTS, new_uow())
    opened = make_case_opened()
    owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=TENANT, payload=opened), new_uow())
    warning = sla("sla_warning", opened["complaint_id"])
    assert staff.on_case_event(warning, new_uow())
    assert not staff.on_case_event(warning, new_uow())  # redelivered
    [mail] = rows(engine)
    assert (mail["recipient"], mail["kind"], mail["locale"]) == ("li@example.com", "staff_sla_warning", "zh_CN")
    assert mail["subject"] == "【锦绣花园】超时预警：TS20261124-ABCDEF"
    assert "「首次联系业主」时限即将到期：2026-11-24 15:30" in mail["body_text"]
    assert timeline_entry(mail)["text"] == "超时预警邮件排队中"
    staff.on_case_event(sla("sla_breached", opened["complaint_id"]), new_uow())
    breach = [m for m in rows(engine) if m["kind"] == "staff_sla_breached"]
    assert [(m["recipient"], m["locale"]) for m in breach] == [("wang@example.com", "en")]
    assert "time limit has passed" in breach[0]["body_text"]


def test_escalation_goes_to_the_rungs_role_and_nobody_is_a_skipped_row(engine, new_uow):
    staff.set_staff_contacts(TENANT, ADMIN, CONTACTS[:3], new_uow())
    complaint_id = str(uuid.uuid4())
    staff.on_case_event(sla("case_escalated", complaint_id, level=2, role="site_manager", reason="resolution breached"),
                        new_uow())
    staff.on_case_event(sla("case_escalated", complaint_id, level=3, role="head_office", reason="no progress"),
                        new_uow())
    by_kind = [(m["recipient"], m["status"], m["last_error"]) for m in rows(engine)]
    assert ("wang@example.com", "queued", None) in by_kind
    assert ("", "skipped", "no staff contact for head_office at DEMO-RES") in by_kind
    assert rows(engine, str(uuid.uuid4())) == []


def test_contacts_are_validated_replaced_and_isolated_per_tenant(engine, new_uow):
    assert sorted(c["email"] for c in staff.set_staff_contacts(TENANT, ADMIN, CONTACTS, new_uow())) == [
        "hq@example.com", "li@example.com", "wang@example.com", "zhao@example.com"]
    assert len(staff.set_staff_contacts(TENANT, None, CONTACTS[:1], new_uow())) == 1  # a trusted service call
    assert staff.list_staff_contacts(str(uuid.uuid4()), engine) == []
    with pytest.raises(Forbidden):
        staff.set_staff_contacts(TENANT, [["cs_supervisor", "DEMO-RES"]], [], new_uow())
    with pytest.raises(ValidationFailed) as err:
        staff.set_staff_contacts(TENANT, ADMIN, [{"role": "cs_supervisor", "email": "not-an-address"}], new_uow())
    assert err.value.field == "contacts[0].email"
    with pytest.raises(ValidationFailed):
        staff.set_staff_contacts(TENANT, ADMIN, [{"role": "janitor", "email": "a@b.cn"}], new_uow())
    assert len(staff.list_staff_contacts(TENANT, engine)) == 1


def test_recipients_reach_their_estate_or_every_estate_once_per_address():
    contacts = clean_contacts(CONTACTS + [{"role": "site_manager", "estate": "DEMO-RES", "email": "WANG@example.com"}])
    assert [c["email"] for c in recipients(contacts, "site_manager", "DEMO-RES")] == ["wang@example.com"]
    assert [c["email"] for c in recipients(contacts, "cs_supervisor", "DEMO-OFFICE")] == ["zhao@example.com"]


def test_demo_seed_gives_the_demo_roles_example_addresses(engine):
    staff.seed_demo(engine)
    assert "(0 staff contacts)" == staff.seed_demo(engine)  # idempotent
    seeded = {(c["role"], c["estate"], c["email"]) for c in staff.list_staff_contacts(DEMO_TENANT["id"], engine)}
    assert seeded == {("cs_supervisor", "DEMO-RES", "supervisor@demo.example"),
                      ("site_manager", "DEMO-RES", "manager@demo.example"),
                      ("site_manager", "DEMO-NEW", "manager@demo.example"),
                      ("head_office", None, "hq@demo.example")}


def test_a_major_complaint_tells_the_site_manager_at_once(engine, new_uow):
    staff.set_staff_contacts(TENANT, ADMIN, CONTACTS, new_uow())
    complaint_id = str(uuid.uuid4())
    event = Envelope(event_type="major_case_opened", tenant_id=TENANT, payload={
        "case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS20261124-MAJOR1",
        "estate_code": "DEMO-RES", "estate_name": "锦绣花园", "severity": "major", "category": "电梯",
        "reason": "upgraded", "notify_role": "site_manager", "special_team_due_at": "2026-11-24T08:00:00+00:00"})
    assert staff.on_case_event(event, new_uow())
    assert not staff.on_case_event(event, new_uow())  # redelivered: told once
    [mail] = [m for m in rows(engine) if m["kind"] == "staff_major_case"]
    assert (mail["recipient"], mail["locale"], mail["status"]) == ("wang@example.com", "en", "queued")
    assert mail["subject"] == "[锦绣花园] Major complaint: form the special team: TS20261124-MAJOR1"
    assert "unresolved for a month, upgraded to major" in mail["body_text"]
    assert "(category: 电梯)" in mail["body_text"] and "due 2026-11-24" in mail["body_text"]
    staff.set_staff_contacts(TENANT, ADMIN, [CONTACTS[0] | {"role": "site_manager"}], new_uow())
    again = Envelope(event_type="major_case_opened", tenant_id=TENANT, payload=event.payload | {"reason": "opened"})
    assert staff.on_case_event(again, new_uow())
    [zh] = [m for m in rows(engine) if m["kind"] == "staff_major_case" and m["locale"] == "zh_CN"]
    assert zh["subject"] == "【锦绣花园】重大投诉，请成立专项小组：TS20261124-MAJOR1"
    assert "受理时即定为重大投诉（类别：电梯）。请立即成立专项处理小组" in zh["body_text"]
