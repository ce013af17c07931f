"""Files uploaded through pages: the owner's photos (re-encoded) and an agent's scans (photos re-encoded,
PDFs kept as they are). Untrusted bytes are decoded here, in the gateway, with bounds; intake gets only
the result (base64 in ``register_complaint``'s ``attachments``) and checks it again without decoding.

Photos: the magic bytes must say JPEG, PNG or WebP and Pillow may use only those three decoders
(``formats=``), the pixel count is checked from the header before anything is decoded (a decompression bomb
is refused, not decoded), JPEGs are decoded already scaled down (``draft``), the EXIF orientation is applied,
and the picture is written again as a JPEG of at most ``MAX_SIDE`` pixels on its long side. Nothing of the
original's metadata (EXIF with GPS, XMP, ICC, comments) survives: only pixels are copied. The original's
SHA-256 and size travel as metadata (``original_sha256``, ``original_size``) for the audit record.
HEIC (iPhone) is not decoded: iOS browsers hand a file input a JPEG; a HEIC file is refused with a clear message.

Decoding runs in eventlet's thread pool when the gateway runs under eventlet (Pillow releases the GIL), so
one large photo does not stall every other request of the process.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
import sys
from dataclasses import dataclass

from flask import Request
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

MAX_PHOTO_BYTES = 8 * 1024 * 1024          # one uploaded photo or scan, as sent
MAX_PIXELS = 40_000_000                    # width x height of a photo (a 40 MP camera picture)
MAX_SIDE = 2048                            # long side of the stored JPEG
JPEG_QUALITY = 85
MAX_OWNER_PHOTOS = 3
MAX_SCANS = 5
MAX_TOTAL_BYTES = 24 * 1024 * 1024         # the files of one complaint as stored (intake allows 25 MB)
UPLOAD_BODY_LIMIT = 5 * MAX_PHOTO_BYTES + 1024 * 1024   # the upload routes' request body (files + fields)

PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")


class UploadRefused(ValueError):
    """A file that cannot be accepted; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, filename: str = ""):
        super().__init__(f"{reason}: {filename}")
        self.reason, self.filename = reason, filename


REASONS = ("empty", "too_large", "not_an_image", "unsupported_type", "too_many_pixels", "too_many_files",
           "too_large_total")


@dataclass(frozen=True)
class Prepared:
    """A file ready for intake."""
    filename: str
    content_type: str
    content: bytes
    original_sha256: str
    original_size: int

    def for_intake(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type,
                "content": base64.b64encode(self.content).decode("ascii"),
                "original_sha256": self.original_sha256, "original_size": self.original_size}


def sniff(data: bytes) -> str | None:
    """The type the magic bytes say: ``jpeg``, ``png``, ``webp``, ``pdf``, ``heic`` or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"):
        return "heic"
    return None


def prepare_photo(data: bytes, filename: str = "") -> Prepared:
    """Check and re-encode one photo; ``UploadRefused`` says why not."""
    _check_size(data, filename)
    kind = sniff(data)
    if kind == "heic":
        raise UploadRefused("unsupported_type", filename)
    if kind not in ("jpeg", "png", "webp"):
        raise UploadRefused("not_an_image", filename)
    content = _in_thread(_reencode, data, filename)
    return Prepared(_jpeg_name(filename), "image/jpeg", content, hashlib.sha256(data).hexdigest(), len(data))


def prepare_scan(data: bytes, filename: str = "") -> Prepared:
    """A scan of a letter or a complaint-box slip: a PDF is kept as is (after its ``%PDF-`` magic), an image
    is re-encoded like a photo."""
    _check_size(data, filename)
    if sniff(data) == "pdf":
        name = filename if filename.lower().endswith(".pdf") else (filename or "scan") + ".pdf"
        return Prepared(name, "application/pdf", data, hashlib.sha256(data).hexdigest(), len(data))
    try:
        return prepare_photo(data, filename)
    except UploadRefused as exc:
        if exc.reason == "not_an_image":
            raise UploadRefused("unsupported_type", filename) from None
        raise


def _check_size(data: bytes, filename: str) -> None:
    if not data:
        raise UploadRefused("empty", filename)
    if len(data) > MAX_PHOTO_BYTES:
        raise UploadRefused("too_large", filename)


def _reencode(data: bytes, filename: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data), formats=PHOTO_FORMATS) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise UploadRefused("too_many_pixels", filename)
            if img.format == "JPEG":
                img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at 1/2, 1/4 or 1/8 scale when big enough
            img.load()  # the first frame of an animation
            picture = ImageOps.exif_transpose(img) or img
            picture = _flatten(picture)
            picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            # only the pixels: ``info`` rides along through convert/thumbnail, and Pillow's JPEG writer takes
            # the comment and the ICC profile from it (a script in a JPEG comment survived until this)
            picture = Image.frombytes(picture.mode, picture.size, picture.tobytes())
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif=, icc_profile=: none kept
            return out.getvalue()
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise UploadRefused("too_many_pixels", filename) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise UploadRefused("not_an_image", filename) from None  # truncated or corrupt


def _flatten(img: Image.Image) -> Image.Image:
    """RGB; transparency over white (JPEG has no alpha)."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _jpeg_name(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return f"{stem or 'photo'}.jpg"


