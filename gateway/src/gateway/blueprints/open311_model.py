"""Open311 GeoReport v2 <-> EstateDesk: the POST form to intake's complaint, and complaints back to requests.

- ``complaint_from_form``: checks the form (each refusal an ``Open311Error`` 400 naming the parameter) and builds
  the dict for ``intake.register_complaint`` with channel ``open311``. Staff read one description that carries
  the location and the media URL; the whole form (minus ``api_key``) is kept in the complaint's raw record
  under ``open311``, with the API key that sent it.
- ``request_view``: one service request as the spec names its fields, from intake's item (public part of the
  form only) and workflow's case summary. Phone, e-mail, names, device and account ids are never output.
- ``date_window``: ``start_date``/``end_date`` with the spec's 90-day default and limit.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from estatedesk_common.i18n import t

from ..schemas import PHONE

SPEC_WINDOW = dt.timedelta(days=90)
MAX_DESCRIPTION = 4000
MAX_ATTRIBUTES = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(PHONE)
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.:-]{1,64})\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")
LIMITS = {"jurisdiction_id": 40, "service_code": 40, "address_string": 200, "address_id": 100, "email": 254,
          "device_id": 100, "account_id": 100, "first_name": 25, "last_name": 25, "phone": 30,
          "description": MAX_DESCRIPTION, "media_url": 500, "lat": 32, "long": 32}


class Open311Error(Exception):
    """A refusal in the spec's error format: ``status`` and an i18n key (+ params) for the description."""

    def __init__(self, status: int, key: str, **params):
        super().__init__(key)
        self.status, self.key, self.params = status, key, params


def _text(form, name: str) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > LIMITS[name]:
        raise Open311Error(400, "open311.too_long", field=name, limit=LIMITS[name])
    return value


def _coordinate(form, name: str, low: float, high: float) -> float | None:
    raw = _text(form, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise Open311Error(400, "open311.invalid", field=name)
    return value


def _phone(raw: str) -> str:
    phone = re.sub(r"[\s()]", "", raw)
    phone = re.sub(r"^(\+|00)?86(?=1\d{10}$)", "", phone)  # +86 138..., 0086138...: a mainland mobile
    if not _PHONE.match(phone):
        raise Open311Error(400, "open311.invalid", field="phone")
    return phone


def _attributes(form) -> dict:
    found: dict = {}
    for key in form.keys():
        match = _ATTRIBUTE.match(key)
        if match:
            values = [v.strip()[:1000] for v in form.getlist(key)]
            found[match.group(1)] = values if match.group(2) or len(values) > 1 else values[0]
    if len(found) > MAX_ATTRIBUTES:
        raise Open311Error(400, "open311.too_many_attributes", limit=MAX_ATTRIBUTES)
    return found


def _name(first: str, last: str) -> str | None:
    if _CJK.search(first + last):
        return (last + first) or None  # Chinese order: family name first, no space
    return " ".join(part for part in (first, last) if part) or None


def _media_url(raw: str) -> str | None:
    if not raw:
        return None
    if not re.match(r"^https?://[^\s/]+", raw, re.IGNORECASE):  # kept as a link for staff; never fetched here
        raise Open311Error(400, "open311.invalid", field="media_url")
    return raw


def read_form(form) -> dict:
    """The POST form checked: ``{field: value}`` of what was given, plus ``attribute``."""
    fields = {name: _text(form, name) for name in LIMITS if name not in ("lat", "long")}
    for name in ("jurisdiction_id", "service_code"):
        if not fields[name]:
            raise Open311Error(400, "open311.missing", field=name)
    lat, long = _coordinate(form, "lat", -90, 90), _coordinate(form, "long", -180, 180)
    if (lat is None) != (long is None):
        raise Open311Error(400, "open311.missing", field="long" if long is None else "lat")
    if lat is None and not fields["address_string"] and not fields["address_id"]:
        raise Open311Error(400, "open311.location_required")
    if fields["email"] and not _EMAIL.match(fields["email"]):
        raise Open311Error(400, "open311.invalid", field="email")
    fields["phone"] = _phone(fields["phone"]) if fields["phone"] else ""
    if not fields["phone"] and not fields["email"]:
        raise Open311Error(400, "open311.contact_required")
    fields["media_url"] = _media_url(fields["media_url"]) or ""
    checked = {name: value for name, value in fields.items() if value}
    if lat is not None:
        checked.update(lat=lat, long=long)
    attributes = _attributes(form)
    if attributes:
        checked["attribute"] = attributes
    return checked


def staff_description(form: dict, service_name: str) -> str:
    """What staff read: the client's words (or the service's name), then where, then the photo link."""
    lines = [form.get("description") or f"［{service_name}］"]
    where = [form.get("address_string")]
    if form.get("lat") is not None:
        where.append(f"{form['lat']:.6f}, {form['long']:.6f}")
    if form.get("address_id"):
        where.append(f"address_id {form['address_id']}")
    lines.append("位置：" + "；".join(w for w in where if w))
    if form.get("media_url"):
        lines.append("图片：" + form["media_url"])
    return "\n".join(lines)


def complaint_from_form(form: dict, service_name: str, api_key) -> dict:
    """The dict for ``intake.register_complaint``."""
    return {
        "estate": form["jurisdiction_id"], "channel": "open311", "category": form["service_code"],
        "description": staff_description(form, service_name),
        "complainant": {"name": _name(form.get("first_name", ""), form.get("last_name", "")),
                        "phone": form.get("phone") or None, "email": form.get("email") or None, "unit": None},
        "open311": form,
        "open311_client": {"api_key_id": api_key.key_id, "api_key_name": api_key.name},
    }


def local_iso(value: str | None, timezone: str | None) -> str | None:
    """An instant as ISO 8601 with the estate's UTC offset (seconds precision)."""
    if not value:
        return None
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.timezone.utc)
    return instant.astimezone(ZoneInfo(timezone or "Asia/Shanghai")).isoformat(timespec="seconds")


