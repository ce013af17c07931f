"""Supervisor and site-manager journeys in Chromium (registered in ``browser_journeys.JOURNEYS``; run as its child
process): a site manager opens 不合格与纠正预防 (the nonconformity record of a case they saw resolved with a loss of
800 yuan, waiting for their decision, linking to the case) and 团队工作量 (DEMO-RES per assignee). Screenshots
92-93."""
from __future__ import annotations


def quality_workload(j, args: dict) -> dict:
    page = j.page()
    j.log_in(page, "manager@demo")
    page.get_by_role("link", name="不合格与纠正预防").click()
    page.wait_for_url("**/quality")
    page.get_by_label("项目", exact=True).select_option("DEMO-RES")
    page.get_by_label("不合格记录状态").select_option("open")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/quality?estate=DEMO-RES*")
    row = page.locator(f'#nonconformities tr[data-reference="{args["reference"]}"]')
    listed = row.inner_text()
    assert "800" in listed and "待项目经理审批" in listed, listed
    assert page.locator("#nonconformities tbody tr").first.get_attribute("data-status") == "open"
    j.shot(page, "92-nonconformity-and-capa")
    row.get_by_role("link", name=args["reference"]).click()
    page.wait_for_url(f"**/complaints/{args['complaint_id']}")
    page.get_by_role("link", name="团队工作量").click()
    page.wait_for_url("**/workload")
    table = page.locator("#workload-DEMO-RES")
    assert table.is_visible(), page.content()[:3000]
    assert "24 小时内到期" in table.inner_text(), table.inner_text()
    j.shot(page, "93-team-workload")
    return {"listed": listed, "workload": table.inner_text()}


QUALITY_JOURNEYS = {"quality_workload": quality_workload}
