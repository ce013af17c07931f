"""A complaint's files for staff: ``/complaints/<id>/attachments/<attachment id>`` (the case page links each).

``intake.get_attachment`` answers only within the tenant of the session and the estates of the caller's roles
(the call context); the gateway checks the estate scope again (``scope.require``). Anything outside: 404.
Photos and PDFs open in the browser; any other type (e.g. a mail attachment) is sent as a download of
``application/octet-stream``, so nothing a complainant sent can run as a page of this site.
"""
from __future__ import annotations

import base64
from urllib.parse import quote

from flask import Blueprint, Response, g

from .. import rpc, scope
from .console import STAFF, page, page_error
from .console_complaints import valid_uuid

bp = Blueprint("console_attachments", __name__)

INLINE = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


@bp.get("/complaints/<complaint_id>/attachments/<attachment_id>")
@page(*STAFF)
def download(complaint_id: str, attachment_id: str):
    found = rpc.client().call("intake", "get_attachment", valid_uuid(complaint_id), valid_uuid(attachment_id))
    scope.require(g.principal, found)
    return file_response(base64.b64decode(found["content"]), found["content_type"], found["filename"])


def file_response(content: bytes, content_type: str, filename: str) -> Response:
    inline = content_type in INLINE
    response = Response(content, mimetype=content_type if inline else "application/octet-stream")
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    response.headers["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if content_type != "application/pdf":  # the browser's PDF viewer needs its own scripts
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


bp.register_error_handler(Exception, page_error)
