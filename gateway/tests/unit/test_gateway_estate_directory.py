"""Regions, buildings and units through the gateway (``/api/v1/regions``, ``/api/v1/estates/<code>/buildings``,
the units import, the console's /admin/regions and /admin/estates/<code>/units) with the FakeRpc: roles and estate
scope decided before intake is asked, validation naming the field, intake's refusals passed on, import files
checked by content with line/column errors in the user's language, audit rows for changes (none for a preview)."""
import io
import json
import re

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from gateway import units_upload
from gateway.tables import audit_log
from test_gateway_console_pages import ESTATES, console_login

ADMIN, HQ = (("group_admin", None),), (("head_office", None),)
MANAGER_RES = (("site_manager", "DEMO-RES"),)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REGIONS = [{"code": "EAST", "name": "华东区域", "active": True, "estates": 3}]
DIRECTORY = {"estate": "DEMO-RES", "units": 8, "declared": None, "counted": 8,
             "buildings": [{"code": "1栋", "name": "1栋", "units": [{"code": "101", "floor": 1, "area": 88.5}]}]}
CSV = "楼栋,房号,楼层,建筑面积\r\n1栋,101,1,88.5\r\n3栋,301,3,\r\n".encode("utf-8")


def _plan(estate, rows, apply):
    errors = [{"line": r["line"], "column": "floor", "message": "floor: a whole number from -10 to 300"}
              for r in rows if r.get("floor") == "x"]
    return {"estate": estate, "applied": bool(apply), "buildings_added": ["3栋"], "added": 1, "updated": 0,
            "unchanged": 1, "errors": errors, "error_count": len(errors), "units_before": 8,
            "units_after": 9 if apply else 8,
            "changes": [{"line": 3, "action": "add", "building": "3栋", "unit": "301", "floor": 3, "area": None,
                         "before": None}]}


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "list_regions", REGIONS)
    fake_rpc.reply("intake", "create_region", lambda data: data | {"code": data["code"].upper(), "active": True,
                                                                   "created": True, "changed": ["code", "name"]})
    fake_rpc.reply("intake", "update_region", lambda code, ch: {"code": code, "name": "x", "active": True,
                                                                "created": False, "changed": sorted(ch)} | ch)
    fake_rpc.reply("intake", "list_buildings", lambda estate: DIRECTORY | {"estate": estate})
    fake_rpc.reply("intake", "save_building", lambda estate, code, data, create: {
        "estate": estate, "building": code, "name": data.get("name") or code, "created": create, "changed": ["name"]})
    fake_rpc.reply("intake", "remove_building", lambda estate, code: {
        "estate": estate, "building": code, "removed_units": 4, "units_before": 8, "units_after": 4})
    fake_rpc.reply("intake", "save_unit", lambda estate, b, code, data, create: {
        "estate": estate, "building": b, "unit": data.get("code") or code, "previous_code": None,
        "floor": data.get("floor"), "area": data.get("area"), "created": create, "changed": ["floor"],
        "units_before": 8, "units_after": 9 if create else 8})
    fake_rpc.reply("intake", "remove_unit", lambda estate, b, code: {
        "estate": estate, "building": b, "unit": code, "units_before": 8, "units_after": 7})
    fake_rpc.reply("intake", "import_units", _plan)
    return fake_rpc


def intake_writes(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] not in ("list_estates", "list_regions", "list_buildings")
            and not (c["method"] == "import_units" and not c["args"][2])]


def audited(app):
    with app.extensions["db"].connect() as conn:
        return [(a, t, d) for a, t, d in conn.execute(select(audit_log.c.action, audit_log.c.target_id,
                                                             audit_log.c.detail)
                                                      .where(audit_log.c.tenant_id == DEMO_TENANT["id"])
                                                      .order_by(audit_log.c.at))
                if a in ("region_saved", "building_saved", "building_removed", "unit_saved", "unit_removed",
                         "units_imported")]


# --- regions API

