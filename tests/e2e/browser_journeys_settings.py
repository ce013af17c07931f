"""Settings journeys in Chromium (registered in ``browser_journeys.JOURNEYS``; run as its child process): a site
manager adds a routing rule for DEMO-RES (a wrong team member first: the error shows next to the field), sees it
listed; a group admin opens the alert recipients; a site manager adds a weekend night to the duty roster (an unknown
person first). Screenshots 85-87, 90-91. The calling tests restore the rules and the roster."""
from __future__ import annotations

import re


def routing_settings(j, args: dict) -> dict:
    """Site manager: 派单规则 -> DEMO-RES -> 添加规则 (category ``args["category"]``) -> an unknown user is refused
    next to the team field -> fixed -> saved and listed."""
    page = j.page()
    j.log_in(page, "manager@demo")
    page.get_by_role("link", name="派单规则").click()
    page.wait_for_url("**/settings/routing")
    page.get_by_label("规则范围").select_option("estate:DEMO-RES")
    page.get_by_role("button", name="查看").click()
    page.wait_for_url("**/settings/routing?scope=estate%3ADEMO-RES")
    assert page.locator("#inherited-rules").count() in (0, 1)
    before = page.locator("#routing-rules tbody tr").count()
    rows = page.locator("#routing-form [data-row]")
    offered = rows.count()
    page.get_by_role("button", name="添加规则").click()  # settings_rows.js: one more empty row
    assert rows.count() == offered + 1
    new = rows.nth(offered)
    new.get_by_label("类别").select_option(args["category"])
    new.get_by_label("责任部门").fill("绿化养护部")
    new.get_by_label("处理小组（用户名）").fill("agent@demo, nobody@demo")
    new.get_by_label("分配方式").select_option("least_loaded")
    j.shot(page, "85-routing-rule-form")
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_load_state()
    error = page.locator(f"#e{before}-team")  # the re-rendered form: the kept rules, in order
    assert "不是本集团的在用账号：nobody@demo" in error.inner_text(), page.content()[:2000]
    team = page.locator(f"#r{before}-team")
    assert team.get_attribute("aria-invalid") == "true" and "nobody@demo" in team.input_value()
    team.fill("agent@demo")
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_url(re.compile(r".*/settings/routing\?scope=estate(%3A|:)DEMO-RES$"))
    assert page.get_by_text(re.compile("已保存 .* 条派单规则。")).is_visible()
    row = page.locator(f'#routing-rules tbody tr[data-category="{args["category"]}"]')
    listed = row.inner_text()
    assert "绿化养护部" in listed and "客服专员 张" in listed and "当前工单最少者" in listed, listed
    assert page.locator("#routing-rules tbody tr").count() == before + 1
    j.shot(page, "86-routing-rule-saved")
    page.context.close()

    admin = j.page()
    j.log_in(admin, "admin@demo")
    admin.get_by_role("link", name="提醒接收人").click()
    admin.wait_for_url("**/settings/alerts")
    assert admin.locator("#alert-kinds").is_visible() and admin.locator("#c0-email").input_value()
    j.shot(admin, "87-alert-recipients")
    return {"listed": listed, "rules": before + 1}


def estates_admin(j, args: dict) -> dict:
    """Head office: 项目管理 -> add an estate (a bad code first: the error shows next to the field) -> listed ->
    offered on 定期报表's estate choice and the owners' estate list -> a region added and units imported into the
    estate (``_region_and_units``) -> deactivated -> gone from the owners' list. Screenshots 88-89d."""
    code, name = args["code"], args["estate_name"]
    page = j.page()
    j.log_in(page, "hq@demo")
    page.get_by_role("link", name="项目管理").click()
    page.wait_for_url("**/admin/estates")
    form = page.locator("#estate-form")
    form.get_by_label("项目编号").fill("-" + code)
    form.get_by_label("项目名称").fill(name)
    form.get_by_label("类型").select_option("office")
    page.locator("#f-region").select_option("EAST")
    form.get_by_label("登记户数（可选）").fill("640")
    form.get_by_role("button", name="新增项目").click()
    page.wait_for_load_state()
    assert "2 至 40 个字母" in page.locator("#e-code").inner_text(), page.content()[:2000]
    assert page.locator("#f-code").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-name").input_value() == name  # the form kept
    j.shot(page, "88-estates-form-error")
    page.locator("#f-code").fill(code)
    form.get_by_role("button", name="新增项目").click()
    page.wait_for_url(re.compile(r".*/admin/estates$"))
    assert page.get_by_text(f"已新增项目 {code}。").is_visible()
    listed = page.locator(f'#estates tr[data-estate="{code}"]').inner_text()
    assert name in listed and "写字楼" in listed and "华东区域" in listed and "640" in listed, listed
    j.shot(page, "89-estate-added")
    page.goto(f"{j.base}/reports/subscriptions")
    offered = page.locator(f'#f-estate option[value="{code}"]')
    assert offered.count() == 1 and name in offered.inner_text()
    owners = j.page()
    owners.goto(f"{j.base}/t/demo/complain")
    assert owners.get_by_role("link", name=name).is_visible()

    region = _region_and_units(j, page, args)

    page.goto(f"{j.base}/admin/estates")
    page.locator(f'#estates tr[data-estate="{code}"]').get_by_role("link", name=code).click()
    page.wait_for_url(f"**/admin/estates/{code}")
    page.get_by_label("启用（受理新投诉）").uncheck()
    page.get_by_role("button", name="保存项目").click()
    page.wait_for_url(re.compile(r".*/admin/estates$"))
    after = page.locator(f'#estates tr[data-estate="{code}"]').inner_text()
    assert "已停用" in after, after
    owners.reload()
    assert owners.get_by_role("link", name=name).count() == 0
    return {"listed": listed, "deactivated": after} | region


