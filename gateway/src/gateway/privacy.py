"""Who sees a complainant's name, phone and e-mail in full: the one place the gateway masks them.

The people who talk to the owner need the contact: the agent who records and follows the complaint
(首问责任制, seed 001 part 3 §2.2), the customer-service supervisor who contacts the owner within the seed 002
limits, and the site manager who convenes on losses and major complaints (001 part 5 §4.2.5) — **for the
estates they hold that role for**. Head office and the group admin read reports and statistics (001 part 3
§2.3-2.4; 000 §3.2) and need counts, not people; a department head fixes the fault the supervisor assigns
(002 §5.2) and a committee member forwards and follows what they sent (002 §4.1): they see masked data.
The matrix is in ``docs/security.md``.

Masking (the logs' style, ``estatedesk_common.observability.mask_pii``): mobile ``138****5678``, other numbers
the first 3 and last 4 digits, name ``周**`` (the family name only; the length is not told), e-mail
``z***@example.com``; phone numbers and e-mail addresses quoted in the description, the timeline and its
actors are masked the same way. Every view that shows complainant data to a person passes through
``complaint_view`` or ``complaint_list`` (API list/detail/create, console home, list and case pages), so
there is nothing else to keep in step.
"""
from __future__ import annotations

from estatedesk_common.observability import mask_pii

FULL_ROLES = ("agent", "cs_supervisor", "site_manager")


def sees_contacts(principal, estate_code: str | None) -> bool:
    """True when the principal holds a full-view role for this estate (a role without an estate: every one)."""
    return any(role in FULL_ROLES and (estate is None or estate == estate_code) for role, estate in principal.roles)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name.strip()[:1] + "**"


def mask_email(email: str | None) -> str | None:
    if not email:
        return email
    local, at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_text(text: str | None) -> str | None:
    return mask_pii(text) if text else text


def mask_complainant(who: dict | None) -> dict | None:
    if not who:
        return who
    return who | {"name": mask_name(who.get("name")), "phone": mask_phone(who.get("phone")),
                  "email": mask_email(who.get("email"))}


def complaint_view(principal, view: dict) -> dict:
    """A complaint (intake's record or the API's merged view) as this principal may see it."""
    estate = view.get("estate")
    code = estate.get("code") if isinstance(estate, dict) else estate
    if sees_contacts(principal, code):
        return view
    masked = view | {"complainant": mask_complainant(view.get("complainant")),
                     "description": mask_text(view.get("description"))}
    if view.get("timeline") is not None:
        masked["timeline"] = [e | {"text": mask_text(e.get("text")), "actor": mask_text(e.get("actor"))}
                              for e in view["timeline"]]
    return masked


def complaint_list(principal, result: dict) -> dict:
    """``list_complaints``'s answer with each row masked unless the principal sees that estate's contacts."""
    return result | {"items": [item if sees_contacts(principal, item.get("estate_code")) else _mask_row(item)
                               for item in result.get("items") or []]}


def _mask_row(item: dict) -> dict:
    row = dict(item)
    if "complainant_name" in row:
        row["complainant_name"] = mask_name(row["complainant_name"])
    if "complainant_phone" in row:
        row["complainant_phone"] = mask_phone(row["complainant_phone"])
    if "complainant_email" in row:
        row["complainant_email"] = mask_email(row["complainant_email"])
    return row