@pytest.mark.parametrize("roles", [ADMIN, HQ])
def test_gateway_regions_api_group_roles_list_add_rename_and_deactivate(client, bearer, rpc, app, roles):
    assert client.get("/api/v1/regions", headers=bearer(roles=roles)).get_json() == {"items": REGIONS}
    r = client.post("/api/v1/regions", headers=bearer(roles=roles), json={"code": "south", "name": "华南区域"})
    assert r.status_code == 201 and r.get_json()["code"] == "SOUTH"
    r = client.put("/api/v1/regions/SOUTH", headers=bearer(roles=roles), json={"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert [(c["method"], c["args"]) for c in intake_writes(rpc)] == [
        ("create_region", ({"code": "south", "name": "华南区域"},)), ("update_region", ("SOUTH", {"active": False}))]
    assert [(a, t, d) for a, t, d in audited(app)] == [
        ("region_saved", "SOUTH", {"created": True, "changed": ["code", "name"], "active": True}),
        ("region_saved", "SOUTH", {"created": False, "changed": ["active"], "active": False})]


@pytest.mark.parametrize("roles", [MANAGER_RES, (("agent", "DEMO-RES"),), (("cs_supervisor", "DEMO-RES"),)])
def test_gateway_regions_api_is_refused_to_site_roles(client, bearer, rpc, app, roles):
    assert client.get("/api/v1/regions", headers=bearer(roles=roles)).status_code == 403
    assert client.post("/api/v1/regions", headers=bearer(roles=roles), json={"code": "S1", "name": "x"}).status_code == 403
    assert client.put("/api/v1/regions/EAST", headers=bearer(roles=roles), json={"name": "x"}).status_code == 403
    assert intake_writes(rpc) == [] and audited(app) == []


@pytest.mark.parametrize("body,field", [({"name": "x"}, "code"), ({"code": "-x", "name": "x"}, "code"),
                                        ({"code": "S1", "name": ""}, "name"), ({"code": "S1"}, "name")])
def test_gateway_regions_api_bad_bodies_name_the_field(client, bearer, rpc, body, field):
    r = client.post("/api/v1/regions", headers=bearer(roles=ADMIN), json=body)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == field


def test_gateway_regions_api_in_use_is_409_with_the_estates_in_english_or_chinese(client, bearer, rpc, app,
                                                                                  remote_error):
    rpc.reply("intake", "update_region", remote_error("Conflict", 409, "region_in_use", field="active",
                                                      estates=["DEMO-RES"]))
    r = client.put("/api/v1/regions/EAST", headers=bearer(roles=ADMIN), json={"active": False})
    assert r.status_code == 409 and r.get_json()["details"]["estates"] == ["DEMO-RES"]
    assert "启用的项目" in r.get_json()["message"]
    r = client.put("/api/v1/regions/EAST", headers=bearer(roles=ADMIN), json={"active": False},
                   environ_base={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert r.get_json()["message"].startswith("Active estates") and audited(app) == []


# --- buildings and units API

@pytest.mark.parametrize("roles", [ADMIN, MANAGER_RES])
def test_gateway_units_api_manager_and_admin_change_buildings_and_units(client, bearer, rpc, app, roles):
    h = bearer(roles=roles)
    assert client.get("/api/v1/estates/demo-res/buildings", headers=h).get_json()["estate"] == "DEMO-RES"
    assert client.post("/api/v1/estates/DEMO-RES/buildings", headers=h, json={"code": "3栋"}).status_code == 201
    assert client.put("/api/v1/estates/DEMO-RES/buildings/3栋", headers=h, json={"name": "三号楼"}).status_code == 200
    r = client.post("/api/v1/estates/DEMO-RES/buildings/3栋/units", headers=h, json={"code": "301", "floor": 3})
    assert r.status_code == 201 and r.get_json()["units_after"] == 9
    r = client.put("/api/v1/estates/DEMO-RES/buildings/3栋/units/301", headers=h, json={"area": 90.5, "code": "302"})
    assert r.status_code == 200
    assert client.delete("/api/v1/estates/DEMO-RES/buildings/3栋/units/302", headers=h).status_code == 200
    assert client.delete("/api/v1/estates/DEMO-RES/buildings/3栋", headers=h).status_code == 200
    calls = [(c["method"], c["args"]) for c in intake_writes(rpc)]
    assert calls == [("save_building", ("DEMO-RES", "3栋", {"name": None}, True)),
                     ("save_building", ("DEMO-RES", "3栋", {"name": "三号楼"}, False)),
                     ("save_unit", ("DEMO-RES", "3栋", "301", {"floor": 3}, True)),
                     ("save_unit", ("DEMO-RES", "3栋", "301", {"area": 90.5, "code": "302"}, False)),
                     ("remove_unit", ("DEMO-RES", "3栋", "302")), ("remove_building", ("DEMO-RES", "3栋"))]
    rows = audited(app)
    assert [(a, t) for a, t, _d in rows] == [
        ("building_saved", "DEMO-RES/3栋"), ("building_saved", "DEMO-RES/3栋"), ("unit_saved", "DEMO-RES/3栋/301"),
        ("unit_saved", "DEMO-RES/3栋/302"), ("unit_removed", "DEMO-RES/3栋/302"), ("building_removed", "DEMO-RES/3栋")]
    assert rows[2][2] == {"created": True, "changed": ["floor"], "previous_code": None, "units_before": 8,
                          "units_after": 9}
    assert rows[5][2] == {"removed_units": 4, "units_before": 8, "units_after": 4}


def test_gateway_units_api_another_estate_is_404_and_other_roles_403(client, bearer, rpc, app):
    h = bearer(roles=MANAGER_RES)
    for method, path in (("get", "/api/v1/estates/DEMO-OFFICE/buildings"),
                         ("post", "/api/v1/estates/DEMO-OFFICE/buildings"),
                         ("delete", "/api/v1/estates/DEMO-OFFICE/buildings/A座"),
                         ("delete", "/api/v1/estates/OTHER-RES/buildings/5栋/units/501")):
        r = getattr(client, method)(path, headers=h, json={"code": "X"} if method == "post" else None)
        assert r.status_code == 404 and r.get_json()["error"] == "estate_not_found", path
    agent = bearer(roles=(("agent", "DEMO-RES"),))
    assert client.get("/api/v1/estates/DEMO-RES/buildings", headers=agent).status_code == 403
    assert client.delete("/api/v1/estates/DEMO-RES/buildings/1栋", headers=bearer(roles=HQ)).status_code == 403
    assert client.get("/api/v1/estates/DEMO-OFFICE/buildings", headers=bearer(roles=HQ)).status_code == 200
    assert intake_writes(rpc) == [] and audited(app) == []


def test_gateway_units_api_intakes_not_found_for_another_tenant_is_passed_on(client, bearer, rpc, remote_error):
    rpc.reply("intake", "remove_unit", remote_error("NotFound", 404, "unit_not_found", field="unit"))
    r = client.delete("/api/v1/estates/DEMO-RES/buildings/1栋/units/999", headers=bearer(roles=ADMIN),
                      environ_base={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert r.status_code == 404 and r.get_json() == {"error": "unit_not_found", "message": "Unknown unit",
                                                     "details": {"field": "unit"}}


@pytest.mark.parametrize("body,field", [({"floor": 3}, "code"), ({"code": "1", "floor": "3"}, "floor"),
                                        ({"code": "1", "area": 0}, "area"), ({"code": "x" * 41}, "code")])
def test_gateway_units_api_bad_units_name_the_field(client, bearer, rpc, body, field):
    r = client.post("/api/v1/estates/DEMO-RES/buildings/1栋/units", headers=bearer(roles=ADMIN), json=body)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == field


def _upload(client, h, content, apply=False, name="units.csv"):
    return client.post("/api/v1/estates/DEMO-RES/units/import", headers=h,
                       data={"file": (io.BytesIO(content), name), "apply": "true" if apply else "false"},
                       content_type="multipart/form-data")


def test_gateway_units_import_api_previews_then_applies_and_audits_only_the_apply(client, bearer, rpc, app):
    h = bearer(roles=MANAGER_RES)
    preview = _upload(client, h, CSV)
    assert preview.status_code == 200 and preview.get_json()["applied"] is False and audited(app) == []
    call = [c for c in rpc.calls if c["method"] == "import_units"][0]
    assert call["args"] == ("DEMO-RES", [{"line": 2, "building": "1栋", "unit": "101", "floor": "1", "area": "88.5"},
                                         {"line": 3, "building": "3栋", "unit": "301", "floor": "3", "area": ""}],
                            False)
    done = _upload(client, h, CSV, apply=True)
    assert done.status_code == 200 and done.get_json()["applied"] is True
    assert audited(app) == [("units_imported", "DEMO-RES", {"added": 1, "updated": 0, "unchanged": 1,
                                                            "units_before": 8, "units_after": 9,
                                                            "buildings_added": 1})]


def test_gateway_units_import_row_errors_come_back_with_line_column_and_the_users_language(client, bearer, rpc,
                                                                                          app, remote_error):
    bad = "楼栋,房号,楼层\r\n1栋,101,x\r\n".encode("gb18030")  # Excel's CSV on Chinese Windows
    r = _upload(client, bearer(roles=ADMIN), bad)
    assert r.status_code == 200 and r.get_json()["errors"] == [
        {"line": 2, "column": "floor", "column_label": "楼层", "message": "楼层请填 -10 到 300 之间的整数，或留空。"}]
    rpc.reply("intake", "import_units", remote_error("ValidationFailed", 422, "validation_failed", field="rows",
                                                     errors=[{"line": 2, "column": "floor", "message": "floor"}],
                                                     error_count=1))
    r = client.post("/api/v1/estates/DEMO-RES/units/import", headers=bearer(roles=ADMIN) | {"Accept-Language": "en"},
                    data={"file": (io.BytesIO(bad), "u.csv"), "apply": "1"}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "rows"
    assert r.get_json()["details"]["errors"][0]["column_label"] == "Floor" and audited(app) == []


@pytest.mark.parametrize("content,message", [
    (b"\x89PNG\r\n\x1a\n" + b"0" * 50, "这不是表格文件（CSV 或 XLSX）。"),
    (b"PK\x03\x04not really a zip", "无法读取该文件"),
    (b"a\x00b,c\r\n", "这不是表格文件（CSV 或 XLSX）。"),
    (b"x" * (units_upload.MAX_FILE_BYTES + 1), "文件超过 900 KB"),
    ("楼栋,房号,颜色\r\n1栋,101,红\r\n".encode(), "无法识别的列"),
    ("房号\r\n101\r\n".encode(), "缺少此列"),
    ("楼栋,房号\r\n".encode(), "文件中没有房号。"),
])
def test_gateway_units_import_files_are_judged_by_content_and_bounded(client, bearer, rpc, content, message):
    r = _upload(client, bearer(roles=ADMIN), content, name="units.xlsx")
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "file"
    assert any(message in e["message"] for e in r.get_json()["details"]["errors"]), r.get_json()
    assert not [c for c in rpc.calls if c["method"] == "import_units"]


def test_gateway_units_import_reads_xlsx_with_a_template_round_trip(client, bearer, rpc):
    from openpyxl import Workbook, load_workbook

    content, mime = units_upload.template("xlsx")
    assert load_workbook(io.BytesIO(content)).worksheets[0]["A1"].value == "楼栋"
    book = Workbook()
    book.active.append(["Building", "Unit", "Floor", "Area"])
    book.active.append(["A座", 1001, 10, 120.5])
    buffer = io.BytesIO()
    book.save(buffer)
    r = _upload(client, bearer(roles=ADMIN), buffer.getvalue(), name="anything.csv")
    assert r.status_code == 200
    rows = [c for c in rpc.calls if c["method"] == "import_units"][0]["args"][1]
    assert rows == [{"line": 2, "building": "A座", "unit": "1001", "floor": "10", "area": "120.5"}]


# --- console pages

@pytest.fixture
def as_user(client, rpc):
    def as_user(username="admin@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def _token(client, path):
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def test_gateway_console_regions_page_adds_renames_and_explains_a_region_in_use(as_user, rpc, app, remote_error):
    client = as_user("hq@demo")
    html = client.get("/admin/regions").get_data(as_text=True)
    assert 'href="/admin/regions">区域管理</a>' in html and '<tr data-region="EAST">' in html
    token = _token(client, "/admin/regions")
    r = client.post("/admin/regions", data={"csrf_token": token, "code": "south", "name": "华南区域"})
    assert r.status_code == 302 and audited(app)[0][:2] == ("region_saved", "SOUTH")
    bad = client.post("/admin/regions", data={"csrf_token": token, "code": "-", "name": ""})
    page_html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="e-code"' in page_html and 'id="e-name"' in page_html
    rpc.reply("intake", "update_region", remote_error("Conflict", 409, "region_in_use", field="active",
                                                      estates=["DEMO-RES", "DEMO-NEW"]))
    r = client.post("/admin/regions/EAST", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 422 and "还有启用的项目（DEMO-RES, DEMO-NEW）" in r.get_data(as_text=True)
    assert len(audited(app)) == 1


@pytest.mark.parametrize("user", ["manager@demo", "agent@demo"])
def test_gateway_console_regions_page_is_403_for_site_roles(as_user, user):
    assert as_user(user).get("/admin/regions").status_code == 403


def test_gateway_console_units_page_for_a_site_manager_only_their_estates(as_user, rpc, app):
    client = as_user("manager@demo")  # site manager of DEMO-RES and DEMO-NEW
    assert client.get("/admin/units").headers["Location"].endswith("/admin/estates/DEMO-NEW/units")
    html = client.get("/admin/estates/DEMO-RES/units").get_data(as_text=True)
    assert "楼栋与房号" in html and 'data-unit="1栋/101"' in html and "DEMO-OFFICE" not in html
    assert client.get("/admin/estates/DEMO-OFFICE/units").status_code == 404
    token = _token(client, "/admin/estates/DEMO-RES/units")
    assert client.post("/admin/estates/DEMO-OFFICE/buildings/A座/remove",
                       data={"csrf_token": token}).status_code == 404
    r = client.post("/admin/estates/DEMO-RES/units", data={"csrf_token": token, "unit_building": "1栋",
                                                           "unit_code": "103", "floor": "1", "area": ""})
    assert r.status_code == 302 and audited(app)[-1][:2] == ("unit_saved", "DEMO-RES/1栋/103")
    assert [c["args"] for c in intake_writes(rpc)] == [("DEMO-RES", "1栋", "103", {"floor": "1", "area": None}, True)]


def test_gateway_console_units_page_shows_intakes_refusal_on_the_field(as_user, rpc, remote_error):
    client = as_user()
    rpc.reply("intake", "save_building", remote_error("Conflict", 409, "building_exists", field="building"))
    token = _token(client, "/admin/estates/DEMO-RES/units")
    r = client.post("/admin/estates/DEMO-RES/buildings", data={"csrf_token": token, "building_code": "1栋"})
    assert r.status_code == 422 and 'id="e-building_code">已有相同编号的楼栋。' in r.get_data(as_text=True)


def test_gateway_console_units_import_preview_then_apply(as_user, rpc, app):
    client = as_user("manager@demo")
    token = _token(client, "/admin/estates/DEMO-RES/units")
    r = client.post("/admin/estates/DEMO-RES/units/import", content_type="multipart/form-data",
                    data={"csrf_token": token, "file": (io.BytesIO(CSV), "units.csv")})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "将新增 1 户，更新 0 户，1 户不变" in html and 'id="apply-import"' in html
    assert audited(app) == []
    rows = re.search(r'name="rows" value="([^"]+)"', html).group(1).replace("&#34;", '"').replace("&quot;", '"')
    assert json.loads(rows) == [[2, "1栋", "101", "1", "88.5"], [3, "3栋", "301", "3", ""]]
    r = client.post("/admin/estates/DEMO-RES/units/import", data={"csrf_token": token, "apply": "1", "rows": rows})
    assert r.status_code == 302 and audited(app)[0][:2] == ("units_imported", "DEMO-RES")
    assert "导入完成：新增 1 户" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_gateway_console_units_import_lists_row_errors_in_english_and_offers_no_apply(as_user, rpc):
    client = as_user()
    token = _token(client, "/admin/estates/DEMO-RES/units")
    content = "building,unit,floor\r\n1栋,101,x\r\n,102,\r\n".encode()
    r = client.post("/admin/estates/DEMO-RES/units/import?lang=en", content_type="multipart/form-data",
                    data={"csrf_token": token, "file": (io.BytesIO(content), "units.csv")})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="apply-import"' not in html
    assert "<td>2</td><td>Floor</td><td>Enter the floor as a whole number" in html


def test_gateway_console_units_template_downloads(as_user):
    client = as_user()
    r = client.get("/admin/units/template.csv")
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf") and "楼栋,房号" in r.data.decode("utf-8-sig")
    assert client.get("/admin/units/template.pdf").status_code == 404
