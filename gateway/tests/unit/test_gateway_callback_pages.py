"""Callbacks (回访) through the gateway with a fake RPC: the API (shape checks, 422 naming fields, remote errors),
the console queue with claim and log-attempt forms, the case page's panel and the owner's survey page."""
import uuid

from estatedesk_common.demo import DEMO_TENANT

from test_gateway_console_pages import CSRF, _case_page, console_login, csrf_of  # noqa: F401

CID = str(uuid.uuid4())


def callback(**over):
    row = {"id": str(uuid.uuid4()), "complaint_id": CID, "reference": "TS20261124-7KQ2MX", "estate": "DEMO-RES",
           "resolved_by": "someone-else", "resolved_at": "2026-11-24T05:00:00+00:00", "round": 1, "status": "open",
           "attempts": 0, "due_at": "2026-11-25T05:00:00+00:00", "next_attempt_at": None, "claimed_by": None,
           "claimed_at": None, "outcome": None, "satisfaction": None, "words": None, "valid": None, "solved": None,
           "completed_by": None, "completed_at": None, "survey_sent_at": None, "created_at": "2026-11-24T05:00:00+00:00"}
    return row | over


def page(items):
    return {"items": items, "total": len(items), "limit": 100, "offset": 0}


# ---- API -----------------------------------------------------------------------------------------------------

