"""POST /api/v1/complaints/<id>/actions: If-Match required, version passed to workflow, ETag back."""
import uuid

from nameko.exceptions import RemoteError

from estatedesk_common.errors import Conflict


def test_action_needs_if_match_and_passes_the_version(client, auth_headers, fake_rpc):
    cid = str(uuid.uuid4())
    url = f"/api/v1/complaints/{cid}/actions"
    fake_rpc.reply("workflow", "get_case", {"estate": "DEMO-RES", "version": 3})
    r = client.post(url, json={"action": "contact"}, headers=auth_headers)
    assert r.status_code == 428 and r.get_json()["error"] == "precondition_required"
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "contacted", "version": 4,
                                       "stages_met": ["first_contact"]})
    r = client.post(url, json={"action": "contact", "note": "已致电"}, headers=auth_headers | {"If-Match": '"3"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"4"'
    call = fake_rpc.calls[-1]
    assert call["method"] == "act" and call["args"] == (cid, "contact", {"note": "已致电"}, 3)


def test_stale_version_is_409_and_unknown_action_422(client, auth_headers, fake_rpc):
    cid = str(uuid.uuid4())
    url = f"/api/v1/complaints/{cid}/actions"
    fake_rpc.reply("workflow", "get_case", {"estate": "DEMO-RES", "version": 3})
    fake_rpc.reply("workflow", "act", RemoteError(
        "VersionConflict", str(Conflict("changed", field="version", code="version_conflict"))))
    r = client.post(url, json={"action": "assign", "assignee": "工程部"}, headers=auth_headers | {"If-Match": "1"})
    assert r.status_code == 409 and r.get_json()["error"] == "version_conflict"
    r = client.post(url, json={"action": "teleport"}, headers=auth_headers | {"If-Match": "1"})
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "action"
