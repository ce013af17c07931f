"""Accessibility journeys (run as a child process by ``test_console_accessibility.py``, like the others).

``a11y_pages``: the main pages of each role through axe-core (``axe-playwright-python`` bundles ``axe.min.js``;
nothing is downloaded at run time) at 1366×768 for staff and 390×844 for owners; returns each page's violations of
impact serious or critical (and the ids of lesser ones), its ``lang`` and whether it scrolls sideways (the
complaint list also sorted by a click on a header: its aria-sort and row order). ``a11y_survey``: the owner's
survey behind a real link, its form, the form with an error and the thank-you page. ``keyboard_agent``: an agent
signs in, records a hotline complaint and records the contact on its case with Tab/Shift+Tab/Enter/Space/arrow keys
only, checking the skip link and the visible focus indicator on the way.
"""
from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe

PHONE = {"width": 390, "height": 844}  # browser_journeys.PHONE (not imported: it imports this module)
SEVERE = ("serious", "critical")
STAFF_PAGES = {
    "agent@demo": [("agent-home", "/"), ("agent-my-queue", "/queue?mine=1"), ("hotline-console", "/complaints/new"),
                   ("callback-queue", "/callbacks"), ("complaint-list", "/complaints"), ("case-page", "{case}")],
    "supervisor@demo": [("estate-queue", "/queue?estate=DEMO-RES"), ("escalations", "/escalations"),
                        ("extension-approvals", "/extensions"), ("duty-settings", "/settings/duty")],
    "manager@demo": [("sla-settings", "/settings/sla"), ("routing-settings", "/settings/routing"),
                     ("template-settings", "/settings/templates")],
    "hq@demo": [("dashboard", "/dashboard"), ("alert-settings", "/settings/alerts"), ("hq-home-en", "/?lang=en")],
    "admin@demo": [("admin-users", "/admin/users"), ("admin-estates", "/admin/estates")],
}
OWNER_PAGES = [("owner-estates", "/t/demo/complain"), ("owner-form", "/t/demo/e/DEMO-RES/complain"),
               ("owner-status", "/t/demo/status"), ("owner-survey-unknown", "/t/demo/survey/{token}")]


def audit(j, page, name: str, width: int) -> dict:
    """axe's serious/critical violations of the page as shown, its lang, its sideways scroll; a screenshot."""
    page.wait_for_load_state("load")
    results = Axe().run(page).response
    found = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
              "targets": [" ".join(map(str, n["target"])) for n in v["nodes"]][:5]}
             for v in results["violations"] if v["impact"] in SEVERE]
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    j.shot(page, f"a11y-{name}")
    lesser = sorted(f'{v["id"]} ({v["impact"]})' for v in results["violations"] if v["impact"] not in SEVERE)
    return {"violations": found, "lang": page.locator("html").get_attribute("lang"), "scroll_width": scroll,
            "width": width, "url": page.url, "rules_passed": len(results["passes"]), "lesser": lesser}


def a11y_pages(j, args: dict) -> dict:
    report = {}
    for user, pages in STAFF_PAGES.items():
        page = j.page()
        j.log_in(page, user)
        for name, path in pages:
            page.goto(j.base + path.format(case=args["case_path"]))
            report[name] = audit(j, page, name, page.viewport_size["width"])
        if user == "agent@demo":
            report["complaint-list-sorted"] = sorted_complaints(j, page)
        page.context.close()
    page = j.page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    for name, path in OWNER_PAGES:
        page.goto(j.base + path.format(token=args["token"]))
        report[name] = audit(j, page, name, PHONE["width"])
    page.goto(f"{j.base}/t/demo/status")
    page.get_by_label("投诉编号").fill(args["reference"])
    page.get_by_label("您登记的电话号码").fill(args["phone"])
    page.get_by_role("button", name="查询进度").click()
    page.locator("#owner-result").wait_for()
    report["owner-status-result"] = audit(j, page, "owner-status-result", PHONE["width"])
    return report


def a11y_survey(j, args: dict) -> dict:
    """The owner's survey behind a real SMS link (``args["path"]``) on a phone: the form as the link opens it, the
    form as the server answers a choice left out (the browser's own check taken away), and the thank-you page."""
    page = j.page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(j.base + args["path"])
    page.locator("#survey-form").wait_for()
    report = {"owner-survey": audit(j, page, "owner-survey", PHONE["width"])}
    # each choice one line, the button beside its words, the label a touch target of 44 px or more
    report["owner-survey"]["choice_heights"] = page.eval_on_selector_all(
        "label.choice", "labels => labels.map(l => Math.round(l.getBoundingClientRect().height))")
    page.eval_on_selector_all("#survey-form [required]", "inputs => inputs.forEach(i => i.required = false)")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    page.locator("#e-satisfaction").wait_for()
    report["owner-survey-invalid"] = audit(j, page, "owner-survey-invalid", PHONE["width"])
    page.get_by_role("radio", name=args["choice"], exact=True).check()
    page.get_by_label("您的意见（选填）").fill(args["words"])
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    page.locator("#survey-done").wait_for()
    report["owner-survey-done"] = audit(j, page, "owner-survey-done", PHONE["width"])
    report["owner-survey-done"]["text"] = page.locator("#survey-done").inner_text()
    page.context.close()
    return report


