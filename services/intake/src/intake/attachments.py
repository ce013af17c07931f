"""Files sent with ``register_complaint`` (the owner's web-form photos, an agent's scans of letters and
complaint-box slips) and reading one back (``get_attachment``).

A caller sends ``attachments``: a list of ``{"filename", "content_type", "content" (base64), "original_sha256"?,
"original_size"?}``. Intake trusts no caller with the bytes: it checks the count, each decoded size, the total,
the type (JPEG, PNG, WebP or PDF) against the content's magic bytes, and cleans the file name. It does not decode
images: the gateway re-encodes photos before they get here (``gateway.uploads``), so intake stores bytes that a
bounded decoder already produced, and keeps the original's SHA-256 only in the complaint's audit record
(``complaints.raw``), never the original itself.

The rows go to ``complaint_attachments`` in the unit of work of the complaint (one commit: a complaint is
never stored without its files, nor files without it). The audit record lists the files' metadata instead of
their base64 content, so the content is stored once.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from .exceptions import ComplaintNotFound, ValidationFailed
from .tables import complaint_attachments, complaints

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024      # as MAIL_MAX_ATTACHMENT_BYTES: one file
MAX_TOTAL_BYTES = 25 * 1024 * 1024     # all files of one complaint
MAX_FILENAME = 200

# content type -> the magic bytes its content must start with (WebP: RIFF....WEBP, checked below)
MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/webp": (b"RIFF",),
         "application/pdf": (b"%PDF-",)}
EXTENSION = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    content: bytes
    original_sha256: str | None = None
    original_size: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def audit(self) -> dict:
        """What the audit record keeps of the file (metadata, not the content)."""
        return {"filename": self.filename, "content_type": self.content_type, "size": len(self.content),
                "sha256": self.sha256, "original_sha256": self.original_sha256,
                "original_size": self.original_size}


def parse(value) -> list[NewAttachment]:
    """Validate the ``attachments`` of a ``register_complaint`` call (None or [] = no files)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed("attachments must be a list", field="attachments")
    if len(value) > MAX_FILES:
        raise ValidationFailed(f"at most {MAX_FILES} attachments", field="attachments")
    files = [_parse_one(item, f"attachments.{i}") for i, item in enumerate(value)]
    if sum(len(f.content) for f in files) > MAX_TOTAL_BYTES:
        raise ValidationFailed(f"attachments total more than {MAX_TOTAL_BYTES} bytes", field="attachments")
    return files


def _parse_one(item, where: str) -> NewAttachment:
    if not isinstance(item, dict):
        raise ValidationFailed("an attachment must be an object", field=where)
    content_type = item.get("content_type")
    if content_type not in MAGIC:
        raise ValidationFailed(f"content_type must be one of {', '.join(MAGIC)}", field=f"{where}.content_type")
    encoded = item.get("content")
    if not isinstance(encoded, str) or not encoded or len(encoded) > (MAX_FILE_BYTES * 4) // 3 + 4:
        raise ValidationFailed(f"content must be base64 of 1 to {MAX_FILE_BYTES} bytes", field=f"{where}.content")
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("content is not base64", field=f"{where}.content") from None
    if not content or len(content) > MAX_FILE_BYTES:
        raise ValidationFailed(f"content must be 1 to {MAX_FILE_BYTES} bytes", field=f"{where}.content")
    if not matches_type(content, content_type):
        raise ValidationFailed(f"content is not {content_type}", field=f"{where}.content")
    original = item.get("original_sha256")
    if original is not None and not (isinstance(original, str) and _SHA256.match(original)):
        raise ValidationFailed("original_sha256 must be 64 hex digits", field=f"{where}.original_sha256")
    size = item.get("original_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValidationFailed("original_size must be a whole number", field=f"{where}.original_size")
    return NewAttachment(clean_filename(item.get("filename"), content_type), content_type, content, original, size)


def matches_type(content: bytes, content_type: str) -> bool:
    if not any(content.startswith(magic) for magic in MAGIC.get(content_type, ())):
        return False
    return content_type != "image/webp" or content[8:12] == b"WEBP"


def clean_filename(name, content_type: str) -> str:
    """The base name without path, control or shell-special characters, at most 200 characters, ending in
    the extension of its type (a scan named ``letter.exe`` is kept as ``letter.exe.pdf``)."""
    text = unicodedata.normalize("NFC", name) if isinstance(name, str) else ""
    text = _UNSAFE.sub("_", re.split(r"[/\\]", text)[-1]).strip(" ._") or "attachment"
    ext = EXTENSION[content_type]
    if not text.lower().endswith(ext) and not (ext == ".jpg" and text.lower().endswith(".jpeg")):
        text += ext
    return text[-MAX_FILENAME:]


def store(conn, tenant_id: str, complaint_id: str, files: list[NewAttachment], at, source: str) -> list[str]:
    """Insert the rows (inside the caller's transaction); their ids in order. Each row's ``created_at`` is a
    microsecond after the previous one's, so listings (ordered by it) keep the order the files were given in."""
    ids = []
    for i, f in enumerate(files):
        row_id = str(uuid.uuid4())
        conn.execute(complaint_attachments.insert().values(
            tenant_id=tenant_id, id=row_id, complaint_id=complaint_id, filename=f.filename,
            content_type=f.content_type, size=len(f.content), sha256=f.sha256, content=f.content, source=source,
            created_at=at + dt.timedelta(microseconds=i)))
        ids.append(row_id)
    return ids


def get_attachment(complaint_id, attachment_id, tenant_id: str, engine, scope=None) -> dict:
    """One file of a complaint: metadata, ``source``, the complaint's ``estate_code`` and the base64
    ``content``. Another tenant's, an unknown, or (with ``scope``) another estate's file: ``ComplaintNotFound``."""
    ids = []
    for value in (complaint_id, attachment_id):
        try:
            ids.append(str(uuid.UUID(str(value))))
        except ValueError:
            raise ComplaintNotFound("no such attachment", field="id") from None
    a, c = complaint_attachments, complaints
    q = (select(a.c.id, a.c.complaint_id, a.c.filename, a.c.content_type, a.c.size, a.c.sha256, a.c.source,
                a.c.content, c.c.estate_code)
         .join(c, (c.c.tenant_id == a.c.tenant_id) & (c.c.id == a.c.complaint_id))
         .where(a.c.tenant_id == tenant_id, a.c.complaint_id == ids[0], a.c.id == ids[1]))
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None or (scope is not None and row["estate_code"] not in scope):
        raise ComplaintNotFound("no such attachment", field="id")
    found = {k: row[k] for k in ("id", "complaint_id", "filename", "content_type", "size", "sha256", "source",
                                 "estate_code")}
    found["content"] = base64.b64encode(bytes(row["content"])).decode("ascii")
    return found


def audit_record(data: dict, files: list[NewAttachment]) -> dict:
    """The caller's input as ``complaints.raw`` keeps it: the files' metadata instead of their content."""
    raw = {k: v for k, v in data.items() if k != "attachments"}
    if files:
        raw["attachments"] = [f.audit() for f in files]
    return raw


def listing(ids: list[str], files: list[NewAttachment]) -> list[dict]:
    """The stored files as ``get_complaint`` lists them."""
    return [{"id": i, "filename": f.filename, "content_type": f.content_type, "size": len(f.content),
             "sha256": f.sha256} for i, f in zip(ids, files)]
