"""The owner's complaint form (``/t/<slug>/e/<estate>/complain``) with a fake RPC: photos re-encoded without
EXIF before intake sees them, bad files and bots refused with nothing registered, the larger body limit only
on upload routes."""
import base64
import hashlib
import io
import os
import re

import pytest
from PIL import Image

from estatedesk_common.demo import DEMO_TENANT

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"},
           {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": "EAST"}]
URL = "/t/demo/e/DEMO-RES/complain"
CREATED = {"id": "c0a80101-0000-4000-8000-000000000001", "reference": "TS20261124-7KQ2MX", "attachments": [{}]}


def jpeg_with_gps(size=(1200, 900)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 7.5), 3: "E", 4: (121.0, 28.0, 3.2)}  # GPS IFD: where the owner lives
    out = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def owner(app, client, fake_rpc):
    app.config["OWNER_FORM_MIN_SECONDS"] = 0
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "register_complaint", CREATED)

    def post(photos=(), url=URL, **fields):
        html = client.get(url).get_data(as_text=True)
        data = {"csrf_token": CSRF.search(html).group(1), "form_token": FORM_TOKEN.search(html).group(1),
                "name": "王先生", "phone": "138 0013 8000", "unit": "3-1-502", "description": "楼道灯坏了一周"}
        data.update(fields)
        data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
        return client.post(url, data=data, content_type="multipart/form-data")
    return post


def registered(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "register_complaint"]


