"""Report-back use cases for head-office forwards (``domain.superior``): remember the superior from
``case_opened``; when workflow closes the case (``owner_accepted`` or ``case_closed``) queue the report in the
same transaction as the inbox claim and the ``reported_at`` stamp, so it is sent exactly once.

Ordering: notify consumes ``case_opened`` and the closing events on separate queues. A case is closed long
after it opened, but if notify was down for that whole time and the closing event is handled first, there is
nothing to report yet and it is logged; the report is then not sent (a known gap, see notify's README).
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update

from estatedesk_common import i18n

from . import repository, template_overrides
from .domain.superior import report_messages, superior_of
from .domain.timeline import DELIVERY_STATES
from .tables import superior_reports

CONSUMER_OPENED = "notify.superior_on_case_opened"
CONSUMER_CLOSED = "notify.superior_on_case_closed"
CONSUMER_ACCEPTED = "notify.superior_on_owner_accepted"

log = logging.getLogger(__name__)

i18n.register({f"notify.superior_report.{channel}.{state}": {
    "zh_CN": f"办结回报上级{'邮件' if channel == 'email' else '短信'}{zh}",
    "en": f"Report to the superior by {'e-mail' if channel == 'email' else 'SMS'} {en}"}
    for channel in ("email", "sms") for state, (zh, en) in DELIVERY_STATES.items()})


def remember(envelope, uow) -> bool:
    """Keep the superior of a head-office ``case_opened`` until the case closes; True when newly kept.
    Idempotent (inbox, and one row per complaint)."""
    p = envelope.payload
    who = superior_of(p)
    with uow:
        if not uow.claim(envelope, CONSUMER_OPENED):
            return False
        if who is None:
            uow.commit()
            return False
        key = (superior_reports.c.tenant_id == envelope.tenant_id,
               superior_reports.c.complaint_id == p["complaint_id"])
        inserted = uow.conn.execute(select(superior_reports.c.complaint_id).where(*key)).first() is None
        if inserted:
            estate = p.get("estate") or {}
            uow.conn.execute(superior_reports.insert().values(
                tenant_id=envelope.tenant_id, complaint_id=p["complaint_id"], reference=p.get("reference") or "",
                estate_name=estate.get("name") or estate.get("code") or "", timezone=estate.get("timezone"),
                description=p.get("description") or "", superior_name=who["name"][:50],
                superior_title=who["title"][:50], superior_phone=who["phone"][:20], superior_email=who["email"][:254],
                instructions=p.get("instructions") or "", created_at=uow.clock.now()))
        uow.commit()
    return inserted


def on_case_closed(envelope, uow, consumer: str, sms=None, render=None, render_sms=None) -> set:
    """Queue the report when a head-office case closes; the channels with a queued message (to wake)."""
    p = envelope.payload
    with uow:
        if not uow.claim(envelope, consumer):
            return set()
        key = (superior_reports.c.tenant_id == envelope.tenant_id,
               superior_reports.c.complaint_id == str(p.get("complaint_id") or p.get("case_id")))
        row = uow.conn.execute(select(superior_reports).where(*key)).mappings().first()
        if row is None or row["reported_at"] is not None:
            uow.commit()  # not a head-office forward, or already reported (closed, reopened, closed again)
            return set()
        now = uow.clock.now()
        scoped = template_overrides.scoped(uow.conn, envelope.tenant_id, None)  # the tenant's: no estate kept
        render, render_sms = render or scoped.render, render_sms or scoped.render_sms
        closed_at = _instant(p.get("at")) or now
        reason = "owner_accepted" if envelope.event_type == "owner_accepted" else p.get("reason")
        messages = report_messages(row, closed_at, reason, now, render, render_sms, sms)
        for message in messages:
            repository.add_message(uow.conn, message)
        uow.conn.execute(update(superior_reports).where(*key).values(reported_at=now, closed_reason=reason))
        uow.commit()
    log.info("report to the superior for %s: %s", row["reference"], ", ".join(f"{m.channel} {m.status}"
                                                                             for m in messages))
    return {m.channel for m in messages if m.status == "queued"}


def _instant(value) -> dt.datetime | None:
    try:
        instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return instant if instant and instant.tzinfo else None
