"""Where in the estate on the complaint forms (hotline console, the owner's form, the committee's form), the API
and the case page, with a fake RPC: the estate's buildings offered (with "other / unknown"), free text where it
registered none, facility suggestions from one list, the choice sent as ``location``, intake's refusal of an
unknown building shown on the building field in the user's language."""
import datetime as dt
import re
import uuid

import pytest

from gateway import labels

from test_gateway_committee import login as committee_login
from test_gateway_console_pages import ESTATES, _case_page, as_user, complaint, csrf_of  # noqa: F401 (fixture)
from test_gateway_owner_form import CREATED, FORM_TOKEN, URL as OWNER_URL

BUILDINGS = {"DEMO-RES": [{"code": "1栋", "name": "1栋"}, {"code": "B2", "name": "2号楼"}]}
CHOICES = re.compile(r'<script type="application/json" id="(?:f|o)-building-choices">([^<]*)</script>')


@pytest.fixture
def agent(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "list_building_choices", lambda codes: {c: BUILDINGS[c] for c in codes if c in BUILDINGS})
    return as_user()


def _registered(fake_rpc) -> list[dict]:
    return [c["args"][0] for c in fake_rpc.calls if c["method"] == "register_complaint"]


def _post_agent(client, **fields):
    data = {"csrf_token": csrf_of(client, "/complaints/new"), "estate": "DEMO-RES", "channel": "hotline",
            "name": "周女士", "phone": "13812345678", "description": "2号楼电梯停运"} | fields
    return client.post("/complaints/new", data=data)


def test_hotline_form_offers_the_estates_buildings_and_facility_suggestions(agent, fake_rpc):
    html = agent.get("/complaints/new?lang=zh-CN").get_data(as_text=True)
    [asked] = [c for c in fake_rpc.calls if c["method"] == "list_building_choices"]
    assert asked["args"] == (["DEMO-OFFICE", "DEMO-RES"],)  # the agent's estates (not DEMO-NEW), one call
    assert '<label for="f-building">楼栋</label>' in html and '<label for="f-facility">设施</label>' in html
    assert '<option value="">其他/不详</option>' in html and "问题位置（选填）" in html
    # no estate chosen yet: nothing to pick from, the typed building is offered; the page carries every list
    assert re.search(r'id="f-building-pick"\s+hidden', html) and 'id="f-building_other"' in html
    assert '"B2"' in CHOICES.search(html).group(1) and "2号楼" in CHOICES.search(html).group(1)
    assert all(f'<option value="{value}"' in html for value in labels.FACILITIES)
    chosen = agent.get("/complaints/new?lang=en").get_data(as_text=True)
    assert 'label="Lift"' in chosen and "Where in the estate (optional)" in chosen


def test_hotline_form_sends_the_building_and_facility_as_location(agent, fake_rpc):
    created = {"id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX"}
    fake_rpc.reply("intake", "register_complaint", created)
    response = _post_agent(agent, building="B2", facility=" 电梯 ")
    assert response.status_code == 302
    assert _registered(fake_rpc)[0]["location"] == {"building": "B2", "facility": "电梯"}
    _post_agent(agent, building="", facility="")  # "other / unknown", no facility: no location at all
    assert "location" not in _registered(fake_rpc)[1]
    _post_agent(agent, estate="DEMO-OFFICE", building_other="北区7幢")  # estate without a directory: typed
    assert _registered(fake_rpc)[2]["location"] == {"building": "北区7幢", "facility": None}


def test_an_unknown_building_is_shown_on_its_field_with_the_form_kept(agent, fake_rpc, remote_error):
    fake_rpc.reply("intake", "register_complaint", remote_error(
        "ValidationFailed", 422, "building_unknown", field="location.building", buildings=["1栋", "B2"]))
    response = _post_agent(agent, building="9栋", facility="电梯")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "该项目没有这个楼栋：请从列表中选择，或选“其他/不详”。" in html
    assert 'aria-invalid="true" aria-describedby="e-building"' in html and 'value="电梯"' in html
    assert '<option value="B2">2号楼 (B2)</option>' in html  # the chosen estate's list, rendered by the server
    too_long = _post_agent(agent, facility="x" * 41)
    assert too_long.status_code == 422 and "设施最多 40 个字。" in too_long.get_data(as_text=True)


@pytest.fixture
def owner_page(app, client, fake_rpc):
    app.config["OWNER_FORM_MIN_SECONDS"] = 0
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "register_complaint", CREATED)
    fake_rpc.reply("intake", "list_building_choices", lambda codes: {c: BUILDINGS[c] for c in codes if c in BUILDINGS})

    def post(url=OWNER_URL, **fields):
        html = client.get(url).get_data(as_text=True)
        data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
                "form_token": FORM_TOKEN.search(html).group(1), "name": "王先生", "phone": "13800138000",
                "description": "楼道灯坏了一周"} | fields
        return client.post(url, data=data, content_type="multipart/form-data")
    return post