def _in_thread(fn, *args):
    """``fn(*args)`` in eventlet's thread pool when eventlet patched the process, else directly."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("thread"):
        from eventlet import tpool

        return tpool.execute(fn, *args)
    return fn(*args)


def client_filename(name: str | None) -> str:
    """The base name a browser sent (some send a full Windows path), without control characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:150]


_REFUSALS = {
    "empty": _l("The file %(name)s is empty."),
    "too_large": _l("The file %(name)s is larger than %(mb)d MB."),
    "not_an_image": _l("The file %(name)s is not a photo (JPEG, PNG or WebP) or it is damaged."),
    "unsupported_type": _l("The file %(name)s has a type we cannot take. Photos: JPEG, PNG or WebP; scans also PDF."),
    "too_many_pixels": _l("The photo %(name)s has too many pixels. Please send a smaller picture."),
    "too_many_files": _l("You can send at most %(n)d files."),
    "too_large_total": _l("The files are too large together (at most %(total)d MB)."),
}


def refusal_message(reason: str, name: str, max_files: int) -> str:
    """Why a file was refused, in the user's language."""
    return str(_REFUSALS[reason]) % {"name": f"“{name}”" if name else "", "mb": MAX_PHOTO_BYTES // (1024 * 1024),
                                      "n": max_files, "total": MAX_TOTAL_BYTES // (1024 * 1024)}


def scans_from_request(files) -> tuple[list[dict], str | None]:
    """An agent's uploaded scans (``request.files.getlist("scans")``) ready for intake, or the refusal."""
    chosen = [f for f in files if f and f.filename]
    if len(chosen) > MAX_SCANS:
        return [], refusal_message("too_many_files", "", MAX_SCANS)
    prepared = []
    for upload in chosen:
        name = client_filename(upload.filename)
        try:
            prepared.append(prepare_scan(upload.read(MAX_PHOTO_BYTES + 1), name).for_intake())
        except UploadRefused as exc:
            return [], refusal_message(exc.reason, name, MAX_SCANS)
    if sum(len(p["content"]) * 3 // 4 for p in prepared) > MAX_TOTAL_BYTES:
        return [], refusal_message("too_large_total", "", MAX_SCANS)
    return prepared, None


# Endpoints whose POST may carry files: their body may be larger than the app's ``MAX_CONTENT_LENGTH``.
UPLOAD_ENDPOINTS = frozenset({"owner_form.complain", "console_complaints.new_complaint"})


class UploadRequest(Request):
    """The app's request class: ``UPLOAD_BODY_LIMIT`` instead of ``MAX_CONTENT_LENGTH`` for a POST to an
    upload endpoint (decided from the matched route, before any ``before_request`` reads the form), the
    app's limit everywhere else."""

    @property
    def max_content_length(self) -> int | None:
        rule = self.url_rule
        if (self._max_content_length is None and self.method == "POST" and rule is not None
                and rule.endpoint in UPLOAD_ENDPOINTS):
            return UPLOAD_BODY_LIMIT
        return Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
