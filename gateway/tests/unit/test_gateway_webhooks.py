"""/api/v1/webhooks: group admins only, bodies checked before notify is called, ids that are not ids are 404."""
import uuid

import pytest

HOOK = {"id": str(uuid.uuid4()), "url": "https://hooks.example.com/x", "events": ["case_opened"], "description": "",
        "active": True, "created_at": "2026-12-03T12:00:00+00:00"}
ADMIN = (("group_admin", None),)


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("notify", "create_webhook", lambda data: HOOK | {"secret": "whsec_once"})
    fake_rpc.reply("notify", "list_webhooks", [HOOK])
    fake_rpc.reply("notify", "delete_webhook", lambda i: {"id": i, "active": False})
    fake_rpc.reply("notify", "list_webhook_deliveries", lambda i: [])
    fake_rpc.reply("notify", "redeliver_webhook", lambda i: {"id": i, "status": "pending"})
    return fake_rpc


def test_an_admin_creates_lists_deletes_and_redelivers(client, bearer, rpc):
    h = bearer(roles=ADMIN)
    r = client.post("/api/v1/webhooks", json={"url": " https://hooks.example.com/x ", "events": ["case_opened"]},
                    headers=h)
    assert r.status_code == 201 and r.json["secret"] == "whsec_once" and r.headers["Cache-Control"] == "no-store"
    call = rpc.calls[-1]
    assert call["args"][0] == {"url": "https://hooks.example.com/x", "events": ["case_opened"], "description": ""}
    assert call["context"]["roles"] == [["group_admin", None]]
    assert client.get("/api/v1/webhooks", headers=h).json == {"items": [HOOK]}
    assert client.delete(f"/api/v1/webhooks/{HOOK['id']}", headers=h).json["active"] is False
    assert client.get(f"/api/v1/webhooks/{HOOK['id']}/deliveries", headers=h).json == {"items": []}
    delivery = str(uuid.uuid4())
    assert client.post(f"/api/v1/webhooks/deliveries/{delivery}/redeliver", headers=h).json["status"] == "pending"


@pytest.mark.parametrize("roles", [(("head_office", None),), (("site_manager", "DEMO-RES"),), (("agent", None),)])
def test_other_roles_are_refused_without_calling_notify(client, bearer, rpc, roles):
    assert client.get("/api/v1/webhooks", headers=bearer(roles=roles)).status_code == 403
    assert client.post("/api/v1/webhooks", json={"url": "https://x.example"}, headers=bearer(roles=roles)).status_code == 403
    assert rpc.calls == []


@pytest.mark.parametrize("body, field", [({}, "url"), ({"url": ""}, "url"), ({"url": "https://x", "events": ["nope"]},
                                                                              "events"),
                                         ({"url": "https://x", "description": "x" * 201}, "description")])
def test_bad_bodies_are_422_naming_the_field(client, bearer, rpc, body, field):
    r = client.post("/api/v1/webhooks", json=body, headers=bearer(roles=ADMIN))
    assert r.status_code == 422 and r.json["details"]["field"] == field and rpc.calls == []


def test_ids_that_are_not_uuids_are_404(client, bearer, rpc):
    h = bearer(roles=ADMIN)
    assert client.delete("/api/v1/webhooks/nope", headers=h).status_code == 404
    assert client.get("/api/v1/webhooks/1/deliveries", headers=h).json["error"] == "webhook_not_found"
    assert rpc.calls == []
