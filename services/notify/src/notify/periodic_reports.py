"""reporting's ``report_ready`` -> one e-mail per recipient (kind ``periodic_report``), through the usual delivery
loop (retries, failures and the delivery log as for every message). The report is not about one complaint: the
message's ``complaint_id`` column holds the report run's id, so its deliveries can be listed like a complaint's.
The page is reporting's self-contained HTML; the text part is its summary."""
from __future__ import annotations

import logging
from email.utils import make_msgid

from . import repository
from .domain.messages import MESSAGE_ID_DOMAIN, Message

CONSUMER = "notify.periodic_report"
KIND = "periodic_report"

log = logging.getLogger(__name__)


def on_report_ready(envelope, uow) -> int:
    """Queue the e-mails once per event; returns how many."""
    p = envelope.payload
    with uow:
        if not uow.claim(envelope, CONSUMER):
            return 0
        now = uow.clock.now()
        locale = p.get("locale") if p.get("locale") in ("zh_CN", "en") else "zh_CN"
        recipients = [r for r in p.get("recipients") or [] if isinstance(r, str) and "@" in r][:20]
        for recipient in recipients:
            repository.add_message(uow.conn, Message(
                tenant_id=envelope.tenant_id, complaint_id=str(p["run_id"]), case_id=None, kind=KIND,
                channel="email", recipient=recipient, locale=locale, reference="",
                subject=str(p.get("subject") or "")[:200], body_text=str(p.get("text") or ""),
                body_html=str(p.get("html") or ""), status="queued", created_at=now,
                smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN)))
        uow.commit()
    log.info("periodic report %s queued for %d recipients", p.get("run_id"), len(recipients))
    return len(recipients)
