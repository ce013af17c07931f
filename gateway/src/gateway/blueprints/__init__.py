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
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "malformed_json") from None
    try:
        return schema.load(body)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        field = first_field(messages, schema)
        raise ApiError(422, "validation_failed", details={"field": field, "fields": messages},
                       field=field) from None