def _status_label(status: str, loc: str) -> str:
    key = f"open311.status.{status}"
    label = t(key, loc)
    return status if label == key else label  # a status workflow added later: its code rather than nothing


def _status_notes(summary: dict | None, loc: str) -> str:
    if summary is None:
        return _status_label("received", loc)
    if summary["status"] == "cancelled":
        return summary.get("cancel_reason") or _status_label("cancelled", loc)
    if summary["status"] in ("closed", "resolved") and summary.get("remedy"):
        return _status_label(summary["status"], loc) + ("：" if loc == "zh_CN" else ": ") + summary["remedy"]
    return _status_label(summary["status"], loc)


def request_view(item: dict, summary: dict | None, services: dict, loc: str) -> dict:
    """One service request, fields in the spec's order. ``summary`` None: the case is not opened yet."""
    public, tz = item.get("public") or {}, item.get("timezone")
    expected = local_iso((summary or {}).get("resolution_due_at"), tz)
    return {
        "service_request_id": item["reference"],
        "status": "closed" if summary and summary["closed"] else "open",
        "status_notes": _status_notes(summary, loc),
        "service_name": services.get(item["category"], item["category"]),
        "service_code": item["category"],
        "description": public.get("description"),
        "agency_responsible": t("open311.agency", loc, estate=item["estate_name"]),
        "service_notice": t("open311.notice.expected", loc, at=expected) if expected else None,
        "requested_datetime": local_iso(item["received_at"], tz),
        "updated_datetime": local_iso((summary or {}).get("updated_at") or item["received_at"], tz),
        "expected_datetime": expected,
        "address": public.get("address_string"),
        "address_id": public.get("address_id"),
        "zipcode": None,
        "lat": public.get("lat"),
        "long": public.get("long"),
        "media_url": public.get("media_url"),
    }


def _instant(value: str, field: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace(" ", "+"))  # a "+" unescaped in a query
    except ValueError:
        raise Open311Error(400, "open311.invalid", field=field) from None
    if parsed.tzinfo is None:
        raise Open311Error(400, "open311.invalid", field=field)
    return parsed


def date_window(start: str | None, end: str | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``(from, to)``: the given dates, else the 90 days up to ``end`` or from ``start``; at most 90 days."""
    start_at = _instant(start, "start_date") if start else None
    end_at = _instant(end, "end_date") if end else None
    if start_at is None and end_at is None:
        return now - SPEC_WINDOW, now
    if start_at is None:
        return end_at - SPEC_WINDOW, end_at
    if end_at is None:
        return start_at, start_at + SPEC_WINDOW
    if end_at < start_at:
        raise Open311Error(400, "open311.dates_reversed")
    if end_at - start_at > SPEC_WINDOW:
        raise Open311Error(400, "open311.window_too_long", days=SPEC_WINDOW.days)
    return start_at, end_at
