"""The complaint list filtered by the case's status, on the running system: a case moved by an agent shows up
under 处理中 (in_progress) and then 已解决 (resolved), in the API and on the console's /complaints page, with
totals and pages computed by intake's query (intake keeps the status from workflow's events: intake.case_status).
"""
import pytest
import requests

from .conftest import console_session, wait_for

pytestmark = pytest.mark.e2e


def console(system, username="supervisor@demo") -> requests.Session:
    return console_session(system, username)


def listed(system, headers, **params) -> dict:
    r = requests.get(f"{system.api}/complaints", params=params, headers=headers, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()


def references(system, headers, status) -> list[str]:
    return [i["reference"] for i in listed(system, headers, status=status, limit=200)["items"]]


def test_filtering_by_case_status_follows_the_case(system, complaint_body):
    headers = system.headers()
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate",
                                                                           description="7栋地库排水沟堵塞，积水发臭"),
                            headers=headers, timeout=15).json()
    ref, url = created["reference"], f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=headers, timeout=15).json().get("case"), what="case opened")
    opened = requests.get(url, headers=headers, timeout=15)
    first = opened.json()["status"]  # open, or assigned when a routing rule took it at once
    wait_for(lambda: ref in references(system, headers, first), what=f"listed as {first}")
    assert ref not in references(system, headers, "received") + references(system, headers, "in_progress")

    progress = requests.post(f"{url}/actions", json={"action": "progress", "note": "已安排疏通，明早完成"},
                             headers=headers | {"If-Match": opened.headers["ETag"]}, timeout=15)
    assert progress.status_code == 200 and progress.json()["status"] == "in_progress", progress.text
    wait_for(lambda: ref in references(system, headers, "in_progress"), what="listed as in_progress")
    assert ref not in references(system, headers, first)
    [item] = [i for i in listed(system, headers, status="in_progress", limit=200)["items"] if i["reference"] == ref]
    assert item["status"] == "in_progress"

    supervisor = console(system)
    page = supervisor.get(f"{system.base_url}/complaints", params={"status": "in_progress"}, timeout=15).text
    assert ref in page and '<option value="in_progress" selected>处理中</option>' in page
    assert '<span class="badge status-in_progress">处理中</span>' in page
    assert ref not in supervisor.get(f"{system.base_url}/complaints", params={"status": "resolved"}, timeout=15).text

    resolved = requests.post(f"{url}/actions", json={"action": "resolve", "cause": "facility_fault",
                                                     "remedy": "疏通排水沟并清理淤泥"},
                             headers=headers | {"If-Match": progress.headers["ETag"]}, timeout=15)
    assert resolved.status_code == 200, resolved.text
    wait_for(lambda: ref in supervisor.get(f"{system.base_url}/complaints", params={"status": "resolved"},
                                           timeout=15).text, what="console lists it as resolved")
    page = supervisor.get(f"{system.base_url}/complaints", params={"status": "in_progress"}, timeout=15).text
    assert ref not in page

    # totals and pages come from the same filtered query: one row a page walks every resolved complaint once
    everything = listed(system, headers, status="resolved", limit=200)
    walked = [listed(system, headers, status="resolved", limit=1, offset=n)["items"][0]["reference"]
              for n in range(everything["total"])]
    assert walked == [i["reference"] for i in everything["items"]] and ref in walked
    by_status = [i["status"] for i in listed(system, headers, sort="status", order="asc", limit=200)["items"]]
    order = ["received", "open", "assigned", "contacted", "in_progress", "deferred", "resolved", "callback",
             "closed", "cancelled"]
    assert by_status == sorted(by_status, key=order.index)

    refused = requests.get(f"{system.api}/complaints", params={"status": "finished"},
                           headers=headers | {"Accept-Language": "en"}, timeout=15)
    body = refused.json()
    assert refused.status_code == 400 and body["error"] == "invalid_filter" and body["details"]["field"] == "status"
    assert body["details"]["allowed"] == order
