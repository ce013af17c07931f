"""Managers' daily digest: when it is due (the tenant's hour in its zone), who gets it, what it says, and that a
digest goes once per manager and day (timer passes, the RPC, a failing workflow, opt-outs), on SQLite."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.errors import Forbidden, ValidationFailed
from notify import digest, staff
from notify.domain import digest as rules
from notify.domain.digest import Recipient, Setting
from notify.tables import digest_runs, manager_digests, messages

UTC = dt.timezone.utc
BASE = "https://console.example.cn"
TENANT = str(uuid.uuid4())


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


# --- when: the tenant's hour in its zone, with a catch-up of a few hours

@pytest.mark.parametrize("now, day", [
    (at(2026, 11, 24, 23, 59), None),                       # 07:59 in Shanghai: not yet
    (at(2026, 11, 25, 0, 0), dt.date(2026, 11, 25)),        # 08:00
    (at(2026, 11, 25, 3, 59), dt.date(2026, 11, 25)),       # 11:59: a notify down at 08:00 catches up
    (at(2026, 11, 25, 4, 0), None),                         # 12:00: too late for "yesterday"
    (at(2026, 11, 24, 16, 30), None),                       # 00:30 on the 25th
])
def test_due_at_the_tenants_hour_in_shanghai(now, day):
    assert rules.due_day(rules.DEFAULT, now) == day


def test_due_in_the_tenants_own_zone_and_hour():
    urumqi = Setting(True, 8, "Asia/Urumqi")  # UTC+6: 08:00 is 02:00 UTC
    assert rules.due_day(urumqi, at(2026, 11, 25, 1, 59)) is None
    assert rules.due_day(urumqi, at(2026, 11, 25, 2, 0)) == dt.date(2026, 11, 25)
    late = Setting(True, 22, "Asia/Shanghai")  # the catch-up ends at midnight: never the next day's date
    assert rules.due_day(late, at(2026, 11, 25, 15, 59)) == dt.date(2026, 11, 25)
    assert rules.due_day(late, at(2026, 11, 25, 16, 1)) is None
    midnight = Setting(True, 0, "Asia/Shanghai")
    assert rules.due_day(midnight, at(2026, 11, 24, 16, 0)) == dt.date(2026, 11, 25)
    assert rules.due_day(Setting(False, 8, "Asia/Shanghai"), at(2026, 11, 25, 0, 30)) is None


def test_yesterday_and_today_are_local_days():
    since, until = rules.window(dt.date(2026, 11, 25), "Asia/Shanghai")
    assert (since, until) == (at(2026, 11, 23, 16), at(2026, 11, 24, 16))
    assert rules.end_of_today(at(2026, 11, 25, 0, 5), "Asia/Shanghai") == at(2026, 11, 25, 16)
    assert rules.end_of_today(at(2026, 11, 24, 15, 59), "Asia/Shanghai") == at(2026, 11, 24, 16)


@pytest.mark.parametrize("data, field", [
    ({"enabled": "yes", "hour": 8}, "enabled"), ({"enabled": True, "hour": 24}, "hour"),
    ({"enabled": True, "hour": "8"}, "hour"), ({"enabled": True, "hour": True}, "hour"),
    ({"enabled": True, "hour": 8, "timezone": "Mars/Olympus"}, "timezone"),
    ({"enabled": True, "hour": 8, "timezone": "Asia"}, "timezone"),  # a directory of the zone database
    ({"enabled": True, "hour": 8, "timezone": "x" * 300}, "timezone"), ([], "settings")])
def test_bad_settings_name_their_field(data, field):
    with pytest.raises(rules.InvalidSetting) as bad:
        rules.clean_setting(data)
    assert bad.value.field == field


def test_opt_outs_are_checked_and_lower_cased():
    assert rules.clean_opt_outs([" Wang@Example.CN ", "wang@example.cn"]) == ["wang@example.cn"]
    with pytest.raises(rules.InvalidSetting) as bad:
        rules.clean_opt_outs(["ok@example.cn", "nobody"])
    assert bad.value.field == "opt_outs[1]"


# --- who and what

def contact(role, estate, email, name="", locale="zh_CN"):
    return {"role": role, "estate_code": estate, "email": email, "name": name, "locale": locale}


def test_one_recipient_per_address_with_all_its_estates():
    contacts = [contact("site_manager", "DEMO-RES", "Wang@demo.example", "项目经理 王"),
                contact("site_manager", "DEMO-NEW", "wang@demo.example"),
                contact("cs_supervisor", "DEMO-RES", "li@demo.example", "李", "en"),
                contact("head_office", None, "hq@demo.example"),
                contact("site_manager", "DEMO-OFFICE", "hq@demo.example"),  # every estate wins
                contact("agent", "DEMO-RES", "agent@demo.example"),          # not a manager
                contact("site_manager", "DEMO-RES", "gone@demo.example")]
    found = rules.recipients(contacts, {"gone@demo.example"})
    assert found == [Recipient("hq@demo.example", "", "zh_CN", None),
                     Recipient("li@demo.example", "李", "en", frozenset({"DEMO-RES"})),
                     Recipient("wang@demo.example", "项目经理 王", "zh_CN", frozenset({"DEMO-RES", "DEMO-NEW"}))]


NOW = at(2026, 11, 25, 0, 5)  # 08:05 in Shanghai


def item(ref, estate="DEMO-RES", **flags):
    due = flags.pop("due", NOW - dt.timedelta(hours=5))
    return {"complaint_id": str(uuid.uuid4()), "reference": ref, "estate": estate, "estate_name": "锦绣花园",
            "status": "assigned", "severity": "normal", "assignee": flags.pop("assignee", None),
            "escalation_level": flags.pop("level", 0), "received_at": "2026-11-23T01:00:00+00:00",
            "next_deadline": {"stage": "resolution", "due_at": due.isoformat()},
            **{k: flags.get(k, False) for k in ("overdue", "due_today", "escalated", "extension_pending")}}


FIGURES = {
    "estates": [
        {"estate": "DEMO-RES", "estate_name": "锦绣花园", "new": 4, "resolved": 2, "open": 9, "overdue": 2,
         "due_today": 1, "escalated": 1, "extensions_pending": 1},
        {"estate": "DEMO-OFFICE", "estate_name": "环球金融中心", "new": 1, "resolved": 0, "open": 1, "overdue": 1,
         "due_today": 0, "escalated": 0, "extensions_pending": 0}],
    "items": [
        item("TS-TODAY", due_today=True, due=NOW + dt.timedelta(hours=6)),
        item("TS-ESC", escalated=True, level=2, due=NOW + dt.timedelta(hours=30)),
        item("TS-LATE2", overdue=True, due=NOW - dt.timedelta(hours=2)),
        item("TS-LATE1", overdue=True, assignee="wang", due=NOW - dt.timedelta(days=3)),
        item("TS-OFFICE", estate="DEMO-OFFICE", overdue=True),
        item("TS-EXT", extension_pending=True, due=NOW + dt.timedelta(hours=30))]}
CALLBACKS = {"DEMO-RES": {"callbacks_pending": 3, "callbacks_overdue": 1, "dissatisfied": 1},
             "DEMO-NEW": {"callbacks_pending": 1, "callbacks_overdue": 0}}


def test_a_site_manager_sees_their_estates_only_worst_first():
    wang = Recipient("wang@demo.example", "项目经理 王", "zh_CN", frozenset({"DEMO-RES", "DEMO-NEW"}))
    found = rules.summary(wang, FIGURES, CALLBACKS)
    assert found["totals"] == {"new": 4, "resolved": 2, "open": 9, "overdue": 2, "due_today": 1, "escalated": 1,
                               "extensions_pending": 1, "callbacks_pending": 4, "callbacks_overdue": 1,
                               "dissatisfied": 1}
    assert [e["code"] for e in found["estates"]] == ["DEMO-NEW", "DEMO-RES"]
    assert [i["reference"] for i in found["items"]] == ["TS-LATE1", "TS-LATE2", "TS-ESC", "TS-EXT", "TS-TODAY"]
    assert [i["reference"] for i in rules.summary(wang, FIGURES, CALLBACKS, worst=2)["items"]] == \
        ["TS-LATE1", "TS-LATE2"]


def test_the_mail_says_it_all_with_links_to_the_console():
    from notify.templates import render

    wang = Recipient("wang@demo.example", "项目经理 王", "zh_CN", frozenset({"DEMO-RES", "DEMO-NEW"}))
    found = rules.summary(wang, FIGURES, CALLBACKS)
    context = rules.digest_context(wang, found, dt.date(2026, 11, 25), NOW, "Asia/Shanghai", BASE + "/")
    mail = render(rules.KIND, "zh_CN", context)
    assert mail.subject == "【每日摘要】DEMO-NEW、锦绣花园 2026-11-25：逾期 2 件，今日到期 1 件，未办结 9 件"
    text = mail.text
    assert "项目经理 王：" in text and "统计截至 2026-11-25 08:05" in text and "昨日（2026-11-24）" in text
    for line in ("新受理投诉：4", "已办结：2", "回访不满意：1", "仍未办结：9", "已逾期（超时）：2", "今日到期：1",
                 "已升级待处理：1", "延期申请待审批：1", "待回访：4（其中已逾期 1）"):
        assert line in text, line
    assert "TS-LATE1（锦绣花园）已逾期 3 天（解决），处理人：wang" in text
    assert "TS-TODAY（锦绣花园）今日 14:05 到期（解决）" in text and "TS-ESC（锦绣花园）已升级（第 2 级）" in text
    assert text.index("TS-LATE1") < text.index("TS-LATE2") < text.index("TS-ESC") < text.index("TS-TODAY")
    assert f"{BASE}/complaints/{FIGURES['items'][3]['complaint_id']}" in text and f"{BASE}/queue?overdue=1" in text
    assert "TS-OFFICE" not in text and "各项目" in text  # another estate's case; two estates: the table
    assert f'<a href="{BASE}/extensions">1</a>' in mail.html and "TS-LATE1" in mail.html


def test_head_office_in_english_and_the_quiet_mail():
    from notify.templates import render

    hq = Recipient("hq@demo.example", "", "en", None)
    found = rules.summary(hq, FIGURES, CALLBACKS)
    mail = render(rules.KIND, "en", rules.digest_context(hq, found, dt.date(2026, 11, 25), NOW, "Asia/Shanghai", BASE))
    assert mail.subject == "Daily digest 2026-11-25 (all estates): 3 overdue, 1 due today, 10 open"
    assert "TS-OFFICE (锦绣花园) overdue by 5 h (resolution)" in mail.text and "Per estate" in mail.text
    quiet = rules.summary(Recipient("x@demo.example", "", "zh_CN", frozenset({"DEMO-EMPTY"})), FIGURES, CALLBACKS)
    assert rules.is_quiet(quiet)
    mail = render(rules.KIND, "zh_CN", rules.digest_context(
        Recipient("x@demo.example", "", "zh_CN", frozenset({"DEMO-EMPTY"})), quiet, dt.date(2026, 11, 25), NOW,
        "Asia/Shanghai", BASE))
    assert mail.subject == "【每日摘要】DEMO-EMPTY 2026-11-25：一切正常"
    assert "一切正常" in mail.text and "仍未办结" not in mail.text and "一切正常" in mail.html


def test_html_escapes_what_staff_typed():
    from notify.templates import render

    evil = Recipient("x@demo.example", "<script>x</script>", "zh_CN", None)
    figures = {"estates": [FIGURES["estates"][0] | {"estate_name": "<b>花园</b>"}], "items": []}
    mail = render(rules.KIND, "zh_CN", rules.digest_context(evil, rules.summary(evil, figures, {}),
                                                            dt.date(2026, 11, 25), NOW, "Asia/Shanghai", BASE))
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html


# --- sending: once per manager and local day

class Figures:
    """workflow's digest_figures stand-in: records the windows asked for; ``fail`` raises like a dead broker."""

    def __init__(self, figures=FIGURES):
        self.figures, self.calls, self.fail = figures, [], False

    def __call__(self, tenant_id, since, until, due_before):
        self.calls.append((tenant_id, since, until, due_before))
        if self.fail:
            raise TimeoutError("workflow did not answer")
        return self.figures


