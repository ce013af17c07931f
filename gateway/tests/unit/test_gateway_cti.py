"""The hotline desk at the gateway with a fake RPC: the CTI endpoint (API key), the console's caller lookup, the
recording form opened for a call, and the agents' calls panel."""
import re

import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, demo_id

from test_gateway_console_pages import console_login, csrf_of

KEY = {"X-Api-Key": "demo-api-key"}
AGENT_ID = demo_id("user", "agent@demo")


def call(**over):
    found = {"call_id": "pbx-42", "caller": "+8613812345678", "called": "4008001234", "state": "ringing",
             "estate": "DEMO-RES", "agent_user_id": None, "agent_ref": None,
             "started_at": "2026-12-03T02:00:00+00:00", "answered_at": None, "ended_at": None, "complaint_id": None}
    return found | over


def complaint_item(cid, status="received", received_at="2026-12-01T02:00:00+00:00"):
    return {"id": cid, "reference": f"TS20261201-{cid[-6:].upper()}", "status": "received", "estate_code": "DEMO-RES",
            "estate_name": "锦绣花园", "channel": "hotline", "category": None, "severity": None,
            "received_at": received_at, "complainant_name": "周女士", "summary": "电梯困人", "owner": "k"}


OPEN_ID, DONE_ID, OLD_ID = ("00000000-0000-4000-8000-00000000000" + d for d in "123")
LOOKUP = {
    "owners": [{"key": "DEMO-RES|13812345678|1栋101", "name": "周女士", "phone": "13812345678",
                "phone_masked": "138****5678", "email": "zhou@example.com", "unit": "1栋101", "estate": "DEMO-RES",
                "estate_name": "锦绣花园", "complaints": 3, "last_complaint_at": "2026-12-01T02:00:00+00:00"}],
    "complaints": [complaint_item(OPEN_ID), complaint_item(DONE_ID),
                   complaint_item(OLD_ID, received_at="2025-01-01T02:00:00+00:00")],
}
CASES = {"items": [{"complaint_id": DONE_ID, "status": "closed"}, {"complaint_id": OLD_ID, "status": "resolved"}]}


@pytest.fixture
def cti(client, fake_rpc):
    fake_rpc.reply("intake", "record_call_event", lambda event: {"call": call(state=event["event"],
                                                                              agent_user_id=event["agent_user_id"]),
                                                                  "duplicate": False, "caller": LOOKUP})
    fake_rpc.reply("workflow", "list_cases", CASES)
    return client


def post_event(client, headers=KEY, **body):
    return client.post("/api/v1/cti/calls", headers=headers,
                       json={"call_id": "pbx-42", "event": "ringing", "caller": "+8613812345678",
                             "called": "4008001234"} | body)


def test_cti_needs_a_key_with_the_cti_scope(cti, fake_rpc):
    for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": "other-api-key"}):  # other-api-key: open311 only
        response = post_event(cti, headers=headers)
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_api_key"
    assert fake_rpc.calls == []


@pytest.mark.parametrize("body, field", [({"event": "hangup"}, "event"), ({"call_id": "a b"}, "call_id"),
                                         ({"caller": "<script>"}, "caller"), ({"agent": "x" * 151}, "agent")])
def test_cti_refuses_bad_events_naming_the_field(cti, fake_rpc, body, field):
    response = post_event(cti, **body)
    assert response.status_code == 422 and response.get_json()["details"]["field"] == field
    assert fake_rpc.calls == []


def test_cti_records_the_event_for_the_keys_tenant_and_returns_the_screen_pop(cti, fake_rpc):
    response = post_event(cti, event="answered", agent="agent@demo")
    assert response.status_code == 200, response.get_json()
    recorded = fake_rpc.calls[0]
    assert recorded["method"] == "record_call_event"
    assert recorded["args"][0]["agent_user_id"] == AGENT_ID and recorded["args"][0]["agent"] == "agent@demo"
    assert recorded["context"]["tenant_id"] == DEMO_TENANT["id"] and "user_id" not in recorded["context"]
    pop = response.get_json()
    assert pop["call"]["state"] == "answered" and pop["call"]["agent_known"] is True
    assert pop["owners"] == [{"name": "周女士", "phone_masked": "138****5678", "unit": "1栋101", "estate": "DEMO-RES",
                              "estate_name": "锦绣花园", "complaints": 3,
                              "last_complaint_at": "2026-12-01T02:00:00+00:00"}]
    assert "13812345678" not in str(pop["owners"]) and "zhou@example.com" not in response.get_data(as_text=True)
    assert [c["id"] for c in pop["open_complaints"]] == [OPEN_ID]
    assert [c["id"] for c in pop["recent_complaints"]] == [DONE_ID]  # finished over 90 days ago: left out
    assert pop["open_complaints"][0]["url"].endswith(f"/complaints/{OPEN_ID}")
    assert pop["record_url"].endswith("/complaints/new?call=pbx-42")


