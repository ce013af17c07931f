"""Managers' daily digest (每日摘要): who gets it, when it is due, what it says. Plain Python.

**Who**: the tenant's staff contacts (``staff_contacts``, the alert recipients) with a manager's role:
``cs_supervisor``, ``site_manager`` or ``head_office``. One e-mail per address, however many rows it has: the
estates of all its rows (a row without an estate = every estate), in the language of its first row. Addresses in
the tenant's opt-outs for kind ``daily_digest`` get nothing.

**When**: once per local day, at the tenant's hour (default 08:00, ``Asia/Shanghai``; ``digest_settings``). A
pass finds it due from that hour until ``CATCH_UP_HOURS`` later (capped at midnight), so a notify that was down
at 08:00 still sends it at 09:30, but a digest about "yesterday" never goes out in the evening.

**What**: "yesterday" (the local day before the digest's day): complaints received, resolved, callbacks answered
dissatisfied; as of sending: still open, overdue (breached), due by the end of today, escalated, extension
requests waiting, callbacks pending and overdue; then the worst cases (``WORST``), overdue first, each with its
link to the console. **Nothing at all** to report (every figure 0): a short "all quiet" mail instead of silence,
so a manager can tell a quiet estate from a digest that never came.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.utils import make_msgid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .messages import DEFAULT_LOCALE, LOCALES, MESSAGE_ID_DOMAIN, Message
from .staff import STAGES

KIND = "daily_digest"  # message kind, opt-out kind and template directory
ROLES = ("cs_supervisor", "site_manager", "head_office")
CATCH_UP_HOURS = 4
WORST = 10
MAX_OPT_OUTS = 200
ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei")  # offered; any IANA zone goes
CASE_FIGURES = ("new", "resolved", "open", "overdue", "due_today", "escalated", "extensions_pending")
CALLBACK_FIGURES = ("callbacks_pending", "callbacks_overdue", "dissatisfied")
FIGURES = CASE_FIGURES + CALLBACK_FIGURES
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class InvalidSetting(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Setting:
    enabled: bool = True
    hour: int = 8
    timezone: str = "Asia/Shanghai"


DEFAULT = Setting()


@dataclass(frozen=True)
class Recipient:
    email: str  # lower case
    name: str
    locale: str
    estates: frozenset | None  # None = every estate of the tenant


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name if known_zone(name) else DEFAULT.timezone)


def known_zone(name) -> bool:
    """An IANA zone name (``ZoneInfo`` also raises ``OSError`` for a directory or an overlong name)."""
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def clean_setting(data) -> Setting:
    """``{enabled, hour, timezone?}`` -> ``Setting``, or ``InvalidSetting`` naming the field."""
    if not isinstance(data, dict):
        raise InvalidSetting("settings", "settings must be an object")
    enabled, hour = data.get("enabled"), data.get("hour")
    if not isinstance(enabled, bool):
        raise InvalidSetting("enabled", "enabled must be true or false")
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise InvalidSetting("hour", "hour must be a whole number from 0 to 23")
    timezone = data.get("timezone") or DEFAULT.timezone
    if not known_zone(timezone):
        raise InvalidSetting("timezone", "timezone must be an IANA time zone such as Asia/Shanghai")
    return Setting(enabled, hour, timezone)


def clean_opt_outs(items) -> list[str]:
    """Addresses that get no digest, lower case, each once; ``InvalidSetting`` naming ``opt_outs[i]``."""
    if not isinstance(items, list) or len(items) > MAX_OPT_OUTS:
        raise InvalidSetting("opt_outs", f"opt_outs must be a list of at most {MAX_OPT_OUTS} addresses")
    out: list[str] = []
    for i, item in enumerate(items):
        address = item.strip().lower() if isinstance(item, str) else ""
        if not _EMAIL.match(address) or len(address) > 254:
            raise InvalidSetting(f"opt_outs[{i}]", "a valid e-mail address is required")
        if address not in out:
            out.append(address)
    return out


def due_day(setting: Setting, now: dt.datetime) -> dt.date | None:
    """The local day whose digest is due at ``now``, or None (off, before the hour, or past the catch-up)."""
    if not setting.enabled:
        return None
    local = now.astimezone(zone(setting.timezone))
    if setting.hour <= local.hour < min(24, setting.hour + CATCH_UP_HOURS):
        return local.date()
    return None


def local_today(setting: Setting, now: dt.datetime) -> dt.date:
    return now.astimezone(zone(setting.timezone)).date()


def _midnight(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone(timezone)).astimezone(dt.timezone.utc)


def window(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """"Yesterday" of the digest of ``day``: [the day before 00:00, ``day`` 00:00) local, in UTC."""
    return _midnight(day - dt.timedelta(days=1), timezone), _midnight(day, timezone)


def end_of_today(now: dt.datetime, timezone: str) -> dt.datetime:
    """The next local midnight after ``now`` (cases due before it are "due today")."""
    return _midnight(now.astimezone(zone(timezone)).date() + dt.timedelta(days=1), timezone)


def recipients(contacts, opted_out: set[str]) -> list[Recipient]:
    """One recipient per address of a manager's role, with the union of its rows' estates."""
    found: dict[str, dict] = {}
    for c in contacts:
        email = (c["email"] or "").strip().lower()
        if c["role"] not in ROLES or not email or email in opted_out:
            continue
        person = found.setdefault(email, {"name": c["name"] or "", "locale": c["locale"], "estates": set()})
        person["name"] = person["name"] or c["name"] or ""
        if person["estates"] is not None:
            if c["estate_code"]:
                person["estates"].add(c["estate_code"])
            else:
                person["estates"] = None
    return [Recipient(email, p["name"], p["locale"] if p["locale"] in LOCALES else DEFAULT_LOCALE,
                      None if p["estates"] is None else frozenset(p["estates"]))
            for email, p in sorted(found.items())]


def summary(recipient: Recipient, figures: dict, callbacks: dict, worst: int = WORST,
            names: dict | None = None) -> dict:
    """The recipient's figures: ``{"totals", "estates": [rows], "items": [worst cases], "names"}`` from workflow's
    ``digest_figures`` and notify's callbacks ``{estate: {callbacks_pending, callbacks_overdue, dissatisfied}}``;
    ``names``: estate names notify knows (``{code: name}``) for estates workflow did not mention."""
    names = dict(names or {})
    def mine(code) -> bool:
        return recipient.estates is None or code in recipient.estates

    rows: dict[str, dict] = {}
    for e in figures.get("estates") or []:
        if mine(e["estate"]):
            rows[e["estate"]] = {"code": e["estate"], "name": e.get("estate_name") or e["estate"]} | {
                k: int(e.get(k) or 0) for k in CASE_FIGURES} | dict.fromkeys(CALLBACK_FIGURES, 0)
    for code, counts in callbacks.items():
        if mine(code):
            row = rows.setdefault(code, {"code": code, "name": names.get(code) or code} | dict.fromkeys(FIGURES, 0))
            row.update({k: int(counts.get(k) or 0) for k in CALLBACK_FIGURES})
    estates = [rows[c] for c in sorted(rows) if any(rows[c][k] for k in FIGURES)]
    totals = {k: sum(r[k] for r in estates) for k in FIGURES}
    items = [i for i in figures.get("items") or [] if mine(i["estate"])]
    items.sort(key=_badness)
    names.update({r["code"]: r["name"] for r in rows.values()})
    return {"totals": totals, "estates": estates, "items": items[:worst], "names": names}


def _badness(item: dict) -> tuple:
    """Overdue first, then escalated (highest level first), extension requests, due today; soonest due first."""
    rank = 0 if item.get("overdue") else 1 if item.get("escalated") else 2 if item.get("extension_pending") else 3
    due = (item.get("next_deadline") or {}).get("due_at")
    when = dt.datetime.fromisoformat(due).timestamp() if due else float("inf")
    return rank, -int(item.get("escalation_level") or 0), when, item.get("reference") or ""


def is_quiet(found: dict) -> bool:
    return not any(found["totals"].values())


def _span(delta: dt.timedelta, zh: bool) -> str:
    hours = max(1, int(delta.total_seconds() // 3600))
    if hours < 48:
        return f"{hours} 小时" if zh else f"{hours} h"
    return f"{hours // 24} 天" if zh else f"{hours // 24} days"


def item_view(item: dict, now: dt.datetime, timezone: str, base_url: str, locale: str) -> dict:
    """One worst case for the templates: reference, estate, what is wrong (in ``locale``), link."""
    zh = locale == "zh_CN"
    deadline = item.get("next_deadline") or {}
    stage = STAGES.get(deadline.get("stage") or "", (deadline.get("stage") or "",) * 2)[0 if zh else 1]
    due = dt.datetime.fromisoformat(deadline["due_at"]) if deadline.get("due_at") else None
    notes = []
    if item.get("overdue") and due:
        late = _span(now - due, zh)
        notes.append(f"已逾期 {late}（{stage}）" if zh else f"overdue by {late} ({stage})")
    if item.get("escalated"):
        level = int(item.get("escalation_level") or 0)
        notes.append(f"已升级（第 {level} 级）" if zh else f"escalated (level {level})")
    if item.get("extension_pending"):
        notes.append("延期申请待审批" if zh else "extension request waiting")
    if item.get("due_today") and due and not item.get("overdue"):
        at = due.astimezone(zone(timezone)).strftime("%H:%M")
        notes.append(f"今日 {at} 到期（{stage}）" if zh else f"due today at {at} ({stage})")
    return {"reference": item.get("reference") or "", "estate_name": item.get("estate_name") or item["estate"],
            "assignee": item.get("assignee") or "", "what": ("；" if zh else "; ").join(notes),
            "link": f"{base_url}/complaints/{item['complaint_id']}"}


def digest_context(recipient: Recipient, found: dict, day: dt.date, now: dt.datetime, timezone: str,
                   base_url: str) -> dict:
    """Template variables of ``templates/<locale>/daily_digest``."""
    zh = recipient.locale == "zh_CN"
    base = base_url.rstrip("/")
    if recipient.estates is None:
        scope = "全部项目" if zh else "all estates"
    elif len(recipient.estates) > 3:  # the subject stays short
        scope = f"{len(recipient.estates)} 个项目" if zh else f"{len(recipient.estates)} estates"
    else:
        names = found.get("names") or {}
        scope = ("、" if zh else ", ").join(names.get(c) or c for c in sorted(recipient.estates))
    return {"staff_name": recipient.name, "day": day.isoformat(),
            "yesterday": (day - dt.timedelta(days=1)).isoformat(),
            "as_of": now.astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M"), "scope": scope,
            "quiet": is_quiet(found), "totals": found["totals"], "estates": found["estates"],
            "several": len(found["estates"]) > 1,
            "items": [item_view(i, now, timezone, base, recipient.locale) for i in found["items"]],
            "links": {"console": f"{base}/", "queue": f"{base}/queue", "overdue": f"{base}/queue?overdue=1",
                      "escalations": f"{base}/escalations", "extensions": f"{base}/extensions",
                      "callbacks": f"{base}/callbacks"}}


def digest_message(tenant_id: str, digest_id: str, recipient: Recipient, context: dict, now: dt.datetime,
                   render) -> Message:
    """The queued e-mail; ``complaint_id`` holds the digest's id (it is about no one complaint)."""
    rendered = render(KIND, recipient.locale, context)
    return Message(tenant_id=tenant_id, complaint_id=digest_id, case_id=None, kind=KIND, channel="email",
                   recipient=recipient.email, locale=recipient.locale, reference="", subject=rendered.subject,
                   body_text=rendered.text, body_html=rendered.html, status="queued", created_at=now,
                   smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN))
