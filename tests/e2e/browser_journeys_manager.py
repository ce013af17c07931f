"""Manager journeys in Chromium (registered in ``browser_journeys.JOURNEYS``; run as its child process): an
agent asks for an extension and the supervisor approves it from the 延期审批 inbox; a site manager edits a time
limit and watches the live preview; head office opens the league table and drills down. Screenshots 60-69."""
from __future__ import annotations

import re


def extension(j, args: dict) -> dict:
    """Agent: 申请延期 on the case page. Supervisor: 延期审批 -> the case -> 批准延期; the original due stays shown."""
    page = j.page()
    j.log_in(page, "agent@demo")
    page.goto(args["url"])
    form = page.locator("#act-request_extension")
    form.locator("summary").click()
    form.get_by_label("阶段").select_option(args["stage"])
    form.get_by_label("新的截止时间（项目当地时间）").fill(args["new_due_local"])
    form.get_by_label("延期理由").fill("等待厂家配件，预计三天到货")
    j.shot(page, "60-extension-request-form")
    form.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(re.escape(args["url"]) + r"(#extensions)?$"))
    assert page.get_by_text("已提交延期申请，由上一级审批。").is_visible()
    pending = page.locator("#extension-pending")
    assert "等待厂家配件" in pending.inner_text() and "这是您提交的延期申请" in pending.inner_text()
    assert page.get_by_role("button", name="批准延期").count() == 0  # never the requester's own decision
    page.context.close()

    boss = j.page()
    j.log_in(boss, "supervisor@demo")
    boss.get_by_role("link", name="延期审批").click()
    boss.wait_for_url("**/extensions")
    row = boss.locator(f'#extension-inbox tr[data-reference="{args["reference"]}"]')
    assert "等待厂家配件" in row.inner_text() and "客服专员 张" in row.inner_text(), row.inner_text()
    j.shot(boss, "61-extension-inbox")
    row.get_by_role("link", name=args["reference"]).click()
    boss.wait_for_url(re.compile(r".*/complaints/[0-9a-f-]{36}#extensions$"))
    section = boss.locator("#extensions")
    section.get_by_label("审批意见（驳回时必填）").fill("同意，请督促厂家尽快到货")
    section.get_by_role("button", name="批准延期").click()
    boss.wait_for_url(re.compile(r".*/complaints/[0-9a-f-]{36}#extensions$"))
    assert boss.get_by_text("已批准延期。").is_visible()
    extended = boss.locator(f'li.deadline[data-stage="{args["stage"]}"] .extended')
    assert "已延期：原定时限" in extended.inner_text(), extended.inner_text()
    assert "已批准" in boss.locator("#extension-history").inner_text()
    j.shot(boss, "62-extension-approved")
    return {"extended": extended.inner_text()}


def sla_settings(j, args: dict) -> dict:
    """Site manager: 时限设置 for DEMO-RES, change the first-contact limit, the preview follows; a bad limit
    shows its line. Nothing is saved (the running system's policy stays as the other journeys expect)."""
    page = j.page()
    j.log_in(page, "manager@demo")
    page.get_by_role("link", name="时限设置").click()
    page.wait_for_url("**/settings/sla")
    page.get_by_label("策略层", exact=True).select_option("estate:DEMO-RES")
    page.get_by_role("button", name="查看").click()
    page.wait_for_url("**/settings/sla?scope=estate%3ADEMO-RES")
    assert page.locator("#policy-in-force").is_visible()
    page.get_by_label("等级").select_option("moderate")
    page.get_by_label("受理时间（项目当地时间）").fill("2026-11-24T10:00")
    first = page.locator('#preview-table tr[data-stage="first_contact"] td').nth(1)
    page.wait_for_function("() => { const c = document.querySelector("
                           "'#preview-table tr[data-stage=\"first_contact\"] td:nth-child(2)');"
                           " return c && c.textContent.startsWith('2026-11-24'); }")
    before = first.inner_text()
    j.shot(page, "63-sla-settings")
    editor = page.get_by_label("策略（YAML）")
    editor.fill('severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: "15m"}\n')
    page.wait_for_function("() => { const c = document.querySelector("
                           "'#preview-table tr[data-stage=\"first_contact\"] td:nth-child(2)');"
                           " return c && c.textContent === '2026-11-24 10:15'; }")
    after = first.inner_text()
    assert after != before, (before, after)
    j.shot(page, "64-sla-preview-changed")
    editor.fill('severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: "soon"}\n')
    problems = page.locator("#policy-problems")
    problems.get_by_text(re.compile("第 4 行")).wait_for()
    assert page.locator("#preview-table").is_hidden()
    j.shot(page, "65-sla-preview-error")
    return {"before": before, "after": after, "problem": problems.inner_text()}


def dashboard(j, args: dict) -> dict:
    """Head office: 运营看板, rank the league table by on-time first contact, drill down from an estate's count
    into its cases and open one; the CSV export answers for the session."""
    page = j.page()
    j.log_in(page, "hq@demo")
    page.get_by_role("link", name="运营看板").click()
    page.wait_for_url("**/dashboard")
    assert page.get_by_role("heading", name="项目排行榜").is_visible()
    assert page.locator("#chart-categories, #chart-on-time").count() >= 1
    j.shot(page, "66-dashboard")
    page.locator("#league thead").get_by_role("link", name="首次联系及时率").click()
    page.wait_for_url(re.compile(r".*/dashboard\?.*sort=on_time_pct.*"))
    row = page.locator('#league tr[data-estate="DEMO-RES"]')
    received = int(row.locator("a.drill-received").inner_text())
    assert received >= 1, received
    j.shot(page, "67-league-by-on-time")
    export = page.request.get(j.base + page.locator("#export-league-csv").get_attribute("href"))
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv"), export.status
    row.locator("a.drill-received").click()
    page.wait_for_url(re.compile(r".*/dashboard/drilldown\?metric=received.*estate=DEMO-RES.*"))
    assert page.get_by_role("heading", name=re.compile("受理投诉数")).is_visible()
    refs = page.locator("#drilldown tbody tr").evaluate_all("rs => rs.map(r => r.dataset.reference)")
    assert refs and (args["reference"] in refs or len(refs) == 50), refs[:5]
    j.shot(page, "68-drilldown")
    page.locator("#drilldown tbody tr a").first.click()
    page.wait_for_url(re.compile(r".*/complaints/[0-9a-f-]{36}$"))
    assert page.locator("#reference").is_visible()
    j.shot(page, "69-drilldown-case")
    return {"received": received, "rows": len(refs)}


MANAGER_JOURNEYS = {"extension": extension, "sla_settings": sla_settings, "dashboard": dashboard}