@pytest.mark.parametrize("agent", ["hq@other", "nobody@demo", "agent @demo"])
def test_cti_agent_outside_the_tenant_or_unknown_is_not_mapped(cti, fake_rpc, agent):
    assert post_event(cti, event="answered", agent=agent).status_code == 200
    assert fake_rpc.calls[0]["args"][0]["agent_user_id"] is None


def test_console_lookup_is_for_logged_in_agents_and_scoped_by_intake(client, fake_rpc):
    fake_rpc.reply("intake", "lookup_caller", LOOKUP)
    fake_rpc.reply("workflow", "list_cases", CASES)
    assert client.get("/complaints/lookup?phone=13812345678").status_code == 401
    assert console_login(client, "hq@demo").status_code == 302
    assert client.get("/complaints/lookup?phone=13812345678").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert console_login(client).status_code == 302
    response = client.get("/complaints/lookup?phone=13812345678&estate=DEMO-RES")
    assert response.status_code == 200
    data = response.get_json()
    assert data["owners"][0]["phone"] == "13812345678"  # the agent holds DEMO-RES: full contact
    assert [c["id"] for c in data["open"]] == [OPEN_ID] and data["open"][0]["status_label"]
    lookup = [c for c in fake_rpc.calls if c["method"] == "lookup_caller"][0]
    assert lookup["kwargs"] == {"phone": "13812345678", "unit": None, "estate": "DEMO-RES"}
    assert lookup["context"]["user_id"] == AGENT_ID and lookup["context"]["roles"]


def test_console_lookup_masks_owners_outside_the_agents_contact_estates(client, fake_rpc):
    elsewhere = dict(LOOKUP, owners=[LOOKUP["owners"][0] | {"estate": "DEMO-NEW"}])
    fake_rpc.reply("intake", "lookup_caller", elsewhere)
    fake_rpc.reply("workflow", "list_cases", CASES)
    console_login(client)
    owner = client.get("/complaints/lookup?unit=1栋101").get_json()["owners"][0]
    assert owner["phone"] == "138****5678" and owner["name"] == "周**" and owner["email"] == "z***@example.com"


def test_console_lookup_passes_intakes_validation_on(client, fake_rpc, remote_error):
    fake_rpc.reply("intake", "lookup_caller", remote_error("ValidationFailed", 422, "validation_failed", field="phone"))
    console_login(client)
    response = client.get("/complaints/lookup?phone=123")
    assert response.status_code == 422 and response.get_json()["details"] == {"field": "phone"}


ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": None}]


def test_form_opened_for_a_call_prefills_and_links_it(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "get_call", call())
    created = {"id": OPEN_ID, "reference": "TS20261203-AAAAAA"}
    fake_rpc.reply("intake", "register_complaint", created)
    console_login(client)
    page = client.get("/complaints/new?call=pbx-42").get_data(as_text=True)
    assert 'name="call" value="pbx-42"' in page and 'value="13812345678"' in page
    assert re.search(r'<option value="DEMO-RES" selected', page) and "id=\"caller-lookup\"" in page
    response = client.post("/complaints/new?call=pbx-42", data={
        "csrf_token": csrf_of(client, "/complaints/new"), "estate": "DEMO-RES", "channel": "hotline",
        "phone": "13812345678", "description": "电梯困人", "call": "pbx-42"})
    assert response.status_code == 302
    registered = [c for c in fake_rpc.calls if c["method"] == "register_complaint"][0]
    assert registered["args"][0]["call_id"] == "pbx-42" and registered["context"]["user_id"] == AGENT_ID


def test_form_for_an_unknown_or_foreign_call_is_404(client, fake_rpc, remote_error):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "get_call", remote_error("CallNotFound", 404, "call_not_found", field="call_id"))
    console_login(client)
    assert client.get("/complaints/new?call=pbx-elsewhere").status_code == 404


def test_home_and_panel_show_the_calls_waiting(client, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    fake_rpc.reply("intake", "list_calls", [call(state="answered", agent_user_id=AGENT_ID)])
    console_login(client)
    home = client.get("/").get_data(as_text=True)
    assert 'id="calls-panel" data-url="/calls/panel"' in home  # filled by console.js: no extra call here
    assert [c["method"] for c in fake_rpc.calls] == ["list_complaints"]
    panel = client.get("/calls/panel").get_data(as_text=True)
    assert "+8613812345678" in panel and "/complaints/new?call=pbx-42" in panel and "客服专员 张" in panel
    fake_rpc.reply("intake", "list_calls", KeyError("intake without list_calls"))
    assert client.get("/calls/panel").get_data(as_text=True).strip() == ""  # left out, never a broken page
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    console_login(client, "hq@demo", DEMO_PASSWORD)
    assert client.get("/calls/panel").status_code == 403
