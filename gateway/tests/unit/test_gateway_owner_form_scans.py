"""An agent's scans of letters and complaint-box slips on ``/complaints/new``, and the case page's file links
(``/complaints/<id>/attachments/<attachment id>``), with a fake RPC."""
import base64
import io
import re
import uuid

import pytest
from PIL import Image

from estatedesk_common.demo import DEMO_PASSWORD

from gateway import uploads

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"}]
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
COMPLAINT_ID, ATTACHMENT_ID = str(uuid.uuid4()), str(uuid.uuid4())


def csrf_of(client, path) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def agent(client):
    r = client.post("/login", data={"username": "agent@demo", "password": DEMO_PASSWORD,
                                    "csrf_token": csrf_of(client, "/login")})
    assert r.status_code == 302
    return client


def record(client, scans):
    data = {"csrf_token": csrf_of(client, "/complaints/new"), "estate": "DEMO-RES", "channel": "letter",
            "name": "周女士", "phone": "13812345678", "unit": "A座1001", "description": "来信反映：楼上漏水",
            "scans": [(io.BytesIO(content), name) for name, content in scans]}
    return client.post("/complaints/new", data=data, content_type="multipart/form-data")


def test_gateway_scans_form_offers_a_file_input(agent, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    html = agent.get("/complaints/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="scans"' in html and "application/pdf" in html


def test_gateway_scans_pdf_kept_as_is_and_photo_reencoded(agent, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "register_complaint", {"id": COMPLAINT_ID, "reference": "TS20261124-7KQ2MX"})
    photo = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(photo, "PNG")
    r = record(agent, [("信函", PDF), ("箱单.png", photo.getvalue())])  # a PDF by its magic, not its name
    assert r.status_code == 302 and r.headers["Location"] == f"/complaints/{COMPLAINT_ID}"
    [call] = [c for c in fake_rpc.calls if c["method"] == "register_complaint"]
    data = call["args"][0]
    assert data["channel"] == "letter"
    pdf, png = data["attachments"]
    assert (pdf["filename"], pdf["content_type"]) == ("信函.pdf", "application/pdf")
    assert uploads.client_filename("C:\\scans\\信函.pdf") == "信函.pdf"
    assert base64.b64decode(pdf["content"]) == PDF
    assert (png["filename"], png["content_type"]) == ("箱单.jpg", "image/jpeg")
    with Image.open(io.BytesIO(base64.b64decode(png["content"]))) as img:
        assert img.format == "JPEG" and img.getpixel((10, 10)) == (255, 255, 255)  # transparency over white


@pytest.mark.parametrize("name, content, text", [
    ("letter.exe", b"MZ\x90\x00 not a scan", "类型不支持"),
    ("fake.pdf", b"<html>not a pdf</html>", "类型不支持"),
])
def test_gateway_scans_refused_keep_the_form_and_register_nothing(agent, fake_rpc, name, content, text):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    r = record(agent, [(name, content)])
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and text in html and name in html and "来信反映：楼上漏水" in html
    assert not [c for c in fake_rpc.calls if c["method"] == "register_complaint"]


def stored(content_type="application/pdf", filename="信函 1.pdf", content=PDF, estate="DEMO-RES"):
    return {"id": ATTACHMENT_ID, "complaint_id": COMPLAINT_ID, "filename": filename, "content_type": content_type,
            "size": len(content), "sha256": "0" * 64, "source": "letter", "estate_code": estate,
            "content": base64.b64encode(content).decode("ascii")}


def test_gateway_attachment_download_in_scope(agent, fake_rpc):
    fake_rpc.reply("intake", "get_attachment", stored())
    r = agent.get(f"/complaints/{COMPLAINT_ID}/attachments/{ATTACHMENT_ID}")
    assert r.status_code == 200 and r.data == PDF and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("inline;") and "UTF-8''%E4%BF%A1" in r.headers[
        "Content-Disposition"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in r.headers["Cache-Control"]
    call = fake_rpc.calls[-1]
    assert call["args"] == (COMPLAINT_ID, ATTACHMENT_ID) and call["context"]["roles"]


def test_gateway_attachment_of_another_type_is_a_download_never_a_page(agent, fake_rpc):
    fake_rpc.reply("intake", "get_attachment", stored("text/html", "x.html", b"<script>alert(1)</script>"))
    r = agent.get(f"/complaints/{COMPLAINT_ID}/attachments/{ATTACHMENT_ID}")
    assert r.status_code == 200 and r.mimetype == "application/octet-stream"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]


def test_gateway_attachment_outside_the_scope_or_unknown_is_404(agent, fake_rpc, remote_error, client):
    fake_rpc.reply("intake", "get_attachment", stored(estate="DEMO-NEW"))  # agent@demo: DEMO-RES + DEMO-OFFICE
    assert agent.get(f"/complaints/{COMPLAINT_ID}/attachments/{ATTACHMENT_ID}").status_code == 404
    fake_rpc.reply("intake", "get_attachment", remote_error("ComplaintNotFound", 404, "complaint_not_found"))
    assert agent.get(f"/complaints/{COMPLAINT_ID}/attachments/{ATTACHMENT_ID}").status_code == 404
    assert agent.get(f"/complaints/{COMPLAINT_ID}/attachments/not-a-uuid").status_code == 404


def test_gateway_attachment_needs_a_staff_session(client, fake_rpc):
    r = client.get(f"/complaints/{COMPLAINT_ID}/attachments/{ATTACHMENT_ID}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert not fake_rpc.calls


def test_gateway_scans_total_size_is_checked_before_intake(agent, fake_rpc, monkeypatch):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    monkeypatch.setattr(uploads, "MAX_TOTAL_BYTES", len(PDF) + 10)
    r = record(agent, [("a.pdf", PDF), ("b.pdf", PDF)])
    assert r.status_code == 422 and "文件总大小超过上限" in r.get_data(as_text=True)
    assert not [c for c in fake_rpc.calls if c["method"] == "register_complaint"]