def test_gateway_callback_api_lists_with_filters(client, auth_headers, fake_rpc):
    fake_rpc.reply("notify", "list_callbacks", page([callback()]))
    r = client.get("/api/v1/callbacks?status=open&estate=DEMO-RES&limit=10", headers=auth_headers)
    assert r.status_code == 200 and r.get_json()["total"] == 1
    call = fake_rpc.calls[-1]
    assert call["args"] == ("DEMO-RES", "open", 10, 0, None)
    assert ["agent", "DEMO-RES"] in call["context"]["roles"] and call["context"]["user_id"]
    r = client.get("/api/v1/callbacks?status=lost", headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "status"
    r = client.get("/api/v1/callbacks?limit=0", headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "limit"


def test_gateway_callback_api_needs_a_staff_token(client):
    assert client.get("/api/v1/callbacks").status_code == 401


def test_gateway_callback_api_claim_passes_remote_refusals(client, auth_headers, fake_rpc, remote_error):
    cb = callback()
    fake_rpc.reply("notify", "claim_callback", remote_error("ResolverCannotClaim", 403, "resolver_cannot_claim",
                                                            field="id"))
    r = client.post(f"/api/v1/callbacks/{cb['id']}/claim", headers=auth_headers)
    assert r.status_code == 403 and r.get_json()["error"] == "resolver_cannot_claim"
    assert "不能回访" in r.get_json()["message"]
    fake_rpc.reply("notify", "claim_callback", callback(status="claimed", claimed_by="me"))
    r = client.post(f"/api/v1/callbacks/{cb['id']}/claim", headers=auth_headers)
    assert r.status_code == 200 and fake_rpc.calls[-1]["args"] == (cb["id"],)
    assert client.post("/api/v1/callbacks/not-a-uuid/claim", headers=auth_headers).status_code == 404


def test_gateway_callback_api_attempt_is_validated_and_forwarded(client, auth_headers, fake_rpc):
    cb_id = str(uuid.uuid4())
    url = f"/api/v1/callbacks/{cb_id}/attempts"
    r = client.post(url, json={"outcome": "hung_up"}, headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "outcome"
    r = client.post(url, json={"outcome": "reached"}, headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "satisfaction"
    r = client.post(url, json={"outcome": "reached", "satisfaction": "satisfied", "valid": "yes"}, headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "valid"
    r = client.post(url, json={"outcome": "reached", "satisfaction": "ok"}, headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "satisfaction"
    fake_rpc.reply("notify", "log_callback_attempt", callback(id=cb_id, status="done", satisfaction="dissatisfied"))
    r = client.post(url, json={"outcome": "reached", "satisfaction": "dissatisfied", "words": "还在漏水",
                               "solved": False}, headers=auth_headers)
    assert r.status_code == 200
    assert fake_rpc.calls[-1]["args"] == (cb_id, "reached", "dissatisfied", "还在漏水", None, False)


# ---- console -------------------------------------------------------------------------------------------------

def _login(client, username="supervisor@demo"):
    assert console_login(client, username=username).status_code == 302
    return client


def test_gateway_callback_queue_page_lists_and_links_from_nav(client, fake_rpc):
    _login(client)
    me = client.get("/").get_data(as_text=True)
    fake_rpc.reply("notify", "list_callbacks", page([callback(), callback(resolved_by=None, status="claimed",
                                                                          claimed_by="x")]))
    html = client.get("/callbacks").get_data(as_text=True)
    assert "回访队列" in html and "TS20261124-7KQ2MX" in html and "领取" in html and "已由同事领取" in html
    assert 'href="/callbacks"' in me or 'href="/callbacks"' in html


def test_gateway_callback_claim_and_attempt_forms_need_csrf_and_validate_in_chinese(client, fake_rpc):
    _login(client)
    fake_rpc.reply("notify", "list_callbacks", page([callback()]))
    cb_id = str(uuid.uuid4())
    assert client.post(f"/callbacks/{cb_id}/claim").status_code == 400  # no CSRF token
    token = csrf_of(client, "/callbacks")
    fake_rpc.reply("notify", "claim_callback", callback(id=cb_id, status="claimed"))
    r = client.post(f"/callbacks/{cb_id}/claim", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/callbacks"
    r = client.post(f"/callbacks/{cb_id}/attempts", data={"csrf_token": token, "outcome": "reached"})
    assert r.status_code == 422 and "请选择业主的满意度" in r.get_data(as_text=True)
    fake_rpc.reply("notify", "log_callback_attempt", callback(id=cb_id, status="claimed", attempts=1))
    r = client.post(f"/callbacks/{cb_id}/attempts", data={"csrf_token": token, "outcome": "no_answer",
                                                          "satisfaction": "satisfied", "valid": "yes"})
    assert r.status_code == 302
    assert fake_rpc.calls[-1]["args"] == (cb_id, "no_answer", None, None, True, None)  # no satisfaction unless reached


def test_gateway_callback_resolver_refusal_shows_a_chinese_message(client, fake_rpc, remote_error):
    _login(client)
    fake_rpc.reply("notify", "list_callbacks", page([callback()]))
    token = csrf_of(client, "/callbacks")
    fake_rpc.reply("notify", "claim_callback", remote_error("ResolverCannotClaim", 403, "resolver_cannot_claim"))
    r = client.post(f"/callbacks/{uuid.uuid4()}/claim", data={"csrf_token": token})
    assert r.status_code == 409 and "须由其他同事回访" in r.get_data(as_text=True)


def test_gateway_callback_panel_on_the_case_page(client, fake_rpc):
    import datetime as dt
    fake_rpc.reply("notify", "list_callbacks", page([callback(status="done", satisfaction="dissatisfied",
                                                              words="电梯还响")]))
    html = _case_page(lambda: _login(client), fake_rpc, due_in=dt.timedelta(minutes=30))
    assert 'id="callback-panel"' in html and "不满意" in html and "电梯还响" in html
    [panel] = [c for c in fake_rpc.calls if c["method"] == "list_callbacks"]
    assert panel["args"][4]  # filtered by the complaint


def test_gateway_callback_panel_absent_when_notify_fails(client, fake_rpc):
    import datetime as dt
    html = _case_page(lambda: _login(client), fake_rpc, due_in=dt.timedelta(minutes=30))  # no fake reply: error
    assert 'id="callback-panel"' not in html and "TS20261124-7KQ2MX" in html


# ---- owner survey --------------------------------------------------------------------------------------------

TOKEN = "t" * 32


def test_gateway_callback_survey_page_by_slug_and_by_tenant_id(client, fake_rpc):
    fake_rpc.reply("notify", "get_survey", {"reference": "TS20261124-7KQ2MX",
                                            "satisfactions": ["very_satisfied", "satisfied", "neutral", "dissatisfied"]})
    for key in ("demo", DEMO_TENANT["id"]):
        r = client.get(f"/t/{key}/survey/{TOKEN}")
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and "TS20261124-7KQ2MX" in html and 'name="viewport"' in html
        assert fake_rpc.calls[-1]["context"]["tenant_id"] == DEMO_TENANT["id"]
        assert "user_id" not in fake_rpc.calls[-1]["context"]
    assert client.get(f"/t/nobody/survey/{TOKEN}").status_code == 404


def test_gateway_callback_survey_answer_validates_then_records_once(client, fake_rpc, remote_error):
    fake_rpc.reply("notify", "get_survey", {"reference": "TS20261124-7KQ2MX", "satisfactions": ["satisfied"]})
    url = f"/t/demo/survey/{TOKEN}"
    token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)
    r = client.post(url, data={"csrf_token": token, "satisfaction": "great"})
    assert r.status_code == 422 and "请选择您的满意度" in r.get_data(as_text=True)
    fake_rpc.reply("notify", "answer_survey", {"reference": "TS20261124-7KQ2MX", "status": "done"})
    r = client.post(url, data={"csrf_token": token, "satisfaction": "satisfied", "words": " 谢谢 "})
    assert r.status_code == 200 and 'id="survey-done"' in r.get_data(as_text=True)
    assert fake_rpc.calls[-1]["args"] == (TOKEN, "satisfied", "谢谢")
    fake_rpc.reply("notify", "get_survey", remote_error("SurveyNotFound", 404, "survey_not_found"))
    r = client.get(url)
    assert r.status_code == 404 and "问卷链接无效或已提交" in r.get_data(as_text=True)


def test_gateway_callback_survey_post_is_rate_limited(client, fake_rpc):
    fake_rpc.reply("notify", "get_survey", {"reference": "R", "satisfactions": ["satisfied"]})
    url = f"/t/demo/survey/{TOKEN}"
    token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)
    codes = [client.post(url, data={"csrf_token": token}).status_code for _ in range(12)]
    assert codes[0] == 422 and codes[-1] == 429