@pytest.fixture
def managers(new_uow):
    staff.set_staff_contacts(TENANT, None, [
        {"role": "site_manager", "estate": "DEMO-RES", "name": "项目经理 王", "email": "wang@demo.example"},
        {"role": "site_manager", "estate": "DEMO-NEW", "name": "项目经理 王", "email": "wang@demo.example"},
        {"role": "cs_supervisor", "estate": "DEMO-RES", "name": "李", "email": "li@demo.example", "locale": "en"},
        {"role": "head_office", "name": "总部", "email": "hq@demo.example"},
        {"role": "agent", "estate": "DEMO-RES", "email": "agent@demo.example"}], new_uow())


def digests(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.kind == "daily_digest")
                            .order_by(messages.c.recipient)).mappings().all()


def test_the_timer_sends_once_at_the_hour_and_never_twice(engine, new_uow, fake_clock, managers):
    figures = Figures()
    fake_clock.now_value = at(2026, 11, 24, 23, 59)  # 07:59 local
    assert digest.run_due(engine, new_uow, figures, BASE, fake_clock) == 0 and figures.calls == []
    fake_clock.advance(minutes=1)
    assert digest.run_due(engine, new_uow, figures, BASE, fake_clock) == 3
    [(tenant, since, until, due_before)] = figures.calls
    assert (tenant, since, until, due_before) == (TENANT, at(2026, 11, 23, 16), at(2026, 11, 24, 16),
                                                  at(2026, 11, 25, 16))
    fake_clock.advance(minutes=1)
    assert digest.run_due(engine, new_uow, figures, BASE, fake_clock) == 0 and len(figures.calls) == 1  # done
    sent = digests(engine)
    assert [(m["recipient"], m["locale"], m["status"]) for m in sent] == [
        ("hq@demo.example", "zh_CN", "queued"), ("li@demo.example", "en", "queued"),
        ("wang@demo.example", "zh_CN", "queued")]
    assert sent[2]["subject"].startswith("【每日摘要】DEMO-NEW、锦绣花园 2026-11-25") and BASE in sent[2]["body_text"]
    with engine.connect() as conn:
        rows = conn.execute(select(manager_digests)).mappings().all()
        assert {(r["day"], r["recipient"], r["message_id"]) for r in rows} == {
            ("2026-11-25", m["recipient"], m["id"]) for m in sent}
        assert {r["id"] for r in rows} == {m["complaint_id"] for m in sent}  # the delivery log of each digest
    fake_clock.advance(days=1)  # the next morning: the next day's digest
    assert digest.run_due(engine, new_uow, figures, BASE, fake_clock) == 3 and len(digests(engine)) == 6


