"""Committee pages and API (blueprints/console_committee.py, committee.py, committee_upload.py) with a fake RPC."""
import io
import re
import uuid

import pytest
from openpyxl import Workbook, load_workbook

from estatedesk_common.demo import DEMO_PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"},
           {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": "EAST"}]
HEADER = "业主姓名,联系电话,房号,投诉内容,业主反映时间,是否紧急\r\n"


def login(client, username="committee@demo"):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def csrf(client, path):
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def member(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    return login(client)


def upload(client, content: bytes, filename="sheet.csv"):
    token = csrf(client, "/committee/batch")
    return client.post("/committee/batch", data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def batch_calls(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "register_batch"]


def test_forwarded_list_is_mine_on_the_committee_channel_with_workflows_status(member, fake_rpc):
    cid = str(uuid.uuid4())
    fake_rpc.reply("intake", "list_complaints", {"total": 1, "items": [
        {"id": cid, "reference": "TS20261124-AAAAAA", "status": "received", "estate_code": "DEMO-RES",
         "estate_name": "锦绣花园", "channel": "committee", "category": None, "severity": None,
         "received_at": "2026-11-24T05:00:00+00:00", "complainant_name": "周女士"}]})
    fake_rpc.reply("workflow", "list_cases", {"total": 1, "items": [{"complaint_id": cid, "status": "assigned"}]})
    html = member.get("/committee").get_data(as_text=True)
    call = next(c for c in fake_rpc.calls if c["method"] == "list_complaints")
    assert call["kwargs"] == {"channel": "committee", "limit": 20, "offset": 0, "mine": True}
    assert call["context"]["roles"] == [["committee_member", "DEMO-RES"]]
    assert "我转达的投诉" in html and "TS20261124-AAAAAA" in html and "已派单" in html
    assert "周**" in html and "周女士" not in html  # privacy: a committee member sees masked contacts
    assert member.get("/").headers["Location"].endswith("/committee")


@pytest.mark.parametrize("path", ["/complaints", "/complaints/new", "/queue", "/callbacks", "/escalations",
                                  f"/complaints/{uuid.uuid4()}"])
def test_staff_pages_are_closed_to_the_committee(member, path):
    assert member.get(path).status_code == 403


def test_the_committee_pages_are_closed_to_staff(client, fake_rpc):
    login(client, "agent@demo")
    for path in ("/committee", "/committee/new", "/committee/batch", "/committee/template.csv"):
        assert client.get(path).status_code == 403


def test_one_complaint_goes_to_intake_on_the_committee_channel(member, fake_rpc):
    fake_rpc.reply("intake", "register_complaint", {"id": str(uuid.uuid4()), "reference": "TS20261124-BBBBBB"})
    token = csrf(member, "/committee/new")
    response = member.post("/committee/new", data={
        "csrf_token": token, "name": "刘先生", "phone": "13800138000", "unit": "1栋101", "description": "楼道堆放杂物",
        "reported_at": "2026-11-24T09:15"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/committee")
    data = next(c for c in fake_rpc.calls if c["method"] == "register_complaint")["args"][0]
    assert data["channel"] == "committee" and data["estate"] == "DEMO-RES"
    assert data["reported_at"] == "2026-11-24T09:15:00+08:00" and data["complainant"]["unit"] == "1栋101"


def test_intakes_refusal_of_the_reported_time_is_shown_on_the_field(member, fake_rpc, remote_error):
    fake_rpc.reply("intake", "register_complaint", remote_error("ValidationFailed", 422, "validation_failed",
                                                                "reported_at is in the future", field="reported_at"))
    token = csrf(member, "/committee/new")
    response = member.post("/committee/new", data={"csrf_token": token, "phone": "13800138000",
                                                   "description": "噪音", "reported_at": "2030-01-01T09:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="e-reported_at"' in html


def test_a_good_csv_with_bom_is_sent_as_one_batch(member, fake_rpc):
    fake_rpc.reply("intake", "register_batch", {"batch_id": "b1", "count": 2, "items": [
        {"row": 2, "id": "x", "reference": "TS20261124-CCCCC1"},
        {"row": 3, "id": "y", "reference": "TS20261124-CCCCC2"}]})
    body = HEADER + "刘先生,13800138000,1栋101,楼道堆放杂物,2026-11-24 09:15,否\r\n,13900139000,2栋202,电梯异响,,是\r\n"
    response = upload(member, b"\xef\xbb\xbf" + body.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and "已导入 2 条投诉" in html and "TS20261124-CCCCC2" in html
    [call] = batch_calls(fake_rpc)
    rows = call["args"][0]
    assert [r["row"] for r in rows] == [2, 3] and call["kwargs"]["validate_only"] is False
    assert rows[0]["data"] == {"estate": "DEMO-RES", "description": "楼道堆放杂物", "urgent": False,
                               "reported_at": "2026-11-24T09:15:00+08:00",
                               "complainant": {"name": "刘先生", "phone": "13800138000", "email": None, "unit": "1栋101"}}
    assert rows[1]["data"]["urgent"] is True and "reported_at" not in rows[1]["data"]
    assert len(call["kwargs"]["file_sha256"]) == 64 and call["timeout"] == 60


def test_gb18030_csv_and_xlsx_read_the_same(member, fake_rpc):
    fake_rpc.reply("intake", "register_batch", {"batch_id": "b", "count": 1, "items": []})
    upload(member, (HEADER + "王女士,13800138000,1栋102,垃圾未清运,,\r\n").encode("gb18030"))
    book = Workbook()
    book.active.append(["业主姓名", "联系电话", "房号", "投诉内容", "业主反映时间", "是否紧急"])
    book.active.append(["王女士", 13800138000, "1栋102", "垃圾未清运", None, "否"])
    buffer = io.BytesIO()
    book.save(buffer)
    upload(member, buffer.getvalue(), "sheet.xlsx")
    first, second = [c["args"][0] for c in batch_calls(fake_rpc)]
    assert first == second and first[0]["data"]["complainant"]["name"] == "王女士"
    assert first[0]["data"]["complainant"]["phone"] == "13800138000"


def test_row_errors_from_the_file_and_from_intake_are_listed_together_and_nothing_imported(member, fake_rpc,
                                                                                          remote_error):
    fake_rpc.reply("intake", "register_batch", remote_error(
        "ValidationFailed", 422, "validation_failed", "1 problem", field="rows", error_count=1,
        rows=[{"row": 2, "field": "complainant.phone", "message": "not a phone number"}]))
    body = HEADER + "刘,12345,1栋101,噪音,,否\r\n李,13800138000,1栋102,漏水,昨天,否\r\n"
    response = upload(member, body.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "未导入任何投诉" in html
    assert re.search(r'data-row="2"><td>2</td><td>联系电话</td>', html)
    assert re.search(r'data-row="3"><td>3</td><td>业主反映时间</td>', html)
    [call] = batch_calls(fake_rpc)
    assert call["kwargs"]["validate_only"] is True and [r["row"] for r in call["args"][0]] == [2]


@pytest.mark.parametrize("content, filename", [(b"", "a.csv"), (b"PK\x03\x04broken", "a.xlsx"),
                                               ("名字,内容\r\n张,x\r\n".encode(), "a.csv"),
                                               (b"x" * (1024 * 1024 + 10), "a.csv")])
def test_unreadable_files_are_refused_without_calling_intake(member, fake_rpc, content, filename):
    response = upload(member, content, filename)
    assert response.status_code in (413, 422) and batch_calls(fake_rpc) == []


def test_templates_have_chinese_headers(member):
    csv_body = member.get("/committee/template.csv").data
    assert csv_body.startswith(b"\xef\xbb\xbf") and "业主姓名,联系电话" in csv_body.decode("utf-8-sig")
    book = load_workbook(io.BytesIO(member.get("/committee/template.xlsx").data))
    assert [c.value for c in book.worksheets[0][1]][:6] == ["业主姓名", "联系电话", "电子邮箱", "房号", "楼栋", "设施"]
    notes = {row[0].value: row[1].value for row in book.worksheets[1].iter_rows()}
    assert "1栋" in notes["楼栋"] and "40" in notes["设施"]
    assert "楼栋,设施,投诉内容" in csv_body.decode("utf-8-sig")
    assert member.get("/committee/template.pdf").status_code == 404


def test_location_columns_in_chinese_or_english_become_the_complaints_location(member, fake_rpc):
    fake_rpc.reply("intake", "register_batch", {"batch_id": "b", "count": 2, "items": []})
    body = ("业主姓名,联系电话,房号,楼栋,设施,投诉内容\r\n"
            "刘先生,13800138000,1栋101, 1栋 ,电梯,电梯异响\r\n王女士,13900139000,2栋202,,,楼道堆放杂物\r\n")
    assert upload(member, body.encode("utf-8")).status_code == 201
    book = Workbook()
    book.active.append(["Owner name", "Phone", "Unit", "Building", "Facility", "Complaint"])
    book.active.append(["刘先生", 13800138000, "1栋101", "1栋", "电梯", "电梯异响"])
    book.active.append(["王女士", "13900139000", "2栋202", None, None, "楼道堆放杂物"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert upload(member, buffer.getvalue(), "sheet.xlsx").status_code == 201
    csv_rows, xlsx_rows = [c["args"][0] for c in batch_calls(fake_rpc)]
    assert csv_rows == xlsx_rows
    assert csv_rows[0]["data"]["location"] == {"building": "1栋", "facility": "电梯"}
    assert "location" not in csv_rows[1]["data"]  # neither given: no location (other / unknown)


def test_a_building_or_facility_too_long_is_a_row_error_of_its_column(member, fake_rpc, remote_error):
    fake_rpc.reply("intake", "register_batch", {"batch_id": None, "count": 1, "items": []})  # the other row: fine
    body = "房号,楼栋,设施,投诉内容\r\n1栋101,1栋,电梯,异响\r\n1栋102,1栋,%s,漏水\r\n" % ("管" * 41)
    html = upload(member, body.encode("utf-8")).get_data(as_text=True)
    assert re.search(r'data-row="3"><td>3</td><td>设施</td><td>设施最多 40 个字。</td>', html), html
    [call] = batch_calls(fake_rpc)
    assert call["kwargs"]["validate_only"] is True and [r["row"] for r in call["args"][0]] == [2]


@pytest.mark.parametrize("lang, column, message", [
    ("zh_CN", "楼栋", "本项目没有这个楼栋，已登记的楼栋：1栋、2栋。请填写楼栋编号或名称，或留空。"),
    ("en", "Building", "This building is not one of the estate's; its buildings: 1栋、2栋. Use a building's code or "
                       "name, or leave the column empty.")])
def test_an_unknown_building_names_the_row_and_column_and_the_estates_buildings(member, fake_rpc, remote_error,
                                                                              lang, column, message):
    fake_rpc.reply("intake", "register_batch", remote_error(
        "ValidationFailed", 422, "validation_failed", "1 problem", field="rows", error_count=1,
        rows=[{"row": 3, "field": "location.building", "message": "estate DEMO-RES has no building '9栋'"}]))
    fake_rpc.reply("intake", "list_building_choices", lambda codes: {
        "DEMO-RES": [{"code": "1栋", "name": "1栋"}, {"code": "2栋", "name": "2栋"}]} if codes == ["DEMO-RES"] else {})
    member.get(f"/?lang={lang}")
    body = "楼栋,投诉内容\r\n1栋,电梯异响\r\n9栋,漏水\r\n"
    response = upload(member, body.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-row="3"><td>3</td><td>{column}</td><td>{message}</td>' in html.replace("&#39;", "'"), html
    assert [r["data"]["location"]["building"] for r in batch_calls(fake_rpc)[0]["args"][0]] == ["1栋", "9栋"]


def test_without_one_estate_an_unknown_building_keeps_the_plain_message(member, fake_rpc, remote_error):
    fake_rpc.reply("intake", "register_batch", remote_error(
        "ValidationFailed", 422, "validation_failed", "1 problem", field="rows", error_count=1,
        rows=[{"row": 2, "field": "location.building", "message": "estate DEMO-RES has no building '9栋'"}]))
    fake_rpc.reply("intake", "list_building_choices", {})  # the estate keeps no directory any more
    html = upload(member, "楼栋,投诉内容\r\n9栋,漏水\r\n".encode("utf-8")).get_data(as_text=True)
    assert 'data-row="2"><td>2</td><td>楼栋</td><td>本项目没有这个楼栋。请填写楼栋编号或名称，或留空。</td>' in html


def test_error_report_csv_is_formula_safe(member):
    token = csrf(member, "/committee/batch")
    errors = '[{"row": 2, "column": "=HYPERLINK(\\"http://x\\")", "message": "+cmd|calc"}]'
    body = member.post("/committee/batch/errors.csv", data={"csrf_token": token, "errors": errors}).data
    text = body.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+cmd|calc" in text


def test_api_batch_and_list(client, fake_rpc, bearer):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    headers = bearer(roles=(("committee_member", "DEMO-RES"),))
    fake_rpc.reply("intake", "register_batch", {"batch_id": "b", "count": 1, "items": [{"row": 2}]})
    data = {"file": (io.BytesIO((HEADER + "刘,13800138000,1栋101,噪音,,否\r\n").encode()), "s.csv")}
    response = client.post("/api/v1/committee/batch", data=data, headers=headers, content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["count"] == 1
    bad = {"file": (io.BytesIO((HEADER + "刘,13800138000,1栋101,噪音,,也许\r\n").encode()), "s.csv")}
    refused = client.post("/api/v1/committee/batch", data=bad, headers=headers, content_type="multipart/form-data")
    body = refused.get_json()
    assert refused.status_code == 422 and body["error"] == "batch_rejected"
    assert body["details"]["rows"][0]["row"] == 2 and body["details"]["rows"][0]["field"] == "urgent"
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    assert client.get("/api/v1/committee/complaints", headers=headers).status_code == 200
    agent = bearer(roles=(("agent", "DEMO-RES"),))
    assert client.get("/api/v1/committee/complaints", headers=agent).status_code == 403


def test_api_single_complaint_takes_the_members_estate(client, fake_rpc, bearer):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "register_complaint", lambda data: {
        "id": str(uuid.uuid4()), "estate": {"code": "DEMO-RES"}, "complainant": data["complainant"]})
    headers = bearer(roles=(("committee_member", "DEMO-RES"),))
    body = {"description": "噪音", "complainant": {"phone": "13800138000"}, "reported_at": "2026-11-24 09:00"}
    assert client.post("/api/v1/committee/complaints", json=body, headers=headers).status_code == 201
    sent = next(c for c in fake_rpc.calls if c["method"] == "register_complaint")["args"][0]
    assert sent["channel"] == "committee" and sent["estate"] == "DEMO-RES"
    assert sent["reported_at"] == "2026-11-24T09:00:00+08:00"
    other = client.post("/api/v1/committee/complaints", json=body | {"estate": "DEMO-OFFICE"}, headers=headers)
    assert other.status_code == 422 and other.get_json()["details"]["field"] == "estate"


def test_agent_records_a_head_office_forward_with_the_superior(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "list_calls", {"items": []})
    fake_rpc.reply("intake", "register_complaint", {"id": str(uuid.uuid4()), "reference": "TS20261124-DDDDDD"})
    login(client, "agent@demo")
    token = csrf(client, "/complaints/new")
    form = {"csrf_token": token, "estate": "DEMO-RES", "channel": "head_office", "phone": "13800138000",
            "description": "集团转来：电梯故障", "fwd_name": "陈总", "fwd_title": "客服总监", "fwd_email": "chen@example.com",
            "instructions": "三日内回报"}
    assert client.post("/complaints/new", data=form).status_code == 302
    data = next(c for c in fake_rpc.calls if c["method"] == "register_complaint")["args"][0]
    assert data["forwarded_by"] == {"name": "陈总", "title": "客服总监", "phone": None, "email": "chen@example.com"}
    assert data["instructions"] == "三日内回报"
    missing = client.post("/complaints/new", data=form | {"fwd_name": "", "csrf_token": token})
    assert missing.status_code == 422 and 'id="e-fwd_name"' in missing.get_data(as_text=True)


def test_the_general_complaint_api_shows_a_committee_only_what_it_forwarded(client, fake_rpc, bearer, remote_error):
    member = str(uuid.uuid4())
    headers = bearer(user_id=member, roles=(("committee_member", "DEMO-RES"),))
    assert client.get("/api/v1/complaints", headers=headers).status_code == 403
    body = {"estate": "DEMO-RES", "description": "x", "complainant": {"phone": "13800138000"}}
    assert client.post("/api/v1/complaints", json=body, headers=headers).status_code == 403
    record = {"id": str(uuid.uuid4()), "reference": "TS20261124-EEEEEE", "status": "received",
              "estate": {"code": "DEMO-RES", "timezone": "Asia/Shanghai"}, "channel": "committee",
              "complainant": {"name": "周女士"}, "received_at": "2026-11-24T05:00:00+00:00", "timeline": []}
    fake_rpc.reply("intake", "get_complaint", record | {"received_by": str(uuid.uuid4())})
    assert client.get(f"/api/v1/complaints/{record['id']}", headers=headers).status_code == 404
    fake_rpc.reply("intake", "get_complaint", record | {"received_by": member})
    fake_rpc.reply("workflow", "get_case", remote_error("CaseNotFound", 404, "case_not_found"))
    fake_rpc.reply("notify", "get_timeline", [])
    mine = client.get(f"/api/v1/complaints/{record['id']}", headers=headers)
    assert mine.status_code == 200 and mine.get_json()["complainant"]["name"] == "周**"

