"""Telling the owner how their complaint goes after the acknowledgement: progress (workflow's
``case_progress_recorded`` / ``case_plan_recorded``), resolution (``case_resolved``: "resolved, we will call you
back") and reopening (``case_reopened``), each as an e-mail and, with SMS on and a mobile number, an SMS.

Later case events carry no contacts, so the owner's e-mail, phone, name and locale are kept from ``case_opened``
(``contact_from_case_opened`` -> an ``owner_contacts`` row). Rules:
- quiet hours hold the SMS back unless the case is urgent (severity ``urgent``/``major``: seed 000's 紧急,
  seeds 001/002's 重大), whose owner is told at once;
- an owner who opted out of SMS (replied TD/退订) gets no update SMS: a ``skipped`` row says so on the
  timeline, the e-mail still goes (see ``ESSENTIAL_SMS_KINDS`` for what still goes by SMS).
Plain Python: renderers are passed in.
"""
from __future__ import annotations

import datetime as dt
import secrets
from email.utils import make_msgid

from .messages import MESSAGE_ID_DOMAIN, NO_EMAIL, Message, local_time, pick_locale
from .phones import InvalidPhone, national_mobile
from .wechat import wechat_contact

OWNER_UPDATE = "owner_update"  # the template directory shared by the three kinds
KINDS = {"case_progress_recorded": "owner_progress", "case_plan_recorded": "owner_progress",
         "case_resolved": "owner_resolved", "case_reopened": "owner_reopened"}
URGENT_SEVERITIES = frozenset({"urgent", "major"})
OPTED_OUT = "opted out of SMS (TD)"
# What still goes by SMS after an opt-out: the acknowledgement (the reference the owner needs to follow the
# complaint up) and the callback survey (seeds: 100 % of resolved complaints are called back; it is the
# owner's only way to answer when calls fail). Progress, resolution and reopening go by e-mail only then.
ESSENTIAL_SMS_KINDS = frozenset({"acknowledgement", "callback_survey"})


def _text(value, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def contact_from_case_opened(tenant_id: str, payload: dict, now: dt.datetime) -> dict | None:
    """The ``owner_contacts`` row of a ``case_opened`` payload; None when there is no complaint id."""
    complaint_id = _text(payload.get("complaint_id") or payload.get("case_id"), 36)
    if not complaint_id:
        return None
    estate = payload.get("estate") if isinstance(payload.get("estate"), dict) else {}
    who = payload.get("complainant") if isinstance(payload.get("complainant"), dict) else {}
    reach = wechat_contact(who)  # a WeChat complaint: updates go there (``notify.wechat``)
    return {"tenant_id": tenant_id, "complaint_id": complaint_id, "reference": _text(payload.get("reference"), 32),
            "estate_code": _text(estate.get("code"), 40),
            "estate_name": _text(estate.get("name"), 100) or _text(estate.get("code"), 100),
            "timezone": _text(estate.get("timezone"), 64) or None, "name": _text(who.get("name"), 50),
            "email": _text(who.get("email"), 254), "phone": _text(who.get("phone"), 40),
            "locale": pick_locale(payload.get("locale")), "severity": _text(payload.get("severity"), 40) or None,
            "created_at": now, "wechat_app_id": reach[0] if reach else None,
            "wechat_openid": reach[1] if reach else None}


def update_context(contact, event_type: str, payload: dict) -> dict:
    """Template variables: ``update`` (progress / resolved / reopened) and what the event says."""
    timezone = contact["timezone"] or "Asia/Shanghai"
    due = payload.get("resolution_due_at")
    try:
        due_local = local_time(due, timezone) if isinstance(due, str) and due else None
    except ValueError:
        due_local = None
    return {"update": KINDS[event_type].removeprefix("owner_"), "plan": event_type == "case_plan_recorded",
            "reference": contact["reference"], "estate_name": contact["estate_name"],
            "complainant_name": contact["name"], "note": _text(payload.get("note"), 2000),
            "remedy": _text(payload.get("remedy"), 2000), "words": _text(payload.get("words"), 2000),
            "resolution_due": due_local}


def is_urgent_case(contact) -> bool:
    return (contact["severity"] or "").lower() in URGENT_SEVERITIES


def owner_messages(contact, event_type: str, payload: dict, now: dt.datetime, render, render_sms=None, sms=None,
                   opted_out: bool = False) -> list[Message]:
    """The update as an e-mail (or a ``skipped`` row: no address) and, with ``sms`` (an enabled ``SmsPolicy``)
    and a phone, an SMS: ``failed`` for a number that is not a mainland mobile, ``skipped`` after an opt-out,
    else queued (held back by quiet hours unless the case is urgent)."""
    kind = KINDS[event_type]
    locale = contact["locale"]
    context = update_context(contact, event_type, payload)
    common = dict(tenant_id=contact["tenant_id"], complaint_id=contact["complaint_id"],
                  case_id=contact["complaint_id"], kind=kind, locale=locale, reference=contact["reference"],
                  created_at=now)
    if contact["email"]:
        rendered = render(OWNER_UPDATE, locale, context)
        out = [Message(**common, channel="email", recipient=contact["email"], subject=rendered.subject,
                       body_text=rendered.text, body_html=rendered.html, status="queued",
                       smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN))]
    else:
        out = [Message(**common, channel="email", recipient="", subject="", body_text="", body_html="",
                       status="skipped", last_error=NO_EMAIL)]
    if contact["phone"] and sms is not None and sms.enabled and render_sms is not None:
        out.append(_sms(contact, common, context, now, render_sms, sms, opted_out))
    return out


def _sms(contact, common, context, now, render_sms, sms, opted_out: bool) -> Message:
    base = dict(common, channel="sms", subject="", body_html="", timezone=contact["timezone"])
    try:
        number = national_mobile(contact["phone"])
    except InvalidPhone as exc:
        return Message(**base, recipient=contact["phone"][:254], body_text="", status="failed", last_error=str(exc))
    if opted_out:
        return Message(**base, recipient=number, body_text="", status="skipped", last_error=OPTED_OUT)
    urgent = is_urgent_case(contact)
    deferred = None if urgent else sms.quiet_hours.deferred_until(now, contact["timezone"] or "Asia/Shanghai")
    return Message(**base, recipient=number, body_text=render_sms(OWNER_UPDATE, common["locale"], context),
                   status="queued", next_attempt_at=deferred, deferred_until=deferred,
                   dlr_token=secrets.token_hex(16), urgent=urgent)