def test_a_restart_or_a_second_replica_finds_each_digest_claimed(engine, new_uow, fake_clock, managers):
    fake_clock.now_value = at(2026, 11, 25, 1)
    first = digest.send_digest(TENANT, dt.date(2026, 11, 25), Figures(), new_uow, BASE)
    assert first == {"day": "2026-11-25", "recipients": 3, "queued": 3, "already_sent": 0, "opted_out": 0}
    with engine.begin() as conn:  # the run mark lost (a crash between two tenants): the claims still hold
        conn.execute(digest_runs.delete())
    assert digest.run_due(engine, new_uow, Figures(), BASE, fake_clock) == 0
    again = digest.send_digest(TENANT, dt.date(2026, 11, 25), Figures(), new_uow, BASE)
    assert again["queued"] == 0 and again["already_sent"] == 3 and len(digests(engine)) == 3


def test_workflow_down_writes_nothing_and_the_next_pass_sends(engine, new_uow, fake_clock, managers):
    figures = Figures()
    figures.fail = True
    fake_clock.now_value = at(2026, 11, 25, 0, 30)
    assert digest.run_due(engine, new_uow, figures, BASE, fake_clock) == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(manager_digests)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(digest_runs)).scalar_one() == 0
    figures.fail = False
    fake_clock.advance(minutes=1)
    assert digest.run_due(engine, new_uow, figures, BASE, fake_clock) == 3


