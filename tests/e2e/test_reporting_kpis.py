"""Head office's KPIs follow a case's life on the running system: a complaint is opened, the agent records the
contact and resolves it, a colleague's callback finds the owner satisfied -> /reports/kpis shows first contact,
resolution within the limit, handling time, callback coverage and satisfaction, and the drill-down lists the
case behind each figure (reporting consumes the events asynchronously: poll briefly)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def _act(url, headers, action, **data):
    current = requests.get(url, headers=headers, timeout=15)
    done = requests.post(f"{url}/actions", json={"action": action, **data},
                         headers=headers | {"If-Match": current.headers["ETag"]}, timeout=15)
    assert done.status_code == 200, done.text
    return done.json()


def _period() -> dict:
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return {"from": (today - dt.timedelta(days=1)).isoformat(), "to": (today + dt.timedelta(days=1)).isoformat(),
            "estate": "DEMO-RES"}


def _ids(system, headers, metric):
    body = requests.get(f"{system.api}/reports/drilldown", params=_period() | {"metric": metric, "limit": 500},
                        headers=headers, timeout=15)
    assert body.status_code == 200, body.text
    return {item["complaint_id"] for item in body.json()["items"]}


def test_kpis_follow_contact_resolution_and_callback(system, complaint_body):
    agent, supervisor, hq = system.headers(), system.headers("supervisor@demo"), system.headers("hq@demo")
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate"), headers=agent,
                            timeout=15).json()
    cid = created["id"]
    url = f"{system.api}/complaints/{cid}"
    wait_for(lambda: requests.get(url, headers=agent, timeout=15).json().get("case"), what="case opened")
    _act(url, agent, "contact", note="已电话联系业主")
    _act(url, agent, "resolve", cause="facility_fault", remedy="电梯已修复")

    [callback] = wait_for(lambda: requests.get(f"{system.api}/callbacks", params={"complaint_id": cid},
                                               headers=supervisor, timeout=15).json()["items"], what="callback")
    logged = requests.post(f"{system.api}/callbacks/{callback['id']}/attempts",
                           json={"outcome": "reached", "satisfaction": "satisfied", "words": "很满意"},
                           headers=supervisor, timeout=15)
    assert logged.status_code == 200, logged.text

    wait_for(lambda: cid in _ids(system, hq, "satisfied"), what="reporting saw the callback")
    for metric in ("first_contact_on_time", "resolved", "resolved_on_time", "called_back", "received"):
        assert cid in _ids(system, hq, metric), metric
    for metric in ("resolved_late", "not_called_back", "dissatisfied", "reopened", "first_contact_by_proxy"):
        assert cid not in _ids(system, hq, metric), metric

    kpis = requests.get(f"{system.api}/reports/kpis", params=_period(), headers=hq, timeout=15)
    assert kpis.status_code == 200, kpis.text
    k = kpis.json()
    assert k["resolution"]["resolved"] >= 1 and k["resolution"]["on_time"] >= 1
    for figure in ("first_contact_on_time_pct", "resolved_within_limit_pct", "handling_hours_avg",
                   "handling_hours_p90", "callback_coverage_pct", "satisfaction_pct", "reopen_rate_pct"):
        assert isinstance(k[figure], (int, float)), figure
    assert 0 < k["callback_coverage_pct"] <= 100 and 0 < k["satisfaction_pct"] <= 100
    assert [r["level"] for r in k["escalations_by_level"]] == [1, 2, 3]
    assert isinstance(k["capa_open"], int) and "capa_open" not in k["notes"]
    assert k["units"] == 8 and k["per_1000_units"] == round(1000.0 * k["received"] / 8, 2)  # DEMO-RES: 8 units

    drill = requests.get(f"{system.api}/reports/drilldown", params=_period() | {"metric": "resolved_on_time"},
                         headers=hq, timeout=15).json()
    item = next(i for i in drill["items"] if i["complaint_id"] == cid)
    assert item["resolution_status"] == "on_time" and item["satisfaction"] == "satisfied"
    assert item["handling_hours"] is not None and item["contacted_at"] is not None
    # another tenant's head office sees none of it
    other = requests.get(f"{system.api}/reports/drilldown", params=_period() | {"metric": "resolved"},
                         headers=system.headers("hq@other"), timeout=15)
    assert other.status_code == 404 or cid not in {i["complaint_id"] for i in other.json()["items"]}