def _region_and_units(j, page, args: dict) -> dict:
    """Head office: 区域管理 (next to 项目管理) -> add a region -> listed. Group admin: 楼栋与房号 -> the new estate
    -> a units sheet with a bad floor (the error names line and column) -> fixed -> preview -> apply -> listed.
    Screenshots 89b-89d."""
    page.get_by_role("link", name="区域管理").click()
    page.wait_for_url("**/admin/regions")
    form = page.locator("#region-form")
    form.get_by_label("编号（如 SOUTH；保存后不可更改）").fill(args["region"])
    form.get_by_label("区域名称").fill(args["region_name"])
    form.get_by_role("button", name="添加区域").click()
    page.wait_for_url(re.compile(r".*/admin/regions$"))
    assert page.get_by_text(f"已添加区域 {args['region']}。").is_visible()
    row = page.locator(f'#regions tr[data-region="{args["region"]}"]')
    region_row = row.inner_text() + " " + row.locator('input[name="name"]').input_value()
    j.shot(page, "89b-region-added")

    admin = j.page()
    j.log_in(admin, "admin@demo")
    admin.get_by_role("link", name="楼栋与房号").click()
    admin.wait_for_url("**/admin/estates/*/units")
    admin.locator("#f-estate").select_option(args["code"])
    admin.get_by_role("button", name="查看").click()
    admin.wait_for_url(f"**/admin/estates/{args['code']}/units")
    sheet = "楼栋,房号,楼层,建筑面积\r\nA座,1001,10,120.5\r\nA座,1002,十,\r\n"
    admin.set_input_files("#f-file", files=[{"name": "units.csv", "mimeType": "text/csv",
                                             "buffer": sheet.encode("utf-8")}])
    admin.get_by_role("button", name="预览导入").click()
    admin.wait_for_load_state()
    problem = admin.locator("#import-errors tbody tr").inner_text()
    assert "3" in problem and "楼层" in problem and "整数" in problem, problem
    assert admin.locator("#apply-import").count() == 0
    admin.set_input_files("#f-file", files=[{"name": "units.csv", "mimeType": "text/csv",
                                             "buffer": sheet.replace("十", "10").encode("utf-8")}])
    admin.get_by_role("button", name="预览导入").click()
    admin.wait_for_load_state()
    assert "将新增 2 户，更新 0 户，0 户不变" in admin.locator("#import-preview").inner_text()
    j.shot(admin, "89c-units-import-preview")
    admin.locator("#apply-import").click()
    admin.wait_for_url(re.compile(rf".*/admin/estates/{args['code']}/units(#directory)?$"))
    assert admin.get_by_text("导入完成：新增 2 户，更新 0 户，0 户未变。").is_visible()
    listed = admin.locator('#directory details[data-building="A座"] tr[data-unit]')
    units = " ".join(listed.nth(i).get_attribute("data-unit") for i in range(listed.count()))
    j.shot(admin, "89d-units-imported")
    admin.context.close()
    return {"region_row": region_row, "units": units}


SETTINGS_JOURNEYS = {"routing_settings": routing_settings, "estates_admin": estates_admin}


