"""Classification endpoints with a fake intake: roles, validation before any RPC, errors mapped from intake."""
import uuid

import pytest

from estatedesk_common.demo import DEMO_TENANT

SUGGESTION = {"category": "facilities_equipment", "severity": "major",
              "categories": [{"category": "facilities_equipment", "score": 0.9, "name": "设施设备"},
                             {"category": "security", "score": 0.06, "name": "安全保障"},
                             {"category": "customer_service", "score": 0.04, "name": "客户服务"}],
              "severity_scores": {"minor": 0.1, "moderate": 0.3, "major": 0.6},
              "matched_keywords": [{"keyword": "困人", "category": "facilities_equipment", "weight": 3.0}],
              "urgency_hints": ["困人"]}


def corrected(complaint_id, category, severity):
    return {"id": complaint_id, "reference": "TS20261124-7KQ2MX", "category": category, "severity": severity,
            "category_source": "agent", "severity_source": "agent" if severity else "auto",
            "previous": {"category": "sanitation", "severity": "minor", "category_source": "auto",
                         "severity_source": "auto"}}


def test_suggest_passes_the_stripped_text_with_the_callers_tenant(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "suggest_classification", SUGGESTION)
    response = client.post("/api/v1/classification/suggest", json={"text": "  电梯困人了  "}, headers=auth_headers)
    assert response.status_code == 200
    assert response.get_json() == SUGGESTION
    (call,) = fake_rpc.calls
    assert (call["service"], call["method"], call["args"]) == ("intake", "suggest_classification", ("电梯困人了",))
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"]


@pytest.mark.parametrize("body, field", [({}, "text"), ({"text": "   "}, "text"), ({"text": "x" * 5001}, "text"),
                                         ({"text": 5}, "text")])
def test_suggest_validates_before_calling_intake(client, auth_headers, fake_rpc, body, field):
    response = client.post("/api/v1/classification/suggest", json=body, headers=auth_headers)
    assert response.status_code == 422
    assert response.get_json()["details"]["field"] == field
    assert fake_rpc.calls == []


@pytest.mark.parametrize("roles, status", [
    ((("head_office", None),), 200), ((("cs_supervisor", "DEMO-RES"),), 200), ((("committee", "DEMO-RES"),), 403),
    ((), 403)])
def test_suggest_is_for_staff(client, bearer, fake_rpc, roles, status):
    fake_rpc.reply("intake", "suggest_classification", SUGGESTION)
    response = client.post("/api/v1/classification/suggest", json={"text": "电梯坏了"}, headers=bearer(roles=roles))
    assert response.status_code == status


def test_suggest_needs_a_token(client, fake_rpc):
    assert client.post("/api/v1/classification/suggest", json={"text": "电梯坏了"}).status_code == 401
    assert fake_rpc.calls == []


def test_correction_calls_intake_with_category_and_severity(client, auth_headers, fake_rpc):
    cid = str(uuid.uuid4())
    fake_rpc.reply("intake", "correct_classification", corrected)
    response = client.post(f"/api/v1/complaints/{cid}/classification",
                           json={"category": " security ", "severity": "moderate"}, headers=auth_headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["category"] == "security"
    (call,) = fake_rpc.calls
    assert call["method"] == "correct_classification" and call["args"] == (cid, "security", "moderate")


def test_correction_severity_is_optional(client, auth_headers, fake_rpc):
    cid = str(uuid.uuid4())
    fake_rpc.reply("intake", "correct_classification", corrected)
    response = client.post(f"/api/v1/complaints/{cid}/classification", json={"category": "security"},
                           headers=auth_headers)
    assert response.status_code == 200
    assert fake_rpc.calls[0]["args"] == (cid, "security", None)
    assert response.get_json()["severity_source"] == "auto"


@pytest.mark.parametrize("body, field", [({}, "category"), ({"category": ""}, "category"),
                                         ({"category": "c" * 41}, "category"),
                                         ({"category": "security", "severity": ""}, "severity")])
def test_correction_validates_before_calling_intake(client, auth_headers, fake_rpc, body, field):
    response = client.post(f"/api/v1/complaints/{uuid.uuid4()}/classification", json=body, headers=auth_headers)
    assert response.status_code == 422
    assert response.get_json()["details"]["field"] == field
    assert fake_rpc.calls == []


@pytest.mark.parametrize("role, status", [("agent", 200), ("cs_supervisor", 200), ("site_manager", 200),
                                          ("group_admin", 200), ("head_office", 403)])
def test_correction_roles(client, bearer, fake_rpc, role, status):
    fake_rpc.reply("intake", "correct_classification", corrected)
    response = client.post(f"/api/v1/complaints/{uuid.uuid4()}/classification", json={"category": "security"},
                           headers=bearer(roles=((role, None),)))
    assert response.status_code == status
    assert len(fake_rpc.calls) == (1 if status == 200 else 0)


def test_unknown_category_from_intake_is_422_naming_the_field(client, auth_headers, fake_rpc, remote_error):
    fake_rpc.reply("intake", "correct_classification",
                   remote_error("ValidationFailed", 422, "validation_failed", "unknown category 'lift'",
                                field="category"))
    response = client.post(f"/api/v1/complaints/{uuid.uuid4()}/classification", json={"category": "lift"},
                           headers=auth_headers)
    assert response.status_code == 422
    assert response.get_json()["details"] == {"field": "category"}


def test_another_tenants_complaint_is_404(client, auth_headers, fake_rpc, remote_error):
    fake_rpc.reply("intake", "correct_classification",
                   remote_error("NotFound", 404, "complaint_not_found", field="id"))
    response = client.post(f"/api/v1/complaints/{uuid.uuid4()}/classification", json={"category": "security"},
                           headers=auth_headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == "complaint_not_found"


def test_malformed_id_is_404_without_calling_intake(client, auth_headers, fake_rpc):
    response = client.post("/api/v1/complaints/not-an-id/classification", json={"category": "security"},
                           headers=auth_headers)
    assert response.status_code == 404
    assert fake_rpc.calls == []
