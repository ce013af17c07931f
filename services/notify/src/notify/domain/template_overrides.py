"""Tenant and estate overrides of the shipped message templates: which messages and parts may be overridden,
who may change them, and the sample context each message is checked and previewed against.

Plain Python. The sample contexts are built by the same functions that build the real ones (``acknowledgement_
context``, ``update_context``, ``alert_context``, ``report_context``), so a variable the real message has is
never refused and one it lacks is.
"""
from __future__ import annotations

import datetime as dt
import re

from .messages import ACKNOWLEDGEMENT, LOCALES, acknowledgement_context
from .owner_updates import OWNER_UPDATE, update_context
from .staff import STAFF_ALERT, alert_context
from .superior import SUPERIOR_REPORT, report_context

CALLBACK_SURVEY = "callback_survey"
PARTS = ("subject", "body_txt", "body_html", "sms")
FILES = {"subject": "subject.txt", "body_txt": "body.txt", "body_html": "body.html", "sms": "sms.txt"}
# what a tenant may override (password_reset is the gateway's account mail: no tenant wording, a secret link)
MESSAGES = {
    ACKNOWLEDGEMENT: PARTS,
    OWNER_UPDATE: PARTS,
    STAFF_ALERT: ("subject", "body_txt", "body_html"),
    SUPERIOR_REPORT: PARTS,
    CALLBACK_SURVEY: ("sms",),
}
ESTATE_MESSAGES = {ACKNOWLEDGEMENT, OWNER_UPDATE, STAFF_ALERT, CALLBACK_SURVEY}  # superior reports know no estate
MAX_SOURCE = 20_000  # characters per part
MAX_SMS_RENDERED = 300  # characters of the rendered sample SMS (about four UCS-2 parts)
TENANT_EDITORS = {"group_admin", "head_office"}
ESTATE_EDITORS = {"site_manager"}
_ESTATE = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")


class InvalidOverride(ValueError):
    """A refused request or template; ``field`` names what is wrong, ``line`` the template line when known."""

    def __init__(self, message: str, field: str, line: int | None = None):
        super().__init__(message)
        self.field, self.line = field, line


class NotAllowed(PermissionError):
    """The caller may not change (or read) this scope's templates."""


def check_key(message, locale, estate, part=None) -> None:
    if message not in MESSAGES:
        raise InvalidOverride(f"unknown message {message!r}", "message")
    if locale not in LOCALES:
        raise InvalidOverride(f"locale must be one of {', '.join(LOCALES)}", "locale")
    if estate is not None and (not isinstance(estate, str) or not _ESTATE.match(estate)):
        raise InvalidOverride("estate must be an estate code", "estate")
    if estate is not None and message not in ESTATE_MESSAGES:
        raise InvalidOverride(f"{message} is the same for every estate: override it for the group", "estate")
    if part is not None and part not in MESSAGES[message]:
        raise InvalidOverride(f"{message} has no part {part!r} (parts: {', '.join(MESSAGES[message])})", "part")


def check_parts(message: str, parts) -> dict:
    """``{part: source}`` for a save or preview; a part of ``None`` means "back to the default" (save only)."""
    if not isinstance(parts, dict) or not parts:
        raise InvalidOverride("parts must be an object of part -> template source", "parts")
    for part, source in parts.items():
        if part not in MESSAGES[message]:
            raise InvalidOverride(f"{message} has no part {part!r}", f"parts.{part}")
        if source is not None and not isinstance(source, str):
            raise InvalidOverride("a template is text", f"parts.{part}")
        if source is not None and len(source) > MAX_SOURCE:
            raise InvalidOverride(f"at most {MAX_SOURCE} characters", f"parts.{part}")
        if source is not None and part == "subject" and not source.strip():
            raise InvalidOverride("the subject may not be empty", f"parts.{part}")
    return dict(parts)


def _has(caller_roles, roles: set, estate=None) -> bool:
    return any(r and r[0] in roles and (estate is None or len(r) < 2 or r[1] in (None, estate))
               for r in caller_roles)


def may_edit(caller_roles, estate: str | None) -> bool:
    """group_admin / head_office: the tenant's templates and every estate's; a site_manager: its estates'.
    ``None`` roles: a trusted service call."""
    if caller_roles is None or _has(caller_roles, TENANT_EDITORS):
        return True
    return estate is not None and _has(caller_roles, ESTATE_EDITORS, estate)


def may_read(caller_roles, estate: str | None) -> bool:
    """Editors, and a site_manager reading the group's templates (what its estates inherit)."""
    return may_edit(caller_roles, estate) or (estate is None and _has(caller_roles or [], ESTATE_EDITORS))


_AT = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.timezone.utc)


def sample_context(message: str, locale: str) -> dict:
    """The variables of ``message`` with example values: what a saved template is rendered against."""
    zh = locale == "zh_CN"
    estate = {"code": "DEMO-RES", "name": "锦绣花园" if zh else "Jinxiu Garden", "timezone": "Asia/Shanghai"}
    person = "张女士" if zh else "Ms Zhang"
    if message == ACKNOWLEDGEMENT:
        payload = {"reference": "TS20261124-7KQ2MX", "estate": estate, "description": "楼道灯不亮" if zh else
                   "The stairwell light is out", "complainant": {"name": person, "unit": "3-2-801"},
                   "deadlines": [{"stage": "first_contact", "due_at": "2026-11-24T07:30:00+00:00"}]}
        return acknowledgement_context(payload, _AT)
    if message == OWNER_UPDATE:
        contact = {"timezone": "Asia/Shanghai", "reference": "TS20261124-7KQ2MX", "estate_name": estate["name"],
                   "name": person}
        return update_context(contact, "case_resolved", {"remedy": "已更换灯泡" if zh else "Replaced the bulb",
                                                         "note": "", "resolution_due_at": "2026-11-25T08:00:00+00:00"})
    if message == STAFF_ALERT:
        case = {"reference": "TS20261124-7KQ2MX", "estate_name": estate["name"], "timezone": "Asia/Shanghai",
                "description": "楼道灯不亮" if zh else "The stairwell light is out"}
        payload = {"stage": "first_contact", "due_at": "2026-11-24T07:30:00+00:00", "level": 1,
                   "role": "site_manager"}
        return alert_context("sla_warning", payload, case, locale) | {"staff_name": "李经理" if zh else "Mr Li"}
    if message == SUPERIOR_REPORT:
        row = {"reference": "TS20261124-7KQ2MX", "estate_name": estate["name"], "description": "楼道灯不亮",
               "instructions": "请尽快处理", "superior_name": "王主任" if zh else "Director Wang",
               "superior_title": "主任" if zh else "Director", "timezone": "Asia/Shanghai"}
        return report_context(row, _AT, "owner_accepted", locale)
    return {"reference": "TS20261124-7KQ2MX", "url": "https://estatedesk.example/t/demo/survey/abc123"}