def test_gateway_owner_form_lists_estates_and_serves_a_phone_friendly_form_in_chinese(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    listing = client.get("/t/demo/complain").get_data(as_text=True)
    assert "锦绣花园" in listing and 'href="/t/demo/e/DEMO-OFFICE/complain"' in listing
    r = client.get(URL)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'lang="zh-CN"' in html and 'name="viewport"' in html
    assert "我要投诉" in html and 'accept="image/*"' in html and 'capture="environment"' in html
    assert 'enctype="multipart/form-data"' in html and 'name="website"' in html
    assert "Make a complaint" in client.get(URL + "?lang=en").get_data(as_text=True)
    assert fake_rpc.calls[-1]["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert "user_id" not in fake_rpc.calls[-1]["context"]
    assert client.get("/t/demo/e/NOPE/complain").status_code == 404
    assert client.get("/t/nobody/e/DEMO-RES/complain").status_code == 404


def test_gateway_owner_form_reencodes_photos_without_exif_and_shows_the_reference(client, fake_rpc, owner):
    original = jpeg_with_gps()
    r = owner(photos=[("IMG_0001.JPG", original)])
    assert r.status_code == 303 and r.headers["Location"] == URL
    [call] = registered(fake_rpc)
    data = call["args"][0]
    assert data["channel"] == "web" and data["estate"] == "DEMO-RES"
    assert data["complainant"] == {"name": "王先生", "phone": "13800138000", "unit": "3-1-502", "email": None}
    [photo] = data["attachments"]
    assert photo["content_type"] == "image/jpeg" and photo["filename"] == "IMG_0001.jpg"
    assert photo["original_sha256"] == hashlib.sha256(original).hexdigest()
    stored = base64.b64decode(photo["content"])
    assert stored != original
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and img.size == (1200, 900)
        assert not img.getexif() and "exif" not in img.info
    assert b"PhoneMaker" not in stored
    done = client.get(URL).get_data(as_text=True)
    assert "TS20261124-7KQ2MX" in done and 'href="/t/demo/status"' in done and "已收到照片 1 张" in done
    assert "TS20261124-7KQ2MX" not in client.get(URL).get_data(as_text=True)  # shown once


def test_gateway_owner_form_refuses_a_text_file_named_jpg_and_keeps_the_text(fake_rpc, owner):
    r = owner(photos=[("photo.jpg", b"this is not a picture at all")])
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and not registered(fake_rpc)
    assert "不是照片" in html and "photo.jpg" in html and "楼道灯坏了一周" in html and "请重新选择" in html


@pytest.mark.parametrize("photos, message", [
    ([("", b"")], None),  # a file input left empty is "no photo", not an error
    ([("p.jpg", b"")], "是空的"),
    ([(f"p{i}.png", b"x") for i in range(4)], "最多只能上传 3 个文件"),
    ([("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (8 * 1024 * 1024))], "超过 8 MB"),
])
def test_gateway_owner_form_photo_limits(fake_rpc, owner, photos, message):
    r = owner(photos=photos)
    if message is None:
        assert r.status_code == 303 and registered(fake_rpc)[0]["args"][0]["attachments"] == []
    else:
        assert r.status_code == 422 and message in r.get_data(as_text=True) and not registered(fake_rpc)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_gateway_owner_form_refuses_a_decompression_bomb(fake_rpc, owner):
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 megapixels in a few hundred kilobytes
    r = owner(photos=[("bomb.png", bomb.getvalue())])
    assert r.status_code == 422 and "像素过大" in r.get_data(as_text=True) and not registered(fake_rpc)


@pytest.mark.parametrize("fields, field_text", [
    ({"website": "http://spam.example"}, "未能提交"),          # honeypot
    ({"form_token": "forged"}, "未能提交"),                    # not signed by us
    ({"phone": "010-12345678"}, "手机号码"),                   # a landline: the form wants a mobile
    ({"name": ""}, "称呼"),
    ({"description": "  "}, "描述问题"),
])
def test_gateway_owner_form_refusals_register_nothing(fake_rpc, owner, fields, field_text):
    r = owner(**fields)
    assert r.status_code == 422 and field_text in r.get_data(as_text=True) and not registered(fake_rpc)


def test_gateway_owner_form_token_is_bound_to_its_estate(client, fake_rpc, owner):
    office = FORM_TOKEN.search(client.get("/t/demo/e/DEMO-OFFICE/complain").get_data(as_text=True)).group(1)
    r = owner(form_token=office)
    assert r.status_code == 422 and not registered(fake_rpc)


def test_gateway_owner_form_too_fast_is_refused(app, fake_rpc, owner):
    app.config["OWNER_FORM_MIN_SECONDS"] = 30
    r = owner()
    assert r.status_code == 422 and "提交过快" in r.get_data(as_text=True) and not registered(fake_rpc)


def test_gateway_owner_form_needs_csrf(client, fake_rpc, owner):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    r = client.post(URL, data={"name": "王先生", "phone": "13800138000", "description": "x"})
    assert r.status_code == 400 and not registered(fake_rpc)


def test_gateway_upload_routes_take_bodies_over_1_mib_and_other_pages_do_not(client, fake_rpc, owner):
    noise = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, "PNG")  # incompressible
    assert len(noise.getvalue()) > 1024 * 1024
    assert owner(photos=[("noise.png", noise.getvalue())]).status_code == 303
    status = client.post("/t/demo/status", data={"reference": "x" * (1100 * 1024)})
    assert status.status_code == 413


def test_gateway_owner_form_intake_refusal_of_a_photo_is_a_form_error(fake_rpc, owner, remote_error):
    fake_rpc.reply("intake", "register_complaint",
                   remote_error("ValidationFailed", 422, "validation_failed", field="attachments.0.content"))
    r = owner(photos=[("a.jpg", jpeg_with_gps((50, 50)))])
    assert r.status_code == 422 and 'id="e-photos"' in r.get_data(as_text=True)


def found_complaint(attachments):
    return {"id": "c0a80101-0000-4000-8000-000000000001", "reference": "TS20261124-7KQ2MX", "status": "received",
            "estate": {"code": "DEMO-RES", "name": "锦绣花园", "timezone": "Asia/Shanghai"}, "channel": "web",
            "received_at": "2026-11-24T05:00:00+00:00", "timeline": [], "attachments": attachments}


PHOTO = {"id": "c0a80101-0000-4000-8000-0000000000aa", "filename": "IMG.jpg", "content_type": "image/jpeg",
         "size": 3, "sha256": "0" * 64}
PHOTO_URL = f"/t/demo/status/photos/{CREATED['id']}/{PHOTO['id']}"


def status_lookup(client, fake_rpc, slug="demo"):
    fake_rpc.reply("intake", "find_by_reference", found_complaint([PHOTO, PHOTO | {"id": "x", "content_type":
                                                                                      "application/pdf"}]))
    fake_rpc.reply("notify", "get_timeline", [])
    token = CSRF.search(client.get(f"/t/{slug}/status").get_data(as_text=True)).group(1)
    return client.post(f"/t/{slug}/status", data={"reference": "TS20261124-7KQ2MX", "phone": "13800138000",
                                                  "csrf_token": token})


def test_gateway_owner_status_shows_own_photos_only_after_reference_and_phone(client, fake_rpc, remote_error):
    fake_rpc.reply("intake", "get_attachment", PHOTO | {"complaint_id": CREATED["id"], "source": "web",
                                                        "estate_code": "DEMO-RES",
                                                        "content": base64.b64encode(b"\xff\xd8\xff").decode()})
    assert client.get(PHOTO_URL).status_code == 404  # no proof in this browser yet
    assert not [c for c in fake_rpc.calls if c["method"] == "get_attachment"]
    fake_rpc.reply("workflow", "get_case", remote_error("CaseNotFound", 404, "case_not_found"))
    html = status_lookup(client, fake_rpc).get_data(as_text=True)
    assert html.count(PHOTO_URL) == 2 and "随投诉保存的照片和文件：2" in html  # link + thumbnail; the PDF counted
    r = client.get(PHOTO_URL)
    assert r.status_code == 200 and r.data == b"\xff\xd8\xff" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/t/other/status/photos/{CREATED['id']}/{PHOTO['id']}").status_code == 404  # other tenant
    other = "c0a80101-0000-4000-8000-000000000002"
    assert client.get(f"/t/demo/status/photos/{other}/{PHOTO['id']}").status_code == 404  # another complaint
    fake_rpc.reply("intake", "get_attachment", PHOTO | {"content_type": "application/pdf", "content": "JVBERg=="})
    assert client.get(PHOTO_URL).status_code == 404  # photos only


def test_gateway_owner_status_proof_expires(client, fake_rpc, remote_error, monkeypatch):
    from gateway.blueprints import owner_form

    fake_rpc.reply("workflow", "get_case", remote_error("CaseNotFound", 404, "case_not_found"))
    monkeypatch.setattr(owner_form, "PROOF_SECONDS", -1)
    status_lookup(client, fake_rpc)
    assert client.get(PHOTO_URL).status_code == 404
