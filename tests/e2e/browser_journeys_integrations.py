"""Integrations journey in Chromium (registered in ``browser_journeys.JOURNEYS``; run as its child process): a
group admin issues an API key on 系统集成 and sees it once, adds a webhook and reads its signing secret once,
opens its delivery log, exports the audit log as CSV from 审计日志, then revokes the key and deletes the webhook
again so the demo tenant is left as seeded. Screenshots 80-83."""
from __future__ import annotations


def integrations(j, args: dict) -> dict:
    page = j.page()
    j.log_in(page, "admin@demo")
    page.get_by_role("link", name="系统集成").click()
    page.wait_for_url("**/admin/integrations")

    page.get_by_label("密钥名称").fill(args["key_name"])
    page.get_by_label("CTI（客服热线电话系统）").check()
    page.get_by_role("button", name="签发密钥").click()
    key = page.locator("#new-api-key").inner_text().strip()
    assert len(key) >= 40, key
    j.shot(page, "80-integrations-api-key-once")
    page.goto(f"{j.base}/admin/integrations")
    listing = page.locator("#api-keys").inner_text()
    assert args["key_name"] in listing and key[:8] in listing and key not in page.content()

    page.get_by_label("接收地址（URL）").fill(args["url"])
    page.locator("input[name=events][value=case_opened]").check()
    page.locator("input[name=events][value=sla_breached]").check()
    page.get_by_label("备注").fill("浏览器测试")
    page.get_by_role("button", name="添加 Webhook").click()
    secret = page.locator("#new-webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_"), secret
    j.shot(page, "81-integrations-webhook-secret-once")
    page.goto(f"{j.base}/admin/integrations")
    page.get_by_role("link", name=args["url"]).click()
    page.wait_for_selector("#deliveries")
    assert page.get_by_role("heading", name="投递记录").is_visible()

    page.get_by_role("link", name="审计日志").click()
    page.wait_for_url("**/admin/audit")
    page.get_by_label("操作").select_option("api_key_issued")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**action=api_key_issued**")
    j.shot(page, "82-audit-filtered-with-export")
    with page.expect_download() as info:
        page.locator("#audit-export-csv").click()
    download = info.value
    with open(download.path(), encoding="utf-8-sig") as f:
        exported = f.read()
    assert exported.startswith("时间,用户,操作") and "签发 API 密钥" in exported, exported[:300]
    assert args["key_name"] in exported and key not in exported

    page.goto(f"{j.base}/admin/integrations")
    page.get_by_role("button", name=f"撤销 {args['key_name']}").click()
    page.wait_for_selector("p.flash")
    page.get_by_role("button", name=f"删除 {args['url']}").click()
    page.wait_for_selector("p.flash")
    assert args["url"] not in page.locator("#webhooks").inner_text()
    j.shot(page, "83-integrations-cleaned-up")
    return {"prefix": key[:8], "download": download.suggested_filename}


INTEGRATION_JOURNEYS = {"integrations": integrations}
