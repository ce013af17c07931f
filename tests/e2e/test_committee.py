"""The residents' committee channel and head-office forwards, end to end over HTTP (issue 4, channels 5 and 7).

committee@demo (role committee_member on DEMO-RES) forwards one complaint on the console page and sheets by
upload: a CSV with one broken row imports nothing and lists the problem; a good XLSX imports every row; a sheet's
building column is checked against the estate's directory (row and column of an unknown one listed). What it
forwarded is listed with workflow's status, and the 2-hour committee clock shows on the case's deadlines
(counted from when the owner told the committee; recorded 3 hours later, so met late and breached). An agent
records a complaint forwarded by head office with the superior and their instructions; when the owner accepts
the resolution, the superior's report lands in the mail sink.
"""
import datetime as dt
import io
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import Workbook

from .conftest import console_session, wait_for

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = ["业主姓名", "联系电话", "房号", "投诉内容", "业主反映时间", "是否紧急"]


def console(system, username="committee@demo") -> requests.Session:
    return console_session(system, username)


def csrf(session, url) -> str:
    return CSRF.search(session.get(url, timeout=15).text).group(1)


def upload(system, session, content: bytes, filename: str):
    url = f"{system.base_url}/committee/batch"
    return session.post(url, data={"csrf_token": csrf(session, url)}, files={"file": (filename, content)}, timeout=90)


def forwarded(system, headers) -> dict:
    return requests.get(f"{system.api}/committee/complaints", params={"limit": 200}, headers=headers, timeout=15).json()


def tag() -> str:
    return uuid.uuid4().hex[:8]


