"""One blueprint per resource. ``load_json`` is the single way a view reads a request body."""
from __future__ import annotations

import json

from flask import request
from marshmallow import Schema, ValidationError

from ..errors import ApiError
from ..schemas import first_field


def load_json(schema: Schema) -> dict:
    """The validated body: 415 unless JSON, 400 if it does not parse, 422 naming the first bad field."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type")
    raw = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH
    try:
        body = json.loads(raw.decode("utf-8"))
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # lone surrogates ("\ud800") are not text: refuse
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: a deeply nested JSON bomb
        raise ApiError(400, "malformed_json") from None
    nul_at = _nul_path(body)
    if nul_at is not None:  # no store here can keep NUL (PostgreSQL text refuses it): say so, never a 500
        raise ApiError(422, "validation_failed", details={"field": nul_at, "fields": {nul_at: ["NUL character"]}},
                       field=nul_at)
    try:
        return schema.load(body)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        field = first_field(messages, schema)
        raise ApiError(422, "validation_failed", details={"field": field, "fields": messages},
                       field=field) from None


def _nul_path(value, path: str = "") -> str | None:
    """Dotted path of the first string (key or value) containing NUL, or None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _nul_path(item, here)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_path(item, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None
