"""Request bodies the gateway validates before anything reaches a service (marshmallow).

Field messages in ``details.fields`` are marshmallow's (English); the top-level message is translated.
"""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

CHANNELS = ("web", "wechat", "hotline", "walk_in", "email", "letter", "complaint_box", "committee",
            "head_office", "open311")
PHONE = r"^(1\d{10}|[0-9][0-9-]{5,18}[0-9])$"  # mainland mobile, or landline digits/dashes (7-20)


class Stripped(fields.String):
    """A string with surrounding whitespace removed before length checks."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _optional(max_len: int, **kwargs):
    return Stripped(load_default=None, allow_none=True, validate=validate.Length(max=max_len), **kwargs)


class ComplainantSchema(Schema):
    name = _optional(50)
    phone = Stripped(load_default=None, allow_none=True,
                     validate=[validate.Length(min=7, max=20),
                               validate.Regexp(PHONE, error="Not a valid phone number.")])
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    unit = _optional(50)

    @validates_schema
    def _contactable(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("A phone number or an e-mail address is required.", "phone")


class SuperiorSchema(Schema):
    """Who forwarded a head-office complaint (told when the case is closed: a phone or an e-mail is needed)."""

    name = Stripped(required=True, validate=validate.Length(min=1, max=50))
    title = _optional(50)
    phone = Stripped(load_default=None, allow_none=True,
                     validate=[validate.Length(min=7, max=20),
                               validate.Regexp(PHONE, error="Not a valid phone number.")])
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))

    @validates_schema
    def _reachable(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("The superior's phone number or e-mail address is required.", "phone")


class LocationSchema(Schema):
    """Where in the estate: a building (intake checks it against the estate's registered buildings, by code or
    name; free text where none are registered) and a facility (free text; the forms suggest ``labels.FACILITIES``)."""

    building = _optional(40)
    facility = _optional(40)


class ComplaintSchema(Schema):
    estate = Stripped(required=True, validate=validate.Length(min=1, max=40))
    channel = fields.String(load_default="web", validate=validate.OneOf(CHANNELS))
    description = Stripped(required=True, validate=validate.Length(min=1, max=5000))
    complainant = fields.Nested(ComplainantSchema, required=True)
    category = _optional(40)
    severity = _optional(40)
    urgent = fields.Boolean(load_default=False)
    # the channel's message id: a second arrival with the same one returns the first complaint (duplicate)
    external_id = Stripped(allow_none=True, validate=validate.Length(min=1, max=128))
    # hotline: the CTI call it was recorded from (intake links the call and the complaint)
    call_id = Stripped(allow_none=True, validate=validate.Length(min=1, max=100))
    # forwarded channels (intake checks that they fit the channel): committee -> when the owner told the
    # committee (ISO 8601 with offset); head_office -> the superior and their instructions
    reported_at = Stripped(allow_none=True, validate=validate.Length(max=40))
    forwarded_by = fields.Nested(SuperiorSchema, allow_none=True)
    instructions = Stripped(allow_none=True, validate=validate.Length(min=1, max=2000))
    location = fields.Nested(LocationSchema, allow_none=True)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    totp = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32),
                         metadata={"description": "TOTP code or recovery code, when the user has TOTP on"})


def first_field(messages: dict, schema: Schema, prefix: str = "") -> str:
    """The first failing field in declaration order, dotted (``complainant.phone``)."""
    declared = list(schema.fields)
    ordered = sorted(messages, key=lambda k: declared.index(k) if k in declared else len(declared))
    for key in ordered:
        nested = schema.fields.get(key)
        value = messages[key]
        if isinstance(value, dict) and isinstance(nested, fields.Nested):
            return first_field(value, nested.schema, f"{prefix}{key}.")
        return f"{prefix}{key}"
    return prefix.rstrip(".")


def parse_date(value: str | None) -> dt.date | None:
    """``YYYY-MM-DD`` or None when absent; ``ValueError`` for anything else."""
    if value in (None, ""):
        return None
    if len(value) != 10:
        raise ValueError(value)
    return dt.date.fromisoformat(value)