def test_committee_forwards_singly_and_by_sheet_and_sees_the_status(system):
    session, headers = console(system), system.headers("committee@demo")
    before = forwarded(system, headers)["total"]
    reported = (dt.datetime.now(SHANGHAI) - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    single = f"3栋楼道堆放杂物无人清理 {tag()}"
    url = f"{system.base_url}/committee/new"
    answer = session.post(url, data={"csrf_token": csrf(session, url), "name": "刘先生", "phone": "13800138001",
                                     "unit": "1栋101", "description": single, "reported_at": reported},
                          allow_redirects=False, timeout=15)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/committee"), answer.text

    broken = "\r\n".join([",".join(HEADER), f"王女士,13800138002,1栋102,电梯异响 {tag()},,否",
                          f"赵先生,12345,2栋201,垃圾未清运 {tag()},,否"]) + "\r\n"
    refused = upload(system, session, b"\xef\xbb\xbf" + broken.encode("utf-8"), "broken.csv")
    assert refused.status_code == 422 and "未导入任何投诉" in refused.text
    assert re.search(r'data-row="3"><td>3</td><td>联系电话</td>', refused.text)
    assert forwarded(system, headers)["total"] == before + 1  # nothing of the broken file

    book = Workbook()
    book.active.append(HEADER)
    texts = [f"小区门禁失灵 {tag()}", f"绿化带长期无人修剪 {tag()}"]
    book.active.append(["孙女士", 13800138003, "2栋202", texts[0], None, "否"])
    an_hour_ago = dt.datetime.now(SHANGHAI).replace(tzinfo=None) - dt.timedelta(hours=1)  # a date-time cell
    book.active.append(["周先生", "13800138004", "1栋201", texts[1], an_hour_ago, "是"])
    buffer = io.BytesIO()
    book.save(buffer)
    imported = upload(system, session, buffer.getvalue(), "good.xlsx")
    assert imported.status_code == 201 and "已导入 2 条投诉" in imported.text, imported.text[-2000:]
    again = upload(system, session, buffer.getvalue(), "good.xlsx")
    assert again.status_code == 422 and "该文件已导入过" in again.text
    mine = forwarded(system, headers)
    assert mine["total"] == before + 3 and all(i["channel"] == "committee" for i in mine["items"])

    page = session.get(f"{system.base_url}/committee", timeout=15)
    for item in mine["items"][:3]:
        assert item["reference"] in page.text
    newest = mine["items"][:3]
    wait_for(lambda: all(i["status"] == "open" for i in forwarded(system, headers)["items"][:3]), timeout=30,
             what="workflow's status on the forwarded list")
    assert "处理中" in session.get(f"{system.base_url}/committee", timeout=15).text

    # the 2-hour clock on the case of the single complaint (reported 3 h before it was recorded)
    first = next(i for i in newest if i["complainant_name"].startswith("刘"))
    staff = system.headers("supervisor@demo")
    view = requests.get(f"{system.api}/complaints/{first['id']}", headers=staff, timeout=15).json()
    clock = next(d for d in view["deadlines"] if d["stage"] == "committee_forward")
    due = dt.datetime.fromisoformat(clock["due_at"])
    assert due == dt.datetime.strptime(reported, "%Y-%m-%dT%H:%M").replace(tzinfo=SHANGHAI) + dt.timedelta(hours=2)
    assert clock["met_at"] and dt.datetime.fromisoformat(clock["met_at"]) > due
    assert "自业主向居委会/业委会反映" in clock["explanation"]
    assert any(e["kind"] == "sla_breached" and "居委会/业委会转达" in e["text"] for e in view["timeline"])
    assert view["committee_received_at"]
    case_page = console(system, "supervisor@demo").get(f"{system.base_url}/complaints/{first['id']}", timeout=15)
    assert 'data-stage="committee_forward"' in case_page.text and "逾期完成" in case_page.text


def test_a_sheet_with_location_columns_checks_the_building_against_the_estates_directory(system):
    """DEMO-RES registers 1栋 and 2栋: a row naming 9栋 refuses the sheet with its row and the 楼栋 column (the
    estate's buildings listed); fixed, the sheet imports and the complaints carry the building and facility."""
    session, headers = console(system), system.headers("committee@demo")
    before = forwarded(system, headers)["total"]
    header = ["业主姓名", "联系电话", "房号", "楼栋", "设施", "投诉内容"]
    texts = [f"电梯按钮失灵 {tag()}", f"车库积水 {tag()}", f"绿化带杂草 {tag()}"]
    rows = [["钱先生", "13800138021", "1栋101", "1栋", "电梯", texts[0]],
            ["郑女士", "13800138022", "2栋202", "9栋", "地下车库", texts[1]],
            ["冯先生", "13800138023", "2栋201", "", "", texts[2]]]

    def sheet(body) -> bytes:
        return ("\r\n".join(",".join(r) for r in [header, *body]) + "\r\n").encode("utf-8")
    refused = upload(system, session, sheet(rows), "places.csv")
    assert refused.status_code == 422 and "未导入任何投诉" in refused.text
    assert re.search(r'data-row="3"><td>3</td><td>楼栋</td><td>本项目没有这个楼栋，已登记的楼栋：1栋、2栋。', refused.text), \
        refused.text[-3000:]
    assert forwarded(system, headers)["total"] == before

    rows[1][3] = "2栋"
    imported = upload(system, session, sheet(rows), "places-fixed.csv")
    assert imported.status_code == 201 and "已导入 3 条投诉" in imported.text, imported.text[-2000:]
    mine = {(i["complainant_name"] or "")[:1]: i for i in forwarded(system, headers)["items"][:3]}  # names masked
    places = {name: requests.get(f"{system.api}/complaints/{mine[name]['id']}", headers=headers,
                                 timeout=15).json()["location"] for name in ("钱", "郑", "冯")}
    assert places["钱"]["building"] == "1栋" and places["钱"]["facility"] == "电梯"
    assert places["郑"]["building"] == "2栋" and places["郑"]["facility"] == "地下车库"
    assert places["冯"] is None


def test_committee_member_sees_no_staff_page_and_no_other_estate(system):
    session = console(system)
    for path in ("/complaints", "/queue", "/callbacks", "/complaints/new", "/escalations"):
        assert session.get(f"{system.base_url}{path}", allow_redirects=False, timeout=15).status_code == 403, path
    headers = system.headers("committee@demo")
    body = {"description": "写字楼空调", "complainant": {"phone": "13800138009"}, "estate": "DEMO-OFFICE"}
    other = requests.post(f"{system.api}/committee/complaints", json=body, headers=headers, timeout=15)
    assert other.status_code == 422 and other.json()["details"]["field"] == "estate"
    office = requests.post(f"{system.api}/complaints", headers=system.headers(), timeout=15, json={
        "estate": "DEMO-OFFICE", "description": f"A座电梯 {tag()}", "complainant": {"phone": "13800138010"}}).json()
    assert requests.get(f"{system.api}/complaints/{office['id']}", headers=headers, timeout=15).status_code == 404
    agent = console(system, "agent@demo")
    assert agent.get(f"{system.base_url}/committee", allow_redirects=False, timeout=15).status_code == 403


def test_head_office_forward_is_recorded_and_the_superior_told_when_closed(system):
    headers = system.headers()
    boss = f"boss-{tag()}@example.com"
    body = {"estate": "DEMO-RES", "channel": "head_office", "severity": "moderate",
            "description": f"集团转来：2栋业主反映地下车库漏水 {tag()}",
            "complainant": {"name": "吴女士", "phone": "13800138011"},
            "forwarded_by": {"name": "陈总", "title": "集团客服总监", "email": boss},
            "instructions": "请三日内处理完毕并回报"}
    created = requests.post(f"{system.api}/complaints", json=body, headers=headers, timeout=15)
    assert created.status_code == 201, created.text
    url = f"{system.api}/complaints/{created.json()['id']}"
    wait_for(lambda: requests.get(url, headers=headers, timeout=15).json().get("case"), what="case opened")
    view = requests.get(url, headers=headers, timeout=15)
    assert view.json()["forwarded_by"]["email"] == boss and view.json()["instructions"] == "请三日内处理完毕并回报"
    page = console(system, "agent@demo").get(f"{system.base_url}/complaints/{created.json()['id']}", timeout=15)
    assert "陈总" in page.text and "请三日内处理完毕并回报" in page.text

    def act(action_body, etag):
        answer = requests.post(f"{url}/actions", json=action_body, headers=headers | {"If-Match": etag}, timeout=15)
        assert answer.status_code == 200, answer.text
        return answer.headers["ETag"]

    etag = act({"action": "resolve", "cause": "facility_fault", "remedy": "更换车库顶板防水层"}, view.headers["ETag"])
    assert not [m for m in system.mails() if boss in str(m["To"])]  # resolved is not closed yet
    act({"action": "accept"}, etag)
    mail = wait_for(lambda: next((m for m in system.mails() if boss in str(m["To"])), None), timeout=30,
                    what="the superior's report in the mail sink")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert created.json()["reference"] in mail["Subject"] and "您转办的投诉已办结" in text
    assert "请三日内处理完毕并回报" in text and "业主验收通过" in text
