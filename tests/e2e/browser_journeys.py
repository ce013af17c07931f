"""Console journeys in a real headless Chromium, run as a child process by ``test_console_browser.py``.

Why a child process: the test session runs under eventlet (nameko's pytest plugin monkey-patches the
standard library first thing), and Playwright's sync API hangs on green threads. This file imports neither
eventlet nor nameko; it drives Debian's ``/usr/bin/chromium`` through Playwright and prints one JSON line of
findings on success (assertion failures exit non-zero with the traceback on stderr).

    python -m tests.e2e.browser_journeys <journey> <base url> <screenshot dir> [json args]
"""
from __future__ import annotations

import json
import os
import re
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


class Journey:
    def __init__(self, browser, base_url: str, shots: str):
        self.browser, self.base, self.shots = browser, base_url.rstrip("/"), shots

    def page(self, **context_options):
        context = self.browser.new_context(locale="zh-CN", **({"viewport": DESKTOP} | context_options))
        context.set_default_timeout(15_000)
        return context.new_page()

    def shot(self, page, name: str) -> None:
        page.screenshot(path=os.path.join(self.shots, f"{name}.png"), full_page=True)

    def log_in(self, page, username: str) -> None:
        page.goto(f"{self.base}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill("demo-password")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{self.base}/")


def agent(j: Journey, _args: dict) -> dict:
    """Log in (Chinese UI), record a hotline complaint through the form, watch the case page fill in."""
    page = j.page()
    page.goto(f"{j.base}/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="员工登录").is_visible()
    j.shot(page, "01-login")
    j.log_in(page, "agent@demo")
    assert page.get_by_role("heading", name="我最近登记的投诉").is_visible()
    j.shot(page, "02-home-agent")

    page.get_by_role("link", name="登记投诉").first.click()
    page.wait_for_url("**/complaints/new")
    page.get_by_label("项目").select_option("DEMO-RES")
    page.get_by_label("楼栋", exact=True).select_option("1栋")  # the chosen estate's buildings (console.js)
    page.get_by_label("设施", exact=True).fill("电梯")  # free text with suggestions
    assert page.get_by_label("受理渠道").input_value() == "hotline"
    page.get_by_label("姓名", exact=True).fill("周女士")
    page.get_by_label("电话", exact=True).fill("12")  # too short: refused server-side, and the form stays filled
    page.get_by_label("电子邮箱", exact=True).fill("zhou@example.com")
    page.get_by_label("楼栋房号", exact=True).fill("1栋101")
    page.get_by_label("投诉内容").fill("1栋电梯今早困人二十分钟，物业电话一直占线 <script>alert(1)</script>")
    page.get_by_role("button", name="提交登记").click()
    assert page.get_by_text("请填写有效的电话号码").is_visible()
    assert page.get_by_label("投诉内容").input_value().startswith("1栋电梯今早困人")
    assert page.get_by_label("项目").input_value() == "DEMO-RES"
    assert page.get_by_label("楼栋", exact=True).input_value() == "1栋"  # the location is kept too
    j.shot(page, "03-complaint-form-errors")

    page.get_by_label("电话", exact=True).fill("13812345678")
    page.get_by_label("紧急").check()
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url(re.compile(r".*/complaints/[0-9a-f-]{36}$"))
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"TS\d{8}-[0-9A-Z]{6}", reference), reference
    assert page.get_by_text(f"投诉已登记，编号：{reference}").is_visible()
    assert page.locator("#description").inner_text().endswith("<script>alert(1)</script>")  # shown as text
    assert page.locator("#location").inner_text().strip() == "1栋 · 电梯"  # where in the estate

    deadline = time.monotonic() + 40
    while page.locator('#timeline li[data-kind="notification_sent"]').count() == 0:
        assert time.monotonic() < deadline, "acknowledgement never reached the case page's timeline"
        time.sleep(1)
        page.reload()
    kinds = page.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds[:2] == ["complaint_received", "case_opened"] and "notification_sent" in kinds, kinds
    first_contact = page.locator('li.deadline[data-stage="first_contact"]')
    text = first_contact.inner_text()
    assert "首次联系业主" in text and "受理后" in text and "分钟" in text, text  # the deadline's explanation
    assert "state-on_time" in first_contact.get_attribute("class")
    assert page.locator("#status").inner_text() == "处理中"
    assert "客服专员 张" in page.locator("#timeline").inner_text()
    j.shot(page, "04-case")
    case_url = page.url

    page.get_by_role("link", name="投诉列表").click()
    page.get_by_label("受理渠道").select_option("hotline")
    page.get_by_role("button", name="筛选").click()
    assert page.get_by_role("link", name=reference).is_visible()
    j.shot(page, "05-complaint-list")
    return {"reference": reference, "url": case_url}


