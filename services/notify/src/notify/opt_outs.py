"""SMS opt-outs from owners' replies (Kannel MO, ``GET /kannel/mo``) and the per-number hourly throttle.

Kannel's smsbox posts every mobile-originated SMS to ``/kannel/mo?from=%p&to=%P&text=%a&k=<KANNEL_MO_TOKEN>``
(``deploy/kannel/kannel.conf.tmpl``). An MO carries no tenant: the opt-out is recorded for every tenant that
has sent SMS to that number (in production each group has its own sender number and Kannel; one shared
Kannel in development). In the same transaction, that number's queued non-essential SMS are ``skipped``, and so
are its ``unknown`` ones (answer lost): they are not sent again to an owner who opted out.
Essential SMS (``domain.owner_updates.ESSENTIAL_SMS_KINDS``: the acknowledgement with the reference, the
callback survey) still go. Other replies are logged and answered 200 (Kannel would retry otherwise).
"""
from __future__ import annotations

import datetime as dt
import hmac
import logging

from sqlalchemy import and_, func, or_, select, update

from . import reads, repository
from .domain.opt_outs import WINDOW, opt_out_keyword, throttle_reason, throttled_until
from .domain.owner_updates import ESSENTIAL_SMS_KINDS, OPTED_OUT
from .domain.phones import InvalidPhone, mask_phone, national_mobile
from .tables import messages, sms_opt_outs

log = logging.getLogger(__name__)


def is_opted_out(conn, tenant_id: str, phone: str) -> bool:
    try:
        number = national_mobile(phone)
    except InvalidPhone:
        return False
    return conn.execute(select(sms_opt_outs.c.phone).where(
        sms_opt_outs.c.tenant_id == tenant_id, sms_opt_outs.c.phone == number)).first() is not None


def on_kannel_mo(args, uow, token: str | None = None) -> tuple[int, str]:
    """One owner's SMS reply -> (HTTP status, body). The body stays empty: Kannel would send it back as an SMS."""
    if token and not hmac.compare_digest(str(args.get("k") or ""), token):
        log.warning("MO refused: wrong token")
        return 403, ""
    try:
        number = national_mobile(str(args.get("from") or ""))
    except InvalidPhone as exc:
        log.warning("MO ignored: %s", exc)
        return 400, ""
    keyword = opt_out_keyword(args.get("text"))
    if keyword is None:
        log.info("MO from %s is not an opt-out; ignored", mask_phone(number))
        return 200, ""
    with uow:
        tenants = opt_out(uow.conn, number, keyword, uow.clock.now())
        uow.commit()
    log.info("SMS opt-out (%s) from %s for %d tenant(s)", keyword, mask_phone(number), len(tenants))
    return 200, ""


def opt_out(conn, number: str, keyword: str, now: dt.datetime) -> list[str]:
    """Record the opt-out for every tenant that messaged ``number``; skip its queued non-essential SMS."""
    tenants = conn.execute(select(messages.c.tenant_id).distinct().where(
        messages.c.channel == "sms", messages.c.recipient == number)).scalars().all()
    for tenant_id in tenants:
        if not conn.execute(select(sms_opt_outs.c.phone).where(
                sms_opt_outs.c.tenant_id == tenant_id, sms_opt_outs.c.phone == number)).first():
            conn.execute(sms_opt_outs.insert().values(tenant_id=tenant_id, phone=number, keyword=keyword,
                                                      opted_out_at=now))
    conn.execute(update(messages).where(
        messages.c.channel == "sms", messages.c.recipient == number, messages.c.status.in_(repository.PENDING),
        messages.c.kind.not_in(sorted(ESSENTIAL_SMS_KINDS)), messages.c.tenant_id.in_(tenants or [""]),
    ).values(status="skipped", last_error=OPTED_OUT, next_attempt_at=None, updated_at=now))
    return list(tenants)


class SmsThrottle:
    """At most ``limit`` SMS to one number in any rolling hour (urgent messages are not held back)."""

    def __init__(self, engine, limit: int):
        self.engine, self.limit = engine, limit
        self.reason = throttle_reason(limit)

    def recent(self, recipient: str, now: dt.datetime) -> list[dt.datetime]:
        """When SMS to ``recipient`` went out in the last hour: those sent, and those whose gateway answer was lost
        (``unknown``: Kannel may well have sent them; counted from the lost answer's send)."""
        cutoff = now - WINDOW
        went = func.coalesce(messages.c.sent_at, messages.c.ambiguous_at)
        with reads.connection(self.engine) as conn:
            return list(conn.execute(select(went).where(
                messages.c.channel == "sms", messages.c.recipient == recipient,
                or_(messages.c.sent_at > cutoff, and_(messages.c.sent_at.is_(None),
                                                      messages.c.ambiguous_at > cutoff)))).scalars())

    def until(self, recipient: str, now: dt.datetime, sent_in_batch: list[dt.datetime]) -> dt.datetime | None:
        if self.limit <= 0:
            return None
        return throttled_until(self.recent(recipient, now) + sent_in_batch, now, self.limit)
