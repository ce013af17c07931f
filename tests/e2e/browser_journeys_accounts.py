"""Accounts journey in Chromium (registered in ``browser_journeys.JOURNEYS``; run as its child process): a group
admin creates a user on 用户管理 and reads the one-time initial password; the user logs in with it, turns on
两步验证 on 我的账户 (codes from pyotp), logs out and logs in again with password + code. Screenshots 70-73."""
from __future__ import annotations

import re
import time

import pyotp


def _log_in(j, page, username: str, password: str) -> None:
    page.goto(f"{j.base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def accounts(j, args: dict) -> dict:
    admin = j.page()
    _log_in(j, admin, "admin@demo", "demo-password")
    admin.wait_for_url(f"{j.base}/")
    admin.get_by_role("link", name="用户管理").click()
    admin.wait_for_url("**/admin/users")
    admin.get_by_label("用户名（登录名）").fill(args["username"])
    admin.get_by_label("姓名").fill("浏览器测试")
    admin.locator("select[name=role]").first.select_option("agent")
    admin.locator("select[name=estate]").first.select_option("DEMO-RES")
    admin.get_by_role("button", name="创建用户").click()
    password = admin.locator("#initial-password").inner_text().strip()
    assert len(password) == 16, password
    j.shot(admin, "70-admin-user-created")

    user = j.page()
    _log_in(j, user, args["username"], password)
    user.wait_for_url(f"{j.base}/")
    user.get_by_role("link", name="我的账户").click()
    user.get_by_role("button", name="设置两步验证").click()
    user.wait_for_selector(".qr svg", state="visible")
    secret = user.locator("#totp-secret").inner_text().strip()
    j.shot(user, "71-account-totp-qr")
    totp = pyotp.TOTP(secret)
    user.locator("#f-code").fill(totp.at(time.time() - 30))
    user.get_by_role("button", name="确认并启用").click()
    user.wait_for_selector("#recovery-codes")
    assert user.locator("#recovery-codes li").count() == 10
    j.shot(user, "72-account-recovery-codes")
    user.get_by_role("button", name="退出登录").click()
    user.wait_for_url("**/login")

    _log_in(j, user, args["username"], password)
    user.wait_for_selector("input[name=totp]")
    assert user.get_by_text(f"{args['username']} 的两步验证").is_visible()
    user.get_by_label("身份验证器中的动态验证码，或恢复码").fill(totp.now())
    j.shot(user, "73-login-totp-step")
    user.get_by_role("button", name="验证").click()
    user.wait_for_url(f"{j.base}/")
    assert re.search("浏览器测试", user.locator("header").inner_text())
    return {"username": args["username"]}


ACCOUNT_JOURNEYS = {"accounts": accounts}