def head_office(j: Journey, _args: dict) -> dict:
    """Counts per estate on the home page; the language switch to English."""
    page = j.page()
    j.log_in(page, "hq@demo")
    assert page.get_by_role("heading", name=re.compile("各项目投诉量")).is_visible()
    table = page.locator("table.counts").inner_text()
    assert "环球金融中心" in table and "微信公众号" in table, table
    assert page.get_by_role("link", name="登记投诉").count() == 0  # head office does not record
    j.shot(page, "06-home-head-office")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name=re.compile("Complaints per estate")).is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    j.shot(page, "07-home-head-office-en")
    return {"table": table}


def owner(j: Journey, args: dict) -> dict:
    """Status by reference + phone on a phone-sized screen; a wrong phone is "not found"."""
    page = j.page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(f"{j.base}/t/demo/status")
    assert page.get_by_role("heading", name="投诉进度查询").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    page.get_by_label("投诉编号").fill(args["reference"])
    page.get_by_label("您登记的电话号码").fill("13800000000")
    page.get_by_role("button", name="查询进度").click()
    assert page.get_by_text("未找到与该编号和电话号码相符的投诉").is_visible()
    j.shot(page, "08-owner-not-found")

    page.get_by_label("您登记的电话号码").fill(args["phone_as_typed"])
    page.get_by_role("button", name="查询进度").click()
    result = page.locator("#owner-result").inner_text()
    assert args["reference"] in result and "处理中" in result, result
    assert "投诉已受理" in result and "工单已建立" in result, result
    assert "客服专员" not in result  # no staff names for the public
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    j.shot(page, "09-owner-status-phone")
    return {"result": result}


def case_actions(j: Journey, args: dict) -> dict:
    """On the case page: record the contact, see a stale second tab refused, resolve with cause and remedy."""
    page = j.page()
    j.log_in(page, "agent@demo")
    page.goto(args["url"])
    stale = page.context.new_page()  # a second tab with the same version, e.g. a colleague's old page
    stale.goto(args["url"])

    form = page.locator("#act-contact")
    form.locator("summary").click()
    form.get_by_label("与业主沟通的内容").fill("已致电业主，约定今天下午三点上门查看")
    form.get_by_role("button", name="提交：联系业主").click()
    page.wait_for_url(args["url"])
    assert page.get_by_text("已记录：联系业主。").is_visible()
    assert page.locator("#status").inner_text() == "已联系业主"
    assert page.locator('#timeline li[data-kind="case_contacted"]').count() == 1
    met = page.locator('li.deadline[data-stage="first_contact"]')
    assert "state-met" in met.get_attribute("class"), met.get_attribute("class")
    j.shot(page, "10-case-contacted")

    other = stale.locator("#act-assign")
    other.locator("summary").click()
    other.get_by_label("处理人（部门或人员）").fill("工程部 李工")
    other.get_by_role("button", name="提交：派单").click()
    assert stale.get_by_text("案件已被他人更新，请刷新后再操作").is_visible()
    assert stale.locator("#act-assign").get_by_label("处理人（部门或人员）").input_value() == "工程部 李工"
    j.shot(stale, "11-case-stale-version")

    form = page.locator("#act-resolve")
    form.locator("summary").click()
    form.get_by_label("原因").select_option(label="设施设备故障")
    form.get_by_label("处理措施").fill("更换电梯门机板并试运行正常")
    form.get_by_label("业主损失（元）").fill("五百")  # not a number: refused with the form kept
    form.get_by_role("button", name="提交：办结").click()
    assert page.get_by_text("请填写业主损失金额（元）：不小于 0 的数字。").is_visible()
    form = page.locator("#act-resolve")
    assert form.get_by_label("处理措施").input_value() == "更换电梯门机板并试运行正常"
    form.get_by_label("业主损失（元）").fill("0")
    form.get_by_role("button", name="提交：办结").click()
    page.wait_for_url(args["url"])
    assert page.get_by_text("已记录：办结。").is_visible()
    assert page.locator("#status").inner_text() == "已解决"
    assert page.locator("#cause").inner_text() == "设施设备故障"
    offered = page.locator(".case-actions details").evaluate_all("ds => ds.map(d => d.id)")
    assert offered == ["act-accept"], offered
    j.shot(page, "12-case-resolved")
    return {"offered": offered}


