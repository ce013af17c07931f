"""The owner's web form with photos and the agent's scans, through the running system (real HTTP, real services).

An owner submits the public form of DEMO-RES with a JPEG carrying EXIF GPS: the stored photo has no EXIF, the
reference is shown and the status page finds the complaint with it. A text file named ``.jpg`` is a 422 and
nothing is registered. An agent records a letter with its PDF scan; the case page links the file, which staff
of another tenant cannot fetch. Then the same owner journey in Chromium on a phone-sized screen.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import requests
from PIL import Image

from .conftest import ROOT, console_session

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
REFERENCE = re.compile(r'id="owner-reference">(TS\d{8}-[0-9A-Z]{6})<')
MIN_FILL_SECONDS = 3.1  # the form refuses submissions faster than 3 s (owner_form.DEFAULT_MIN_SECONDS)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "OwnerPhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 7.5), 3: "E", 4: (121.0, 28.0, 3.2)}
    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), (180, 60, 40)).save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def owner_post(system, session, fields: dict, photos: list, estate="DEMO-RES"):
    url = f"{system.base_url}/t/demo/e/{estate}/complain"
    html = session.get(url, timeout=15).text
    time.sleep(MIN_FILL_SECONDS)
    data = {"csrf_token": CSRF.search(html).group(1), "form_token": FORM_TOKEN.search(html).group(1)} | fields
    files = [("photos", (name, content, "image/jpeg")) for name, content in photos]
    return session.post(url, data=data, files=files, timeout=30)


def staff_session(system, username="agent@demo") -> requests.Session:
    return console_session(system, username)


def find(system, reference: str, channel: str) -> dict:
    headers = system.headers()
    listed = requests.get(f"{system.api}/complaints", params={"channel": channel, "limit": 200}, headers=headers,
                          timeout=15).json()
    [item] = [i for i in listed["items"] if i["reference"] == reference]
    return requests.get(f"{system.api}/complaints/{item['id']}", headers=headers, timeout=15).json()


def web_total(system) -> int:
    r = requests.get(f"{system.api}/complaints", params={"channel": "web", "limit": 1},
                     headers=system.headers("hq@demo"), timeout=15)
    return r.json()["total"]


def test_owner_form_photo_is_stored_without_exif_and_the_status_page_finds_it(system):
    original = jpeg_with_gps()
    phone = "139" + str(uuid.uuid4().int)[:8]
    owner = requests.Session()
    r = owner_post(system, owner, {"name": "钱女士", "phone": phone, "unit": "5-2-301",
                                   "description": f"5栋门口路灯坏了一周，晚上很黑 {uuid.uuid4().hex[:6]}"},
                   [("IMG_2031.JPG", original)])
    assert r.status_code == 200 and r.history and r.history[0].status_code == 303, r.text[-800:]
    reference = REFERENCE.search(r.text).group(1)
    assert "已收到照片 1 张" in r.text and "/t/demo/status" in r.text

    view = find(system, reference, "web")
    assert view["complainant"]["phone"] == phone and view["estate"]["code"] == "DEMO-RES"
    [photo] = view["attachments"]
    assert photo["content_type"] == "image/jpeg" and photo["filename"] == "IMG_2031.jpg"
    agent = staff_session(system)
    got = agent.get(f"{system.base_url}/complaints/{view['id']}/attachments/{photo['id']}", timeout=15)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/jpeg"
    stored = got.content
    assert hashlib.sha256(stored).hexdigest() == photo["sha256"] != hashlib.sha256(original).hexdigest()
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and max(img.size) == 2048
        assert not img.getexif() and "exif" not in img.info
    assert b"OwnerPhoneMaker" not in stored and b"Exif" not in stored
    case_page = agent.get(f"{system.base_url}/complaints/{view['id']}", timeout=15).text
    assert f"/complaints/{view['id']}/attachments/{photo['id']}" in case_page

    other = staff_session(system, "hq@other")  # another tenant's staff: nothing
    assert other.get(f"{system.base_url}/complaints/{view['id']}/attachments/{photo['id']}",
                     timeout=15).status_code == 404

    status = requests.Session()
    token = CSRF.search(status.get(f"{system.base_url}/t/demo/status", timeout=15).text).group(1)
    found = status.post(f"{system.base_url}/t/demo/status", data={"reference": reference, "phone": phone,
                                                                   "csrf_token": token}, timeout=15)
    assert found.status_code == 200 and reference in found.text and "随投诉保存的照片和文件：1" in found.text
    thumb = f"/t/demo/status/photos/{view['id']}/{photo['id']}"
    assert thumb in found.text
    assert status.get(system.base_url + thumb, timeout=15).content == stored  # this browser proved ref + phone
    assert requests.get(system.base_url + thumb, timeout=15).status_code == 404  # any other browser did not


def test_owner_form_text_file_named_jpg_is_refused_and_nothing_is_registered(system):
    before = web_total(system)
    r = owner_post(system, requests.Session(), {"name": "孙先生", "phone": "13711112222",
                                                "description": "电梯按钮失灵"},
                   [("photo.jpg", b"I am a text file pretending to be a photo.\n")])
    assert r.status_code == 422 and "不是照片" in r.text and "电梯按钮失灵" in r.text
    time.sleep(1)
    assert web_total(system) == before


def test_agent_records_a_letter_with_its_pdf_scan(system):
    agent = staff_session(system)
    token = CSRF.search(agent.get(f"{system.base_url}/complaints/new", timeout=15).text).group(1)
    description = f"来信：车库顶棚漏水，车被泡 {uuid.uuid4().hex[:6]}"
    r = agent.post(f"{system.base_url}/complaints/new", data={
        "csrf_token": token, "estate": "DEMO-RES", "channel": "letter", "name": "郑先生", "phone": "13622223333",
        "unit": "8-1-101", "description": description},
        files=[("scans", ("信函扫描.pdf", PDF, "application/pdf"))], allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[-800:]
    case_url = system.base_url + r.headers["Location"]
    page = agent.get(case_url, timeout=15).text
    link = re.search(r'href="(/complaints/[0-9a-f-]{36}/attachments/[0-9a-f-]{36})"[^>]*>信函扫描.pdf<', page)
    assert link, page[-2000:]
    got = agent.get(system.base_url + link.group(1), timeout=15)
    assert got.status_code == 200 and got.content == PDF and got.headers["Content-Type"] == "application/pdf"
    view = requests.get(f"{system.api}/complaints/{case_url.rsplit('/', 1)[1]}", headers=system.headers(),
                        timeout=15).json()
    assert view["channel"] == "letter" and [a["filename"] for a in view["attachments"]] == ["信函扫描.pdf"]


def test_owner_fills_the_form_on_a_phone_in_chromium(system, tmp_path):
    photo = tmp_path / "IMG_3001.jpg"
    photo.write_bytes(jpeg_with_gps())
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLET")}
    shots = os.path.join(ROOT, "test-artifacts", "screenshots")
    done = subprocess.run([sys.executable, "-m", "tests.e2e.owner_form_browser", system.base_url, shots,
                           json.dumps({"photo": str(photo), "phone": "13655556666"})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"owner form journey failed:\n{done.stderr[-4000:]}"
    found = json.loads(done.stdout.strip().splitlines()[-1])
    view = find(system, found["reference"], "web")  # registered before the form answered
    assert len(view["attachments"]) == 1 and view["complainant"]["phone"] == "13655556666"
