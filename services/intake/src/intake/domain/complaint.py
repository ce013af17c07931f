"""The canonical complaint every channel is normalised into (schema version 1). No framework imports."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from . import forwarded
from .duplicates import clean_external_id

SCHEMA_VERSION = 1

CHANNELS = ("web", "wechat", "hotline", "walk_in", "email", "letter", "complaint_box", "committee",
            "head_office", "open311")

_MOBILE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^[0-9][0-9-]{6,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# C0 controls (NUL included: PostgreSQL text cannot hold it) and DEL, except tab, newline and carriage return;
# they come from pasted text, fax OCR and odd mail clients and carry no meaning in a complaint.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class InvalidComplaint(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Complainant:
    name: str = ""
    phone: str = ""
    email: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Estate:
    code: str
    name: str
    kind: str
    timezone: str
    region: str | None = None
    units: int | None = None  # registered units (reporting's complaints per 1,000 units); None: none registered
    active: bool = True  # a deactivated estate takes no new complaints from forms, API, hotline, committee
    address: str = ""


@dataclass
class Complaint:
    tenant_id: str
    estate: Estate
    channel: str
    description: str
    complainant: Complainant
    received_at: dt.datetime
    received_by: str | None
    category: str | None = None
    severity: str | None = None
    urgent: bool = False
    category_source: str | None = None  # "agent" when a person chose it, "auto" when the classifier did
    severity_source: str | None = None
    classification: dict | None = None  # the automatic suggestion (top 3 categories with scores, ...)
    committee_received_at: dt.datetime | None = None  # committee channel: when the owner told the committee
    forwarded_by: dict | None = None  # head_office channel: the superior {name, title, phone, email}
    instructions: str | None = None  # head_office channel: the superior's instructions
    external_id: str | None = None  # the channel's message id (duplicates: unique per tenant and channel)
    repeat_of: dict | None = None  # {complaint_id, reference, closed_at, repeat_count}: a closed one it repeats
    location: dict | None = None  # where in the estate: {"building", "facility"} (either may be None); None: not given
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    reference: str = ""
    status: str = "received"
    schema_version: int = SCHEMA_VERSION


def _text(data: dict, key: str, limit: int, required: bool = False, prefix: str = "") -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidComplaint(prefix + key, f"{prefix + key} must be text")
    value = _CONTROL.sub("", value).strip()
    if required and not value:
        raise InvalidComplaint(prefix + key, f"{prefix + key} is required")
    if len(value) > limit:
        raise InvalidComplaint(prefix + key, f"{prefix + key} is longer than {limit} characters")
    return value


def parse_complainant(data) -> Complainant:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidComplaint("complainant", "complainant must be an object")
    who = Complainant(
        name=_text(data, "name", 50, prefix="complainant."),
        phone=_text(data, "phone", 20, prefix="complainant."),
        email=_text(data, "email", 254, prefix="complainant."),
        unit=_text(data, "unit", 50, prefix="complainant."),
    )
    if who.phone and not (_MOBILE.match(who.phone) or _LANDLINE.match(who.phone)):
        raise InvalidComplaint("complainant.phone", "not a phone number")
    if who.email and not _EMAIL.match(who.email):
        raise InvalidComplaint("complainant.email", "not an e-mail address")
    if not (who.phone or who.email):
        raise InvalidComplaint("complainant.phone", "a phone number or an e-mail address is required")
    return who


def parse_location(data) -> dict | None:
    """The optional place in the estate the complaint is about: ``{"building": "3栋", "facility": "地下车库"}``
    (each up to 40 characters, either may be empty). None when neither is given (reporting's location hot spots
    count only complaints that name one)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InvalidComplaint("location", "location must be an object")
    place = {k: _text(data, k, 40, prefix="location.") or None for k in ("building", "facility")}
    return place if any(place.values()) else None


def new_complaint(data: dict, tenant_id: str, estate: Estate, received_at: dt.datetime,
                  received_by: str | None) -> Complaint:
    """Validate a channel's normalised dict into a ``Complaint``. Raises ``InvalidComplaint``."""
    channel = data.get("channel") or "web"
    if channel not in CHANNELS:
        raise InvalidComplaint("channel", f"unknown channel {channel!r}")
    urgent = data.get("urgent", False)
    if not isinstance(urgent, bool):
        raise InvalidComplaint("urgent", "urgent must be true or false")
    complaint = Complaint(
        tenant_id=tenant_id, estate=estate, channel=channel,
        description=_text(data, "description", 5000, required=True),
        complainant=parse_complainant(data.get("complainant")),
        received_at=received_at, received_by=received_by,
        category=_text(data, "category", 40) or None, severity=_text(data, "severity", 40) or None,
        urgent=urgent, location=parse_location(data.get("location")),
    )
    complaint.committee_received_at, complaint.forwarded_by, complaint.instructions = forwarded.channel_details(
        data, channel, received_at)
    try:
        complaint.external_id = clean_external_id(data.get("external_id"))
    except ValueError as exc:
        raise InvalidComplaint("external_id", str(exc)) from exc
    complaint.category_source = "agent" if complaint.category else None
    complaint.severity_source = "agent" if complaint.severity else None
    complaint.reference = make_reference(received_at, estate.timezone)
    return complaint


def make_reference(received_at: dt.datetime, timezone: str, token: str | None = None) -> str:
    """``TS`` + the site's local date + 6 Crockford base32 characters, e.g. ``TS20261124-7KQ2MX``."""
    local = received_at.astimezone(ZoneInfo(timezone))
    token = token or "".join(secrets.choice(_CROCKFORD) for _ in range(6))
    return f"TS{local:%Y%m%d}-{token}"


def to_event_payload(c: Complaint) -> dict:
    return {
        "complaint_id": c.id, "reference": c.reference,
        "estate": {"code": c.estate.code, "name": c.estate.name, "kind": c.estate.kind,
                   "timezone": c.estate.timezone, "region": c.estate.region,
                   **({"units": c.estate.units} if c.estate.units else {})},  # optional: absent when unknown
        "channel": c.channel, "description": c.description,
        "complainant": {"name": c.complainant.name, "phone": c.complainant.phone,
                        "email": c.complainant.email, "unit": c.complainant.unit},
        "category": c.category, "severity": c.severity, "urgent": c.urgent,
        "category_source": c.category_source, "severity_source": c.severity_source,
        "received_at": c.received_at.isoformat(), "received_by": c.received_by,
        "committee_received_at": c.committee_received_at.isoformat() if c.committee_received_at else None,
        "forwarded_by": c.forwarded_by, "instructions": c.instructions,
        "external_id": c.external_id, "repeat_of": c.repeat_of,
        "schema_version": c.schema_version,
        # optional (schema 1 stays: consumers that do not know it ignore it): absent when the complaint names none
        **({"location": dict(c.location)} if c.location else {}),
    }