def duty_roster(j, args: dict) -> dict:
    """Site manager: 夜间值班表 -> DEMO-RES -> 添加安排 (weekend nights) -> an unknown user is refused next to the
    person field -> fixed -> saved and listed. Screenshots 90-91; the calling test restores the roster."""
    page = j.page()
    j.log_in(page, "manager@demo")
    page.get_by_role("link", name="夜间值班表").click()
    page.wait_for_url("**/settings/duty")
    page.get_by_label("值班表所属项目").select_option("DEMO-RES")
    page.get_by_role("button", name="查看").click()
    page.wait_for_url("**/settings/duty?estate=DEMO-RES")
    assert page.locator("#off-hours").is_visible()
    before = page.locator("#duty-roster tbody tr").count()
    rows = page.locator("#duty-form [data-row]")
    offered = rows.count()
    page.get_by_role("button", name="添加安排").click()  # settings_rows.js: one more empty row
    assert rows.count() == offered + 1
    new = rows.nth(offered)
    new.get_by_label("值班人员（用户名）").fill("nobody@demo")
    new.get_by_label("岗位").fill(args["post"])
    new.get_by_label("周六").check()
    new.get_by_label("周日").check()
    j.shot(page, "90-duty-roster-form")
    page.get_by_role("button", name="保存值班表").click()
    page.wait_for_load_state()
    error = page.locator(f"#e{before}-person")  # the re-rendered form: the kept entries, in order
    assert "不是本集团的在用账号：nobody@demo" in error.inner_text(), page.content()[:2000]
    person = page.locator(f"#d{before}-person")
    assert person.get_attribute("aria-invalid") == "true" and person.input_value() == "nobody@demo"
    assert page.locator(f"#d{before}-wd6").is_checked() and page.locator(f"#d{before}-wd7").is_checked()
    person.fill("agent@demo")
    page.get_by_role("button", name="保存值班表").click()
    page.wait_for_url("**/settings/duty?estate=DEMO-RES")
    assert page.get_by_text(re.compile("已保存 .* 条值班安排。")).is_visible()
    listed = page.locator("#duty-roster tbody tr").nth(before).inner_text()
    assert "客服专员 张" in listed and args["post"] in listed and "周六、周日" in listed, listed
    assert page.locator("#duty-roster tbody tr").count() == before + 1
    j.shot(page, "91-duty-roster-saved")
    page.context.close()
    return {"listed": listed, "entries": before + 1}


SETTINGS_JOURNEYS["duty_roster"] = duty_roster


def sla_site_settings(j, args: dict) -> dict:
    """Site manager: 营业时间与升级 -> DEMO-RES -> the ladder table -> the live preview of a moderate complaint
    received on a Tuesday morning -> an overlapping period is marked on its field -> the afternoon period closes at
    18:00 instead -> the resolution deadline in the preview moves to 18:00. Nothing is saved (screenshot 92)."""
    page = j.page()
    j.log_in(page, "manager@demo")
    page.get_by_role("link", name="营业时间与升级").click()
    page.wait_for_url("**/settings/sla/site")
    page.get_by_label("策略层", exact=True).select_option("estate:DEMO-RES")
    page.get_by_role("button", name="查看").click()
    page.wait_for_url("**/settings/sla/site?scope=estate%3ADEMO-RES")
    ladder = page.locator("#ladder-table").inner_text()
    assert "客服主管" in ladder and "总部" in ladder, ladder
    page.get_by_label("等级", exact=True).select_option("moderate")
    page.get_by_label("受理时间（项目当地时间）").fill(args["received_at"])
    resolution = page.locator('#preview-table tr[data-stage="resolution"]')
    resolution.wait_for()
    page.wait_for_function(  # the preview of the chosen receipt (the first one shown is for now)
        "day => { const r = document.querySelector('#preview-table tr[data-stage=resolution]');"
        " return r && r.textContent.includes(day) && r.cells[2].textContent.includes('17:30'); }",
        arg=args["received_at"][:10])
    before = resolution.inner_text()
    page.locator("#set-calendar").check()
    page.locator("#f-hours-1-start").fill("11:00")  # overlaps 08:30-12:00
    error = page.locator("#f-hours-1-start + .live-error")
    error.wait_for()
    assert "重叠" in error.inner_text() and page.locator("#f-hours-1-start").get_attribute("aria-invalid") == "true"
    page.locator("#f-hours-1-start").fill("13:30")
    page.locator("#f-hours-1-end").fill("18:00")
    page.wait_for_function("() => { const r = document.querySelector('#preview-table tr[data-stage=resolution]');"
                           " return r && !document.getElementById('preview-table').hidden"
                           " && r.cells[2].textContent.includes('18:00'); }")
    after = resolution.inner_text()
    assert resolution.get_attribute("data-changed") == "1" and "已变化" in after, after
    assert page.locator(".live-error").count() == 0
    assert page.get_by_label("仅新投诉：未办结案件保持原时限（默认）").is_checked()
    j.shot(page, "92-sla-site-hours-preview")
    page.context.close()
    return {"before": before, "after": after}


SETTINGS_JOURNEYS["sla_site_settings"] = sla_site_settings
