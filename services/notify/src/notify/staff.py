"""Staff alerts (``domain.staff``): e-mails to the responsible role's people of the estate on ``sla_warning``,
``sla_breached`` and ``case_escalated``, once per event; the tenant's alert recipients (``staff_contacts``),
listed and replaced through RPC, seeded for the demo. The messages sit on the case's delivery log like every
other (kind ``staff_*``), so the timeline shows who was told.
"""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import delete, select

from estatedesk_common import i18n
from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_GROUPS

from . import repository, template_overrides
from .domain.staff import InvalidContact, KINDS, alert_messages, clean_contacts, demo_contacts
from .exceptions import Forbidden, ValidationFailed
from .domain.timeline import DELIVERY_STATES
from .tables import owner_contacts, staff_contacts

CONSUMERS = {event: f"notify.staff_alert.{event}" for event in ("sla_warning", "sla_breached", "case_escalated",
                                                               "major_case_opened")}
MANAGERS = {"group_admin", "head_office"}  # may replace the alert recipients

log = logging.getLogger(__name__)

_WHAT = {"staff_sla_warning": ("超时预警", "SLA warning"), "staff_sla_breached": ("超时通报", "SLA breach"),
         "staff_case_escalated": ("升级通报", "Escalation"), "staff_major_case": ("重大投诉通报", "Major complaint"), "callback_overdue": ("回访逾期提醒", "Overdue callback")}
i18n.register({f"notify.{kind}.email.{state}": {"zh_CN": f"{zh_what}邮件{zh}", "en": f"{en_what} e-mail {en}"}
               for kind, (zh_what, en_what) in _WHAT.items() for state, (zh, en) in DELIVERY_STATES.items()})


def case_info(conn, tenant_id: str, payload: dict) -> dict:
    """What the alert says about the case: the event's fields, the estate's name and zone from the owner's
    contacts when notify kept them."""
    complaint_id = str(payload.get("complaint_id") or payload.get("case_id") or "")
    kept = conn.execute(select(owner_contacts).where(
        owner_contacts.c.tenant_id == tenant_id, owner_contacts.c.complaint_id == complaint_id)).mappings().first()
    estate_code = str(payload.get("estate_code") or (kept["estate_code"] if kept else ""))
    estate_name = (kept["estate_name"] if kept else "") or str(payload.get("estate_name") or "") or estate_code
    return {"complaint_id": complaint_id, "reference": str(payload.get("reference") or ""),
            "estate_code": estate_code, "estate_name": estate_name,
            "timezone": kept["timezone"] if kept else None}


def contacts_of(conn, tenant_id: str) -> list:
    return conn.execute(select(staff_contacts).where(staff_contacts.c.tenant_id == tenant_id)
                        .order_by(staff_contacts.c.role, staff_contacts.c.estate_code, staff_contacts.c.email)
                        ).mappings().all()


def alert(uow, tenant_id: str, event_type: str, payload: dict) -> list:
    """Queue the alert e-mails inside the caller's transaction; returns the messages."""
    case = case_info(uow.conn, tenant_id, payload)
    renderer = template_overrides.scoped(uow.conn, tenant_id, case["estate_code"] or None)
    messages = alert_messages(tenant_id, event_type, payload, case, contacts_of(uow.conn, tenant_id),
                              uow.clock.now(), renderer.render)
    for message in messages:
        repository.add_message(uow.conn, message)
    return messages


def on_case_event(envelope, uow) -> bool:
    """True when an e-mail was queued (the caller wakes the mailer)."""
    with uow:
        if not uow.claim(envelope, CONSUMERS[envelope.event_type]):
            return False
        messages = alert(uow, envelope.tenant_id, envelope.event_type, envelope.payload)
        uow.commit()
    log.info("%s for %s: %s", KINDS[envelope.event_type], envelope.payload.get("reference"),
             ", ".join(m.status for m in messages))
    return any(m.status == "queued" for m in messages)


def _view(row) -> dict:
    return {"id": row["id"], "role": row["role"], "estate": row["estate_code"], "name": row["name"],
            "email": row["email"], "phone": row["phone"], "locale": row["locale"]}


def list_staff_contacts(tenant_id: str, engine) -> list[dict]:
    with engine.connect() as conn:
        return [_view(row) for row in contacts_of(conn, tenant_id)]


def set_staff_contacts(tenant_id: str, caller_roles, contacts, uow) -> list[dict]:
    """Replace the tenant's alert recipients (group admins and head office only; a service call is trusted)."""
    if caller_roles is not None and not MANAGERS & {r[0] for r in caller_roles if r}:
        raise Forbidden("only group admins and head office set the alert recipients")
    try:
        cleaned = clean_contacts(contacts)
    except InvalidContact as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    with uow:
        now = uow.clock.now()
        uow.conn.execute(delete(staff_contacts).where(staff_contacts.c.tenant_id == tenant_id))
        for c in cleaned:
            uow.conn.execute(staff_contacts.insert().values(tenant_id=tenant_id, id=str(uuid.uuid4()),
                                                            created_at=now, **c))
        rows = contacts_of(uow.conn, tenant_id)
        uow.commit()
    return [_view(row) for row in rows]


def seed_demo(engine) -> str:
    """The demo groups' alert recipients (idempotent: derived ids). DEMO ONLY."""
    count = 0
    with engine.begin() as conn:
        for tenant, _regions, _estates, users in DEMO_GROUPS:
            for c in demo_contacts(users):
                key = (staff_contacts.c.tenant_id == tenant["id"], staff_contacts.c.id == c["id"])
                if conn.execute(select(staff_contacts.c.id).where(*key)).first() is None:
                    conn.execute(staff_contacts.insert().values(tenant_id=tenant["id"], created_at=utcnow(), **c))
                    count += 1
    return f"({count} staff contacts)"
