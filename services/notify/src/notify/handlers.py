"""notify use cases: take a unit of work (or an engine for reads), return plain values."""
from __future__ import annotations

import logging

from estatedesk_common.i18n import DEFAULT_LOCALE

from . import dlr, repository, template_overrides
from . import wechat as wechat_replies
from .domain.messages import event_fields, new_acknowledgement, new_sms_acknowledgement, pick_locale
from .domain.reports import MalformedReport, parse
from .domain.timeline import delivery_view, timeline_entry
from .exceptions import ValidationFailed

ON_CASE_OPENED = "notify.on_case_opened"

log = logging.getLogger(__name__)


def on_case_opened(envelope, uow, render=None, sms=None, render_sms=None, wechat=None) -> set:
    """Queue the acknowledgement e-mail (or record why there is none) and, when ``sms`` (an ``SmsPolicy``) is
    given and the complainant has a phone, the acknowledgement SMS, once per event and in one transaction.
    Returns the channels that got a queued message (the caller wakes their delivery loops). Rendered with the
    tenant's and the estate's template overrides unless ``render`` / ``render_sms`` are given."""
    with uow:
        if not uow.claim(envelope, ON_CASE_OPENED):
            return set()
        now = uow.clock.now()
        estate = (envelope.payload.get("estate") or {}) if isinstance(envelope.payload, dict) else {}
        scoped = template_overrides.scoped(uow.conn, envelope.tenant_id,
                                           estate.get("code") if isinstance(estate, dict) else None)
        render, render_sms = render or scoped.render, render_sms or scoped.render_sms
        messages = [new_acknowledgement(envelope.tenant_id, envelope.payload, now, render)]
        if sms is not None and sms.enabled:
            text = new_sms_acknowledgement(envelope.tenant_id, envelope.payload, now, render_sms, sms.quiet_hours)
            messages += [text] if text else []
        if wechat is not None and wechat.enabled:  # a WeChat complaint: WeChat instead of SMS (wechat.py)
            messages = wechat_replies.acknowledgement(envelope.tenant_id, envelope.payload, now, messages,
                                                      status_url=getattr(wechat, "status_url", None))
        for message in messages:
            repository.add_message(uow.conn, message)
            if message.status == "failed":  # an unusable phone number: nothing will be tried
                uow.publish("notification_failed", message.tenant_id, _failed_now(message))
        uow.commit()
    for message in messages:
        log.info("acknowledgement %s for %s %s%s", message.channel, envelope.payload.get("reference"),
                 message.status, f" until {message.deferred_until.isoformat()}" if message.deferred_until else "")
    return {m.channel for m in messages if m.status == "queued"}


def _failed_now(message) -> dict:
    row = {"id": message.id, "complaint_id": message.complaint_id, "case_id": message.case_id,
           "kind": message.kind, "channel": message.channel, "reference": message.reference,
           "recipient": message.recipient}
    return event_fields(row, 0) | {"failed_at": message.created_at.isoformat(), "reason": message.last_error,
                                   "permanent": True}


def on_kannel_dlr(args, uow) -> tuple[int, str]:
    """Kannel's delivery report for one SMS -> (HTTP status, body). Malformed: 400; forged/unknown: 403.

    Never raises for bad input: Kannel retries non-2xx answers a few times, then gives up.
    """
    try:
        report = parse(args, uow.clock.now())
    except MalformedReport as exc:
        log.warning("malformed delivery report ignored: %s", exc)
        return 400, f"malformed delivery report: {exc}\n"
    with uow:
        try:
            outcome = dlr.apply_report(uow, report)
        except dlr.ForgedReport as exc:
            log.warning("delivery report refused: %s", exc)
            return 403, "unknown message or token\n"
        uow.commit()
    log.info("delivery report type %d for SMS %s: %s", report.type, report.message_id, outcome)
    return 200, f"{outcome}\n"


def _rows(complaint_id, tenant_id: str, engine) -> list:
    if not isinstance(complaint_id, str) or not complaint_id.strip():
        raise ValidationFailed("complaint_id must be text", field="complaint_id")
    with engine.connect() as conn:
        return repository.messages_for_complaint(conn, tenant_id, complaint_id.strip())


def get_timeline(complaint_id, tenant_id: str, engine, locale: str | None = None) -> list[dict]:
    locale = pick_locale(locale) if locale else DEFAULT_LOCALE
    return [timeline_entry(row, locale) for row in _rows(complaint_id, tenant_id, engine)]


def get_deliveries(complaint_id, tenant_id: str, engine) -> list[dict]:
    return [delivery_view(row) for row in _rows(complaint_id, tenant_id, engine)]
