"""Reporting back to the superior who forwarded a complaint (上级转办, seed 001 part 5 §4.1.4: record the
superior's instructions with it; report back when done).

``case_opened`` of a ``head_office`` complaint carries ``forwarded_by`` {name, title, phone, email} and
``instructions``; when the case closes (owner acceptance, or a satisfied callback) the superior gets an e-mail
and, when they gave a mainland mobile and SMS is on, an SMS. Plain Python: the renderers are passed in.
"""
from __future__ import annotations

import datetime as dt
import secrets
from email.utils import make_msgid

from .messages import DEFAULT_LOCALE, MESSAGE_ID_DOMAIN, NO_EMAIL, Message, local_time
from .phones import InvalidPhone, national_mobile

SUPERIOR_REPORT = "superior_report"
CLOSED_HOW = {
    "owner_accepted": {"zh_CN": "业主验收通过", "en": "accepted by the owner"},
    "callback_satisfied": {"zh_CN": "回访业主满意", "en": "the owner was satisfied at the callback"},
}


def superior_of(payload: dict) -> dict | None:
    """The superior to report to, from a ``case_opened`` payload; None for other channels or nobody reachable."""
    who = payload.get("forwarded_by")
    if payload.get("channel") != "head_office" or not isinstance(who, dict):
        return None
    fields = {k: who.get(k) if isinstance(who.get(k), str) else "" for k in ("name", "title", "phone", "email")}
    if not fields["name"].strip() or not (fields["phone"].strip() or fields["email"].strip()):
        return None
    return {k: v.strip() for k, v in fields.items()}


def report_context(row, closed_at: dt.datetime, reason: str | None, locale: str = DEFAULT_LOCALE) -> dict:
    """Template variables of ``superior_report`` from a ``superior_reports`` row (mapping)."""
    how = CLOSED_HOW.get(reason or "", {})
    return {"reference": row["reference"], "estate_name": row["estate_name"], "description": row["description"],
            "instructions": row["instructions"], "superior_name": row["superior_name"],
            "superior_title": row["superior_title"],
            "closed_at": local_time(closed_at.isoformat(), row["timezone"] or "Asia/Shanghai"),
            "closed_how": how.get(locale) or ("已结案" if locale == "zh_CN" else "closed")}


def report_messages(row, closed_at: dt.datetime, reason: str | None, now: dt.datetime, render, render_sms=None,
                    sms=None) -> list[Message]:
    """The report as an e-mail (or a ``skipped`` row saying why there is none) and, with ``sms`` (an enabled
    ``SmsPolicy``) and a mobile number, an SMS held back by the estate's quiet hours."""
    locale = DEFAULT_LOCALE
    context = report_context(row, closed_at, reason, locale)
    common = dict(tenant_id=row["tenant_id"], complaint_id=row["complaint_id"], case_id=row["complaint_id"],
                  kind=SUPERIOR_REPORT, locale=locale, reference=row["reference"], created_at=now)
    out = []
    if row["superior_email"]:
        rendered = render(SUPERIOR_REPORT, locale, context)
        out.append(Message(**common, channel="email", recipient=row["superior_email"], subject=rendered.subject,
                           body_text=rendered.text, body_html=rendered.html, status="queued",
                           smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN)))
    phone = row["superior_phone"]
    if phone and sms is not None and sms.enabled and render_sms is not None:
        base = dict(common, channel="sms", subject="", body_html="", timezone=row["timezone"])
        try:
            number = national_mobile(phone)
        except InvalidPhone as exc:
            out.append(Message(**base, recipient=phone[:254], body_text="", status="failed", last_error=str(exc)))
        else:
            deferred = sms.quiet_hours.deferred_until(now, row["timezone"] or "Asia/Shanghai")
            out.append(Message(**base, recipient=number, body_text=render_sms(SUPERIOR_REPORT, locale, context),
                               status="queued", next_attempt_at=deferred, deferred_until=deferred,
                               dlr_token=secrets.token_hex(16)))
    if not out:  # no e-mail, and no SMS possible: say so on the timeline rather than nothing
        out.append(Message(**common, channel="email", recipient="", subject="", body_text="", body_html="",
                           status="skipped", last_error=NO_EMAIL))
    return out
