"""Staff alerts: who is told about a case running late, and what the e-mail says. Plain Python.

notify does not own users (the gateway does), so each tenant keeps a small list of alert recipients,
``staff_contacts`` (role, estate or none = every estate, name, e-mail, phone, locale), set through
``set_staff_contacts`` and seeded for the demo from ``estatedesk_common.demo``. The alternative, workflow
putting recipients into its events, would make workflow ask the gateway for users on every timer and would
freeze addresses into events; a list notify reads when it sends is smaller and stays correct.

Who gets what (the seed 001 ladder, ``workflow.domain.escalation``):
- ``sla_warning`` (75 % of a stage's time used): the estate's ``cs_supervisor`` (002 §5: the supervisor checks
  progress);
- ``sla_breached``: the estate's ``site_manager``; the supervisor hears of it through ``case_escalated``, which
  workflow publishes with every breach until the top of the ladder;
- ``case_escalated``: the rung's role from the event (``cs_supervisor`` / ``site_manager`` / ``head_office``);
- ``callback_overdue`` (a callback past its deadline, ``reminders``): the estate's ``cs_supervisor``;
- ``major_case_opened`` (a major complaint, at opening, as a repeat or after a month unresolved): the estate's
  ``site_manager`` at once (seed 002: the site manager forms the special team), or the event's ``notify_role``.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from email.utils import make_msgid

from .messages import LOCALES, MESSAGE_ID_DOMAIN, Message, local_time

STAFF_ALERT = "staff_alert"  # the template directory
ROLES = ("agent", "cs_supervisor", "site_manager", "head_office", "group_admin", "department_head")
ALERT_ROLE = {"sla_warning": "cs_supervisor", "sla_breached": "site_manager", "callback_overdue": "cs_supervisor",
              "major_case_opened": "site_manager"}
KINDS = {"sla_warning": "staff_sla_warning", "sla_breached": "staff_sla_breached",
         "case_escalated": "staff_case_escalated", "callback_overdue": "callback_overdue",
         "major_case_opened": "staff_major_case"}
MAJOR_REASONS = {"opened": ("受理时即定为重大投诉", "classified major when received"),
                 "repeat": ("重复投诉，升级为重大投诉", "a repeated complaint, upgraded to major"),
                 "upgraded": ("逾一个月未解决，升级为重大投诉", "unresolved for a month, upgraded to major")}
STAGES = {"first_contact": ("首次联系业主", "first contact with the owner"), "resolution": ("解决", "resolution"),
          "plan": ("处理方案", "plan"), "start": ("开始处理", "start of work"), "on_site": ("到场", "on site"),
          "callback": ("回访", "callback"), "committee_forward": ("业委会转达", "committee forward"),
          "simple_fix": ("简单问题整改", "simple fix"), "site_investigation": ("现场调查", "site investigation"),
          "owner_acceptance": ("业主验收", "owner acceptance")}
ROLE_TITLES = {"cs_supervisor": ("客服主管", "customer-service supervisor"),
               "site_manager": ("项目经理", "site manager"), "head_office": ("总部", "head office")}
NO_STAFF = "no staff contact for {role} at {estate}"
MAX_CONTACTS = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidContact(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def clean_contacts(items) -> list[dict]:
    """Validate ``set_staff_contacts`` input: ``[{role, estate|null, name, email, phone?, locale?}]``."""
    if not isinstance(items, list) or len(items) > MAX_CONTACTS:
        raise InvalidContact("contacts", f"contacts must be a list of at most {MAX_CONTACTS}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidContact(f"contacts[{i}]", "each contact must be an object")
        text = {k: item.get(k).strip() if isinstance(item.get(k), str) else "" for k in
                ("role", "estate", "name", "email", "phone", "locale")}
        if text["role"] not in ROLES:
            raise InvalidContact(f"contacts[{i}].role", f"role must be one of {', '.join(ROLES)}")
        if not _EMAIL.match(text["email"]) or len(text["email"]) > 254:
            raise InvalidContact(f"contacts[{i}].email", "a valid e-mail address is required")
        locale = text["locale"].replace("-", "_") or "zh_CN"
        if locale not in LOCALES:
            raise InvalidContact(f"contacts[{i}].locale", f"locale must be one of {', '.join(LOCALES)}")
        out.append({"role": text["role"], "estate_code": text["estate"][:40] or None, "name": text["name"][:100],
                    "email": text["email"], "phone": text["phone"][:40], "locale": locale})
    return out


def recipients(contacts, role: str, estate_code: str) -> list:
    """The contacts of ``role`` reaching ``estate_code`` (bound to it, or to every estate), one per address."""
    seen, out = set(), []
    for c in contacts:
        if c["role"] == role and c["estate_code"] in (None, estate_code) and c["email"].lower() not in seen:
            seen.add(c["email"].lower())
            out.append(c)
    return out


def alert_role(event_type: str, payload: dict) -> str | None:
    if event_type in ("case_escalated", "major_case_opened"):
        role = payload.get("role") if event_type == "case_escalated" else payload.get("notify_role")
        if not (isinstance(role, str) and role):
            role = ALERT_ROLE.get(event_type)
        return role if isinstance(role, str) and role else None
    return ALERT_ROLE.get(event_type)


def alert_context(event_type: str, payload: dict, case: dict, locale: str) -> dict:
    """Template variables: ``alert``, the case, the stage and its due time, the rung."""
    zh = locale == "zh_CN"
    stage = payload.get("stage") if isinstance(payload.get("stage"), str) else ""
    titles = ROLE_TITLES.get(payload.get("role") or "", ("", ""))
    due = payload.get("special_team_due_at" if event_type == "major_case_opened" else "due_at")
    try:
        due_local = local_time(due, case["timezone"] or "Asia/Shanghai") if isinstance(due, str) and due else None
    except ValueError:
        due_local = None
    return {"alert": event_type, "reference": case["reference"], "estate_name": case["estate_name"],
            "stage": STAGES.get(stage, (stage, stage))[0 if zh else 1], "due": due_local,
            "level": payload.get("level"), "role_title": titles[0 if zh else 1],
            "reason": _reason(event_type, payload.get("reason"), zh), "category": _text(payload.get("category")),
            "attempts": payload.get("attempts"), "description": case.get("description") or ""}


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _reason(event_type: str, reason, zh: bool) -> str:
    if event_type == "major_case_opened":
        return MAJOR_REASONS.get(_text(reason), (_text(reason), _text(reason)))[0 if zh else 1]
    return _text(reason)


def alert_messages(tenant_id: str, event_type: str, payload: dict, case: dict, contacts, now: dt.datetime,
                   render) -> list[Message]:
    """One e-mail per recipient; none reachable -> one ``skipped`` row saying whom nobody could tell."""
    role = alert_role(event_type, payload)
    common = dict(tenant_id=tenant_id, complaint_id=case["complaint_id"], case_id=case["complaint_id"],
                  kind=KINDS[event_type], reference=case["reference"], created_at=now, channel="email")
    people = recipients(contacts, role, case["estate_code"]) if role else []
    if not people:
        return [Message(**common, locale="zh_CN", recipient="", subject="", body_text="", body_html="",
                        status="skipped", last_error=NO_STAFF.format(role=role or "?", estate=case["estate_code"]))]
    out = []
    for person in people:
        context = alert_context(event_type, payload, case, person["locale"]) | {"staff_name": person["name"]}
        rendered = render(STAFF_ALERT, person["locale"], context)
        out.append(Message(**common, locale=person["locale"], recipient=person["email"], subject=rendered.subject,
                           body_text=rendered.text, body_html=rendered.html, status="queued",
                           smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN)))
    return out


def demo_contacts(users: dict) -> list[dict]:
    """Alert recipients from a demo group's users (``{username: (name, [(role, estate)])}``): the roles that
    get alerts, at ``<username>.example`` (``supervisor@demo`` -> ``supervisor@demo.example``). DEMO ONLY."""
    wanted = set(ALERT_ROLE.values()) | {"head_office"}
    return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"staff:{username}:{role}:{estate}")), "role": role,
             "estate_code": estate, "name": name, "email": f"{username}.example", "phone": "", "locale": "zh_CN"}
            for username, (name, roles) in users.items() for role, estate in roles if role in wanted]