def test_opted_out_and_switched_off(engine, new_uow, fake_clock, managers):
    digest.save_settings(TENANT, "u-1", None, {"enabled": True, "hour": 9, "timezone": "Asia/Shanghai",
                                               "opt_outs": ["LI@demo.example"]}, new_uow())
    fake_clock.now_value = at(2026, 11, 25, 0, 30)  # 08:30: before this tenant's 09:00
    assert digest.run_due(engine, new_uow, Figures(), BASE, fake_clock) == 0
    fake_clock.advance(hours=1)
    assert digest.run_due(engine, new_uow, Figures(), BASE, fake_clock) == 2
    assert [m["recipient"] for m in digests(engine)] == ["hq@demo.example", "wang@demo.example"]
    digest.save_settings(TENANT, "u-1", None, {"enabled": False, "hour": 9}, new_uow())  # opt-outs kept
    assert digest.get_settings(TENANT, None, engine)["opt_outs"] == ["li@demo.example"]
    fake_clock.advance(days=1)
    assert digest.run_due(engine, new_uow, Figures(), BASE, fake_clock) == 0
    # sent now on request whatever the setting (an operator), still without the opted-out address
    result = digest.send_digest(TENANT, dt.date(2026, 11, 26), Figures(), new_uow, BASE)
    assert result == {"day": "2026-11-26", "recipients": 2, "queued": 2, "already_sent": 0, "opted_out": 1}


def test_a_manager_with_nothing_gets_the_short_quiet_mail(engine, new_uow, fake_clock, managers):
    fake_clock.now_value = at(2026, 11, 25, 0, 30)
    digest.send_digest(TENANT, dt.date(2026, 11, 25), Figures({"estates": [], "items": []}), new_uow, BASE)
    assert all("一切正常" in m["subject"] or "all quiet" in m["subject"] for m in digests(engine))
    with engine.connect() as conn:
        assert conn.execute(select(manager_digests.c.quiet)).scalars().all() == [True, True, True]


