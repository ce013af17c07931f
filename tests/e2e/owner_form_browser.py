"""The owner's complaint form in a real headless Chromium on a phone-sized screen, run as a child process by
``test_owner_form.py`` (same reasons and plumbing as ``browser_journeys.py``, whose ``Journey`` it uses).

    python -m tests.e2e.owner_form_browser <base url> <screenshot dir> <json args: photo, phone>
"""
from __future__ import annotations

import json
import os
import re
import sys
import time

from playwright.sync_api import sync_playwright

from tests.e2e.browser_journeys import CHROMIUM, CHROMIUM_ARGS, PHONE, Journey


def owner_form(j: Journey, args: dict) -> dict:
    """From the tenant's estate list to the form, a refused phone number, then photo + submit -> reference ->
    status page with the photo counted. No sideways scrolling on a 390 px wide screen."""
    page = j.page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(f"{j.base}/t/demo/complain")
    assert page.get_by_role("heading", name="我要投诉").is_visible()
    page.get_by_role("link", name="锦绣花园").click()
    page.wait_for_url("**/t/demo/e/DEMO-RES/complain")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    trap = page.locator("#o-website").bounding_box()
    assert trap["x"] + trap["width"] <= 0  # the honeypot is off screen: not for people
    j.shot(page, "30-owner-form-phone")

    page.get_by_label("您的称呼").fill("冯女士")
    page.get_by_label("手机号码").fill("010-1234567")  # a landline: the form wants a mobile number
    page.get_by_label("楼栋房号").fill("2-3-1201")
    page.get_by_label("遇到了什么问题？").fill("楼下餐馆油烟直排，家里窗户都不敢开")
    page.get_by_label("从相册选择照片").set_input_files(args["photo"])
    time.sleep(3.2)  # a person takes longer than the form's minimum
    page.get_by_role("button", name="提交投诉").click()
    page.locator("#e-phone").wait_for()
    assert "手机号码" in page.locator("#e-phone").inner_text()
    assert page.get_by_label("遇到了什么问题？").input_value().startswith("楼下餐馆油烟直排")
    j.shot(page, "31-owner-form-error")

    page.get_by_label("手机号码").fill(args["phone"])
    page.get_by_label("从相册选择照片").set_input_files(args["photo"])  # chosen again after the error
    time.sleep(3.2)
    page.get_by_role("button", name="提交投诉").click()
    page.locator("#owner-reference").wait_for()
    reference = page.locator("#owner-reference").inner_text().strip()
    assert re.fullmatch(r"TS\d{8}-[0-9A-Z]{6}", reference), reference
    assert "已收到照片 1 张" in page.locator("#owner-done").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    j.shot(page, "32-owner-form-done")

    page.locator("#owner-status-link").click()
    page.wait_for_url("**/t/demo/status")
    page.get_by_label("投诉编号").fill(reference)
    page.get_by_label("您登记的电话号码").fill(args["phone"])
    page.get_by_role("button", name="查询进度").click()
    result = page.locator("#owner-result").inner_text()
    assert reference in result and "随投诉保存的照片和文件：1" in result, result
    thumb = page.locator(".owner-thumbs img").first
    thumb.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    j.shot(page, "33-owner-form-status")
    return {"reference": reference}


def main(argv: list[str]) -> int:
    base_url, shots = argv[:2]
    args = json.loads(argv[2]) if len(argv) > 2 else {}
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            found = owner_form(Journey(browser, base_url, shots), args)
        finally:
            browser.close()
    print(json.dumps(found, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
