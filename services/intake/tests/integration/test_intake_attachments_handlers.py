"""Files sent with ``register_complaint`` on a real database (SQLite, or Postgres via TEST_DATABASE_URL): stored
with the complaint in one transaction, checked without decoding, read back only within tenant and estate."""
import base64
import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import NotFound, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from intake import attachments, handlers
from intake.seed import seed_demo
from intake.tables import complaint_attachments, complaints, reliability

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ORIGINAL = hashlib.sha256(b"the photo as the owner took it").hexdigest()


def body(*files, **over):
    data = {"estate": "DEMO-RES", "channel": "web", "description": "楼道灯坏了，见照片",
            "complainant": {"name": "李女士", "phone": "13900139000"},
            "attachments": [dict(f) for f in files]}
    data.update(over)
    return data


def file(content=JPEG, content_type="image/jpeg", filename="IMG_1.jpg", **over):
    return {"filename": filename, "content_type": content_type,
            "content": base64.b64encode(content).decode("ascii"), **over}


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def uow(clock):
    return lambda engine: UnitOfWork(engine, reliability, clock)


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_intake_attachments_are_stored_with_the_complaint_and_audited_without_content(engine, uow):
    result = handlers.register_complaint(
        body(file(original_sha256=ORIGINAL, original_size=123456), file(PDF, "application/pdf", "信函.pdf"),
             channel="letter"), TENANT, "agent-1", uow(engine))
    assert [a["filename"] for a in result["attachments"]] == ["IMG_1.jpg", "信函.pdf"]
    assert result["attachments"][0]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    with engine.connect() as conn:
        rows = conn.execute(select(complaint_attachments).order_by(complaint_attachments.c.filename)).mappings().all()
        raw = conn.execute(select(complaints.c.raw)).scalar_one()
    assert {bytes(r["content"]) for r in rows} == {JPEG, PDF} and {r["source"] for r in rows} == {"letter"}
    assert all(r["complaint_id"] == result["id"] and r["tenant_id"] == TENANT for r in rows)
    assert all("content" not in a for a in raw["attachments"]) and JPEG.hex() not in str(raw)
    assert raw["attachments"][0] | {} == {"filename": "IMG_1.jpg", "content_type": "image/jpeg", "size": len(JPEG),
                                          "sha256": hashlib.sha256(JPEG).hexdigest(), "original_sha256": ORIGINAL,
                                          "original_size": 123456}
    listed = handlers.get_complaint(result["id"], TENANT, engine)["attachments"]
    assert [a["id"] for a in listed] == [a["id"] for a in result["attachments"]]
    one = attachments.get_attachment(result["id"], listed[1]["id"], TENANT, engine)
    assert base64.b64decode(one["content"]) == PDF and one["content_type"] == "application/pdf"
    assert one["estate_code"] == "DEMO-RES" and one["source"] == "letter"


@pytest.mark.parametrize("files, field", [
    ([file(b"this is text, not a jpeg")], "attachments.0.content"),          # magic bytes decide, not the name
    ([file(JPEG, "image/gif")], "attachments.0.content_type"),
    ([file(JPEG, "text/html", "x.html")], "attachments.0.content_type"),
    ([file(content_type="image/png")], "attachments.0.content"),             # a JPEG declared as PNG
    ([{"filename": "a.jpg", "content_type": "image/jpeg", "content": "***"}], "attachments.0.content"),
    ([file()] * 6, "attachments"),
    ([file(b"\xff\xd8\xff" + b"0" * attachments.MAX_FILE_BYTES)], "attachments.0.content"),
    ([file(original_sha256="not-hex")], "attachments.0.original_sha256"),
    (["a.jpg"], "attachments.0"),
])
def test_intake_attachments_bad_files_refuse_the_whole_complaint(engine, uow, files, field):
    data = body(*files) if all(isinstance(f, dict) for f in files) else dict(body(), attachments=files)
    with pytest.raises(ValidationFailed) as err:
        handlers.register_complaint(data, TENANT, None, uow(engine))
    assert err.value.details["field"] == field
    assert count(engine, complaints) == 0 and count(engine, complaint_attachments) == 0
    assert count(engine, reliability.outbox) == 0


def test_intake_attachments_total_size_is_bounded(engine, uow, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_TOTAL_BYTES", 2 * len(JPEG))
    with pytest.raises(ValidationFailed) as err:
        handlers.register_complaint(body(file(), file(), file()), TENANT, None, uow(engine))
    assert err.value.details["field"] == "attachments" and count(engine, complaint_attachments) == 0


def test_intake_attachments_a_failed_insert_keeps_nothing(engine, uow, monkeypatch):
    def broken(conn, *args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(attachments, "store", broken)
    with pytest.raises(RuntimeError):
        handlers.register_complaint(body(file()), TENANT, None, uow(engine))
    assert count(engine, complaints) == 0 and count(engine, reliability.outbox) == 0


def test_intake_attachments_file_names_are_cleaned():
    assert attachments.clean_filename("..\\..\\C:\\Users\\x\\信函 1.pdf", "application/pdf") == "信函 1.pdf"
    assert attachments.clean_filename("/etc/passwd", "image/jpeg") == "passwd.jpg"
    assert attachments.clean_filename("a\x00b<script>.jpeg", "image/jpeg") == "a_b_script_.jpeg"
    assert attachments.clean_filename(None, "image/png") == "attachment.png"
    assert len(attachments.clean_filename("长" * 500 + ".pdf", "application/pdf")) == 200


def test_intake_attachments_are_invisible_to_another_tenant_and_outside_the_estate_scope(engine, uow):
    result = handlers.register_complaint(body(file()), TENANT, None, uow(engine))
    att = result["attachments"][0]["id"]
    assert attachments.get_attachment(result["id"], att, TENANT, engine, scope={"DEMO-RES"})["id"] == att
    for tenant, scope in ((str(uuid.uuid4()), None), (TENANT, {"DEMO-OFFICE"}), (TENANT, set())):
        with pytest.raises(NotFound):
            attachments.get_attachment(result["id"], att, tenant, engine, scope=scope)
    other = handlers.register_complaint(body(description="另一件事：垃圾没人清", complainant={"phone": "13700137000"}),
                                        TENANT, None, uow(engine))
    assert other["id"] != result["id"]
    for complaint_id, attachment_id in ((other["id"], att), (result["id"], str(uuid.uuid4())), ("x", att)):
        with pytest.raises(NotFound):  # an attachment is found only under its own complaint
            attachments.get_attachment(complaint_id, attachment_id, TENANT, engine)