def supervisor_queue(j: Journey, args: dict) -> dict:
    """The supervisor's queue: the open case coloured by its next deadline; the resolved one not listed."""
    page = j.page()
    j.log_in(page, "supervisor@demo")
    page.get_by_role("link", name="案件队列").click()
    page.wait_for_url("**/queue")
    assert page.get_by_role("heading", name=re.compile("案件队列")).is_visible()
    row = page.locator(f'#queue tr[data-reference="{args["open_reference"]}"]')
    sla = row.get_attribute("data-sla")
    assert sla in ("on_time", "due_soon", "overdue"), sla
    assert f"sla-{sla}" in row.get_attribute("class")
    edge = row.evaluate("r => getComputedStyle(r).boxShadow")
    assert "inset" in edge, edge  # the coloured left edge
    text = row.inner_text()
    assert "锦绣花园" in text and "首次联系业主" in text, text
    assert page.locator(f'#queue tr[data-reference="{args["resolved_reference"]}"]').count() == 0
    assert page.locator('#queue tr[data-reference^="TS"]').evaluate_all(
        "rs => rs.every(r => !r.innerText.includes('环球金融中心'))")  # DEMO-OFFICE is not this supervisor's
    j.shot(page, "13-queue-supervisor")

    page.get_by_label("状态").select_option("all")
    page.get_by_role("button", name="筛选").click()
    assert page.locator(f'#queue tr[data-reference="{args["resolved_reference"]}"]').count() == 1
    page.get_by_role("link", name="升级案件").click()
    page.wait_for_url("**/escalations")
    assert page.get_by_role("heading", name=re.compile("升级案件")).is_visible()
    j.shot(page, "14-escalations")
    return {"sla": sla, "row": text}


def hotline_lookup(j: Journey, args: dict) -> dict:
    """An agent types a caller's phone on the recording form: the owner and their open complaint show up and
    "fill in" copies the owner; then the call the CTI reported is on the home page and its form is prefilled."""
    page = j.page()
    j.log_in(page, "agent@demo")
    page.goto(f"{j.base}/complaints/new")
    page.locator("#f-phone").fill(args["phone"])
    lookup = page.locator("#caller-lookup")
    lookup.get_by_text(args["reference"]).wait_for()
    text = lookup.inner_text()
    assert "已知业主" in text and args["owner"] in text and "未办结的投诉" in text, text
    lookup.get_by_role("button", name="填入表单").first.click()
    assert page.locator("#f-name").input_value() == args["owner"]
    assert page.locator("#f-unit").input_value() == args["unit"]
    j.shot(page, "20-hotline-lookup")

    page.goto(f"{j.base}/")
    panel = page.locator("#calls-panel")
    panel.get_by_text(args["caller"]).wait_for()
    panel.locator(f'a[href$="call={args["call_id"]}"]').click()
    page.wait_for_url(f"**/complaints/new?call={args['call_id']}")
    assert page.locator("#call-banner").is_visible()
    assert page.locator("#f-channel").input_value() == "hotline"
    page.locator("#caller-lookup").get_by_text(args["reference"]).wait_for()  # the known caller, looked up at once
    j.shot(page, "21-hotline-call-form")
    return {"lookup": text}


JOURNEYS = {"agent": agent, "head_office": head_office, "owner": owner, "case_actions": case_actions,
            "supervisor_queue": supervisor_queue}
JOURNEYS["hotline_lookup"] = hotline_lookup
from tests.e2e.browser_journeys_manager import MANAGER_JOURNEYS  # noqa: E402 (extension, sla_settings, dashboard)

JOURNEYS.update(MANAGER_JOURNEYS)
from tests.e2e.browser_journeys_accounts import ACCOUNT_JOURNEYS  # noqa: E402 (users, TOTP)

JOURNEYS.update(ACCOUNT_JOURNEYS)
from tests.e2e.browser_journeys_settings import SETTINGS_JOURNEYS  # noqa: E402 (routing rules, alerts)

JOURNEYS.update(SETTINGS_JOURNEYS)
from tests.e2e.browser_journeys_integrations import INTEGRATION_JOURNEYS  # noqa: E402 (API keys, webhooks, audit)

JOURNEYS.update(INTEGRATION_JOURNEYS)
from tests.e2e.browser_journeys_quality import QUALITY_JOURNEYS  # noqa: E402 (nonconformity/CAPA, workload)

JOURNEYS.update(QUALITY_JOURNEYS)
from tests.e2e.browser_journeys_a11y import A11Y_JOURNEYS  # noqa: E402 (axe-core checks, keyboard only)

JOURNEYS.update(A11Y_JOURNEYS)


def main(argv: list[str]) -> int:
    name, base_url, shots = argv[:3]
    args = json.loads(argv[3]) if len(argv) > 3 else {}
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            found = JOURNEYS[name](Journey(browser, base_url, shots), args)
        finally:
            browser.close()
    print(json.dumps(found, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