def sorted_complaints(j, page) -> dict:
    """The complaint list sorted by a click on its Estate header (ascending), then again (descending): the page
    as audited after the second click, the headers' aria-sort and the rows' references after each click."""
    page.goto(f"{j.base}/complaints?channel=web")
    orders = {}
    for order in ("asc", "desc"):
        with page.expect_navigation():
            page.locator("#complaints thead a.sort", has_text="项目").click()
        assert f"sort=estate&order={order}" in page.url and "channel=web" in page.url, page.url
        orders[order] = [a.inner_text().strip() for a in page.locator("#complaints tbody td:first-child a").all()]
    found = audit(j, page, "complaint-list-sorted", page.viewport_size["width"])
    aria = {th.inner_text().replace("▲", "").replace("▼", "").strip(): th.get_attribute("aria-sort")
            for th in page.locator("#complaints thead th[aria-sort]").all()}
    return found | {"aria_sort": aria, "references": orders}


def tab_to(page, selector: str, key: str = "Tab", limit: int = 150) -> dict:
    """Press ``key`` until the focused element matches ``selector``; returns its focus style."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
                return {outline: s.outlineStyle, width: parseFloat(s.outlineWidth), visible: e.matches(':focus-visible'),
                        left: e.getBoundingClientRect().left}; }""")
    raise AssertionError(f"{selector} never got the focus with {key}")


def assert_focus_ring(style: dict, what: str) -> None:
    assert style["visible"] and style["outline"] != "none" and style["width"] >= 2, (what, style)


def type_into(page, selector: str, text: str) -> None:
    assert_focus_ring(tab_to(page, selector), selector)
    page.keyboard.type(text)


def choose(page, selector: str, value: str) -> None:
    """A <select> by keyboard: focus it with Tab, then arrow keys until ``value`` is chosen."""
    assert_focus_ring(tab_to(page, selector), selector)
    for _ in range(30):
        if page.eval_on_selector(selector, "s => s.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} not reachable with the arrow keys in {selector}")


def keyboard_agent(j, args: dict) -> dict:
    page = j.page()
    page.goto(f"{j.base}/login")
    skip = tab_to(page, "a.skip", key="Shift+Tab")  # the username field has the focus: the skip link is before
    assert skip["left"] >= 0, skip  # shown on the screen once focused
    assert_focus_ring(skip, "skip link")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    type_into(page, "#username", "agent@demo")
    type_into(page, "#password", "demo-password")
    tab_to(page, "form button[type=submit]")
    j.shot(page, "a11y-keyboard-login")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # the browser keeps the skip link's #main across the login redirect
    assert page.url.split("#")[0] == f"{j.base}/", (page.url, page.locator("main").inner_text()[:300])
    assert page.evaluate("document.scrollingElement.scrollWidth") <= page.viewport_size["width"]

    assert_focus_ring(tab_to(page, 'nav a[href$="/complaints/new"]'), "record link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/complaints/new")
    choose(page, "#f-estate", "DEMO-RES")
    assert page.locator("#f-channel").input_value() == "hotline"
    type_into(page, "#f-name", "键盘女士")
    type_into(page, "#f-phone", args["phone"])
    type_into(page, "#f-description", "5栋地下车库照明全部不亮，键盘登记")
    assert_focus_ring(tab_to(page, "#f-urgent"), "urgent")
    page.keyboard.press("Space")
    assert page.locator("#f-urgent").is_checked()
    tab_to(page, "#f-description", key="Shift+Tab")  # and back again, then on to the submit button
    tab_to(page, "form button[type=submit].primary")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/complaints/[0-9a-f-]{36}$"))
    reference = page.locator("#reference").inner_text().strip()
    j.shot(page, "a11y-keyboard-case")

    while page.locator("#act-contact").count() == 0:  # the case is being opened: the page reloads itself
        page.wait_for_timeout(1000)
        page.reload()
    assert_focus_ring(tab_to(page, "#act-contact summary"), "contact action")
    page.keyboard.press("Enter")
    type_into(page, "#act-contact textarea", "已电话联系业主，今晚派电工检修")
    tab_to(page, "#act-contact button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text("已记录：联系业主。").wait_for()
    assert page.locator("#status").inner_text() == "已联系业主"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= page.viewport_size["width"]
    j.shot(page, "a11y-keyboard-contacted")
    return {"reference": reference, "url": page.url}


A11Y_JOURNEYS = {"a11y_pages": a11y_pages, "keyboard_agent": keyboard_agent, "a11y_survey": a11y_survey}
