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
    offered on 定期报表's estate choice and the owners' estate list -> deactivated -> gone from the owners' list.
    Screenshots 88-89."""
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
    return {"listed": listed, "deactivated": after}


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