def test_callbacks_come_from_notifys_own_tables(engine, new_uow, fake_clock, managers):
    from estatedesk_common.envelope import Envelope
    from notify import callbacks

    fake_clock.now_value = at(2026, 11, 23, 2)
    for estate in ("DEMO-RES", "DEMO-OFFICE"):
        complaint = str(uuid.uuid4())
        callbacks.on_case_resolved(Envelope(event_type="case_resolved", tenant_id=TENANT, payload={
            "complaint_id": complaint, "reference": f"TS-{estate}", "estate_code": estate, "by": "u9",
            "at": fake_clock.now().isoformat()}), new_uow(), 24)
    fake_clock.now_value = at(2026, 11, 25, 0, 30)
    with engine.connect() as conn:
        found = digest.callback_figures(conn, TENANT, at(2026, 11, 23, 16), at(2026, 11, 24, 16), fake_clock.now())
    assert found == {"DEMO-RES": {"callbacks_pending": 1, "callbacks_overdue": 1},
                     "DEMO-OFFICE": {"callbacks_pending": 1, "callbacks_overdue": 1}}
    digest.send_digest(TENANT, dt.date(2026, 11, 25), Figures({"estates": [], "items": []}), new_uow, BASE)
    wang = [m for m in digests(engine) if m["recipient"] == "wang@demo.example"][0]
    assert "待回访：1（其中已逾期 1）" in wang["body_text"]  # DEMO-RES only


def test_estates_are_named_from_the_owners_contacts_notify_keeps(engine, new_uow, fake_clock, managers,
                                                                 make_case_opened):
    from estatedesk_common.envelope import Envelope
    from notify import owner_updates

    owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=TENANT, payload=make_case_opened(
        estate={"code": "DEMO-NEW", "name": "滨江新城"})), new_uow())
    fake_clock.now_value = at(2026, 11, 25, 0, 30)
    digest.send_digest(TENANT, dt.date(2026, 11, 25), Figures(), new_uow, BASE)
    wang = [m for m in digests(engine) if m["recipient"] == "wang@demo.example"][0]
    assert wang["subject"].startswith("【每日摘要】滨江新城、锦绣花园 2026-11-25")


# --- the setting

def test_settings_default_saved_and_refused(engine, new_uow):
    assert digest.get_settings(TENANT, [["head_office", None]], engine) | {"roles": None} == {
        "enabled": True, "hour": 8, "timezone": "Asia/Shanghai", "opt_outs": [], "roles": None,
        "updated_at": None, "updated_by": None}
    saved = digest.save_settings(TENANT, "u-1", [["group_admin", None]], {
        "enabled": False, "hour": 7, "timezone": "Asia/Urumqi", "opt_outs": ["a@x.cn"]}, new_uow())
    assert (saved["enabled"], saved["hour"], saved["timezone"], saved["opt_outs"], saved["updated_by"]) == (
        False, 7, "Asia/Urumqi", ["a@x.cn"], "u-1")
    again = digest.save_settings(TENANT, "u-2", None, {"enabled": True, "hour": 8, "opt_outs": []}, new_uow())
    assert (again["enabled"], again["hour"], again["timezone"], again["opt_outs"]) == (True, 8, "Asia/Shanghai", [])
    with pytest.raises(ValidationFailed) as bad:
        digest.save_settings(TENANT, "u-1", None, {"enabled": True, "hour": 8, "opt_outs": ["x"]}, new_uow())
    assert bad.value.details["field"] == "opt_outs[0]"
    for roles in ([["site_manager", "DEMO-RES"]], [["cs_supervisor", None]], []):
        with pytest.raises(Forbidden):
            digest.get_settings(TENANT, roles, engine)
        with pytest.raises(Forbidden):
            digest.save_settings(TENANT, "u-1", roles, {"enabled": True, "hour": 8}, new_uow())
    assert digest.get_settings(str(uuid.uuid4()), None, engine)["hour"] == 8  # another tenant: its own default


def test_the_day_asked_for_is_today_or_up_to_a_week_back():
    now = at(2026, 11, 24, 17)  # 01:00 on the 25th in Shanghai
    assert digest.requested_day(None, rules.DEFAULT, now) == dt.date(2026, 11, 25)
    assert digest.requested_day("2026-11-18", rules.DEFAULT, now) == dt.date(2026, 11, 18)
    for bad in ("2026-11-26", "2026-11-17", "yesterday"):
        with pytest.raises(ValidationFailed) as refused:
            digest.requested_day(bad, rules.DEFAULT, now)
        assert refused.value.details["field"] == "day"
