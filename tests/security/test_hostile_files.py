"""Hostile files (issue 9, S3): a zip bomb posing as a workbook, polyglot pictures, a PDF carrying HTML.

The committee's sheet upload refuses an XLSX whose parts unpack past ``MAX_XLSX_UNPACKED`` before openpyxl reads
it; a photo is rebuilt from its pixels, so whatever rides after or inside the picture (an HTML page, a ZIP archive,
a script in a JPEG comment or its ICC segment: both survived re-encoding until this test) is gone; a PDF is kept as sent but is only ever served as ``application/pdf`` with
``nosniff`` (gateway/tests/unit/test_gateway_owner_form_scans.py shows the headers), so it cannot become a page.
Hostile e-mail shapes are in services/intake/tests/unit/test_intake_mail_parse.py.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from PIL import Image

from gateway import committee_upload, uploads

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
PAYLOADS = (b"<script", b"<html", b"PK\x03\x04", b"alert(")


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (committee_upload.MAX_XLSX_UNPACKED + 1024))
    return buf.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = _zip_bomb()
    assert len(bomb) < committee_upload.MAX_FILE_BYTES  # small on the wire: only the unpacked size gives it away
    with pytest.raises(ValueError, match="unpacks to more than"):
        committee_upload.read_table(bomb, "投诉.xlsx")
    parsed = committee_upload.parse(bomb, "投诉.xlsx", {"DEMO-RES": "Asia/Shanghai"}, "DEMO-RES", NOW)
    assert not parsed.rows and [e["field"] for e in parsed.errors] == ["file"]


@pytest.mark.parametrize("name, content", [
    ("a.xlsx", b"PK\x03\x04 not really a zip"),       # the magic of a zip, then nothing
    ("a.xlsx", b"<html><script>alert(1)</script>"),  # a page named like a workbook
])
def test_a_fake_workbook_is_a_file_error(name, content):
    parsed = committee_upload.parse(content, name, {"DEMO-RES": "Asia/Shanghai"}, "DEMO-RES", NOW)
    assert not parsed.rows and [e["field"] for e in parsed.errors] == ["file"]


def _picture(fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, fmt, **save)
    return buf.getvalue()


def _zip_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("evil.html", "<html><script>alert(1)</script></html>")
    return buf.getvalue()


@pytest.mark.parametrize("original", [
    _picture("PNG") + b"<html><script>alert(1)</script></html>",     # a page after the PNG's IEND
    _picture("JPEG") + _zip_archive(),                                # a JPEG that is also a ZIP (GIFAR-style)
    _picture("JPEG", comment=b"<script>alert(1)</script>"),          # a script in the JPEG comment segment
    _picture("WEBP") + b"<script>alert(1)</script>",
    _picture("JPEG", icc_profile=b"<script>alert(1)</script>"),    # a script as the "ICC profile" (APP2)
], ids=["png+html", "jpeg+zip", "jpeg-comment", "webp+script", "jpeg-icc"])
def test_a_polyglot_picture_is_rebuilt_from_its_pixels_and_the_payload_is_gone(original):
    prepared = uploads.prepare_photo(original, "照片.jpg")
    assert prepared.content_type == "image/jpeg" and prepared.content.startswith(b"\xff\xd8\xff")
    assert not [p for p in PAYLOADS if p in prepared.content]
    with Image.open(io.BytesIO(prepared.content)) as img:
        assert img.size == (64, 48) and not img.info.get("comment") and not img.info.get("icc_profile")


@pytest.mark.parametrize("content, reason", [
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "not_an_image"),
    (b"GIF89a/*<script>alert(1)</script>*/", "not_an_image"),
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "unsupported_type"),
])
def test_what_only_looks_like_a_picture_is_refused(content, reason):
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.prepare_photo(content, "x.jpg")
    assert refused.value.reason == reason


def test_a_pdf_carrying_html_is_kept_as_a_pdf_never_as_a_page():
    polyglot = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF"
    prepared = uploads.prepare_scan(polyglot, "letter.html")
    assert prepared.content_type == "application/pdf" and prepared.filename == "letter.html.pdf"
    with pytest.raises(uploads.UploadRefused) as refused:  # without the PDF magic it is no scan at all
        uploads.prepare_scan(polyglot[len(b"%PDF-1.4\n"):], "letter.pdf")
    assert refused.value.reason == "unsupported_type"