def test_owner_form_knows_its_estate_and_offers_its_buildings(client, fake_rpc, owner_page):
    html = client.get(OWNER_URL).get_data(as_text=True)
    assert [c["args"] for c in fake_rpc.calls if c["method"] == "list_building_choices"] == [(["DEMO-RES"],)]
    assert '<option value="1栋">1栋</option>' in html and '<option value="B2">2号楼 (B2)</option>' in html
    assert re.search(r'id="o-building-free"\s+hidden', html) and 'list="o-facility-list"' in html
    assert owner_page(building="B2", facility="公共照明").status_code == 303
    assert _registered(fake_rpc)[-1]["location"] == {"building": "B2", "facility": "公共照明"}


def test_owner_form_refuses_a_building_its_estate_does_not_have(client, fake_rpc, owner_page):
    response = owner_page(building="9栋")
    assert response.status_code == 422 and not _registered(fake_rpc)
    assert "请从列表中选择本小区的楼栋，或选“其他/不详”。" in response.get_data(as_text=True)


def test_owner_form_of_an_estate_without_buildings_takes_the_building_as_typed(client, fake_rpc, owner_page):
    url = "/t/demo/e/DEMO-OFFICE/complain"
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'id="o-building-pick"\s+hidden', html) and 'id="o-building_other"' in html
    assert owner_page(url=url, building_other="A座", facility="电梯").status_code == 303
    assert _registered(fake_rpc)[-1]["location"] == {"building": "A座", "facility": "电梯"}


def test_committee_form_forwards_the_location(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "list_building_choices", {"DEMO-RES": BUILDINGS["DEMO-RES"]})
    fake_rpc.reply("intake", "register_complaint", CREATED)
    member = committee_login(client)
    html = member.get("/committee/new").get_data(as_text=True)
    assert '<option value="B2">2号楼 (B2)</option>' in html  # the member's one estate
    response = member.post("/committee/new", data={
        "csrf_token": csrf_of(member, "/committee/new"), "phone": "13800138000", "description": "绿化带积水",
        "building": "1栋", "facility": "绿化"})
    assert response.status_code == 302
    assert _registered(fake_rpc)[-1]["location"] == {"building": "1栋", "facility": "绿化"}


def test_api_takes_location_checks_its_length_and_returns_it(client, fake_rpc, bearer, remote_error):
    headers = bearer()
    body = {"estate": "DEMO-RES", "channel": "hotline", "description": "电梯停运",
            "complainant": {"phone": "13812345678"}, "location": {"building": "B2", "facility": "电梯"}}
    made = complaint(location={"building": "B2", "facility": "电梯", "building_name": "2号楼"})
    fake_rpc.reply("intake", "register_complaint", made)
    assert client.post("/api/v1/complaints", json=body, headers=headers).status_code == 201
    assert _registered(fake_rpc)[-1]["location"] == {"building": "B2", "facility": "电梯"}
    bad = client.post("/api/v1/complaints", json=body | {"location": {"building": "x" * 41}}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["details"]["field"] == "location.building"
    fake_rpc.reply("intake", "register_complaint", remote_error(
        "ValidationFailed", 422, "building_unknown", field="location.building", buildings=["1栋", "B2"]))
    unknown = client.post("/api/v1/complaints", json=body, headers=headers | {"Accept-Language": "en"})
    assert unknown.status_code == 422 and unknown.get_json()["error"] == "building_unknown"
    assert unknown.get_json()["details"]["field"] == "location.building"
    assert unknown.get_json()["message"].startswith("This estate has no such building")
    zh = client.post("/api/v1/complaints", json=body, headers=headers)
    assert zh.get_json()["message"].startswith("该项目没有这个楼栋")
    fake_rpc.reply("intake", "get_complaint", made)
    fake_rpc.reply("workflow", "get_case", remote_error("NotFound", 404, "case_not_found"))
    fake_rpc.reply("notify", "get_timeline", [])
    view = client.get(f"/api/v1/complaints/{made['id']}", headers=headers).get_json()
    assert view["location"] == {"building": "B2", "facility": "电梯", "building_name": "2号楼"}
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "location" in schema["ComplaintView"]["properties"]
    assert {"building", "facility", "building_name"} <= set(schema["LocationView"]["properties"])


def test_case_page_shows_the_location(as_user, fake_rpc):  # noqa: F811 (fixture)
    html = _case_page(as_user, fake_rpc, due_in=dt.timedelta(minutes=40),
                      location={"building": "B2", "facility": "电梯", "building_name": "2号楼"})
    assert re.search(r'<dt>位置</dt><dd id="location"><span id="location-building">2号楼 \(B2\)</span> · '
                     r'<span id="location-facility">电梯</span></dd>', html)
    plain = _case_page(as_user, fake_rpc, due_in=dt.timedelta(minutes=40), location=None)
    assert 'id="location"' not in plain
