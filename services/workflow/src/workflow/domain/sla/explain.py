"""A deadline's explanation rendered for people: zh-CN (default) and English, from the structured record.

Strings live in the shared catalogue (``estatedesk_common.i18n``, plain Python, no framework).
"""
from __future__ import annotations

import datetime as dt

from estatedesk_common.i18n import DEFAULT_LOCALE, register, t

from .ladder import ROLES

RESTARTS = ("escalated", "original_due")  # limits counted from a rung or an original due time, not a receipt

HOLIDAYS_ZH = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
               "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节",
               "National Day": "国庆节", "Anti-Fascist 70th Day": "抗战胜利纪念日"}

MESSAGES = {
    "sla.source.group": {"zh_CN": "集团默认时限", "en": "Group default limit"},
    "sla.source.region": {"zh_CN": "区域时限（{code}）", "en": "Region limit ({code})"},
    "sla.source.estate": {"zh_CN": "项目自定时限（{code}）", "en": "Estate's own limit ({code})"},
    "sla.source.builtin": {"zh_CN": "系统默认时限（标准 002）", "en": "Built-in default limit (seed 002)"},
    "sla.source.preview": {"zh_CN": "预览的策略文件", "en": "Previewed policy file"},
    "sla.source.ladder": {"zh_CN": "升级阶梯「{code}」", "en": "Escalation rung '{code}'"},
    "sla.source.warning": {"zh_CN": "预警点", "en": "Warning point"},
    "sla.source.extension": {"zh_CN": "延期审批上限「{code}」", "en": "Extension approval limit '{code}'"},
    "sla.policy": {"zh_CN": "策略版本 {version}", "en": "policy version {version}"},
    "sla.category": {"zh_CN": "类别「{category}」专项时限", "en": "override for category '{category}'"},
    "sla.from.receipt": {"zh_CN": "受理后", "en": "from receipt,"},
    "sla.from.after": {"zh_CN": "「{stage}」到期后", "en": "after '{stage}' falls due,"},
    "sla.from.committee": {"zh_CN": "自业主向居委会/业委会反映（{at}）起", "en": "from when the owner told the committee ({at}),"},
    "sla.from.upgrade": {"zh_CN": "自升级为重大投诉（{at}）起", "en": "from the upgrade to major ({at}),"},
    "sla.from.escalated": {"zh_CN": "自升级至本级（{at}）起", "en": "from the climb to this rung ({at}),"},
    "sla.from.original_due": {"zh_CN": "自原时限（{at}）起", "en": "from the original due time ({at}),"},
    "sla.from.stage_start": {"zh_CN": "自阶段起算（{at}）起", "en": "from the stage's start ({at}),"},
    "sla.limit.m": {"zh_CN": "{start} {n} 分钟内", "en": "{start} within {n} min"},
    "sla.limit.h": {"zh_CN": "{start} {n} 小时（{minutes} 分钟）内", "en": "{start} within {n} h ({minutes} min)"},
    "sla.limit.d": {"zh_CN": "{start} {n} 天（{n}×24 小时）内", "en": "{start} within {n} d ({n} x 24 h)"},
    "sla.limit.bh": {"zh_CN": "{start} {n} 个营业小时内（营业时间 {hours}，自 {clock_start} 起计）",
                     "en": "{start} within {n} business hour(s) (hours {hours}, counted from {clock_start})"},
    "sla.limit.wd": {"zh_CN": "{start}至第 {n} 个工作日下班前（{day0_label} {day0} 为第 0 天）",
                     "en": "{start} by close of business on working day {n} ({day0_label} {day0} is day 0)"},
    "sla.day0.receipt": {"zh_CN": "受理当天", "en": "day of receipt"},
    "sla.day0.after": {"zh_CN": "起算当天", "en": "start day"},
    "sla.repeat": {"zh_CN": "此后每隔 {limit} 重复，直至办结", "en": "then repeats every {limit} until resolved"},
    "sla.skipped": {"zh_CN": "跳过 {items}", "en": "skipped {items}"},
    "sla.makeup": {"zh_CN": "计入 {items}", "en": "counted {items}"},
    "sla.gaps": {"zh_CN": "跳过非营业时段 {count} 段（共 {duration}）",
                 "en": "skipped {count} out-of-hours period(s) ({duration})"},
    "sla.due": {"zh_CN": "截止 {due}（{tz}）", "en": "due {due} ({tz})"},
    "sla.day.holiday": {"zh_CN": "{dates} 法定节假日{name}", "en": "{dates} public holiday{name}"},
    "sla.day.weekend": {"zh_CN": "{dates} 周末", "en": "{dates} weekend"},
    "sla.day.closure": {"zh_CN": "{dates} 项目停业日{name}", "en": "{dates} site closure{name}"},
    "sla.day.makeup": {"zh_CN": "{dates} 调休上班日{name}", "en": "{dates} make-up working day{name}"},
    "sla.day.extra": {"zh_CN": "{dates} 项目加班工作日{name}", "en": "{dates} site extra working day{name}"},
    "sla.range": {"zh_CN": "{a} 至 {b}", "en": "{a} to {b}"},
    "sla.hm": {"zh_CN": "{h} 小时 {m} 分钟", "en": "{h} h {m} min"},
}
register(MESSAGES)

_SEP = {"zh_CN": ("；", "、", "。"), "en": ("; ", ", ", ".")}


def render(e: dict, locale: str = DEFAULT_LOCALE) -> str:
    sep, comma, stop = _SEP.get(locale, _SEP[DEFAULT_LOCALE])
    parts = [_source(e, locale)]
    start = t("sla.from.after", locale, stage=e["after"]) if e.get("after") else t("sla.from.receipt", locale)
    if e.get("start_reason") and f"sla.from.{e['start_reason']}" in MESSAGES:
        start = t(f"sla.from.{e['start_reason']}", locale, at=_hm(e["start"], with_date=True))
    n = e["amount"]
    params = {"start": start, "n": n, "minutes": n * 60, "day0": e.get("day0"),
              "day0_label": t("sla.day0.after" if e.get("after") or e.get("start_reason") in RESTARTS
                              else "sla.day0.receipt", locale),
              "clock_start": _hm(e.get("clock_start")), "hours": comma.join(e.get("business_hours") or [])}
    parts.append(t(f"sla.limit.{e['unit']}", locale, **params))
    if e.get("repeat"):
        parts.append(t("sla.repeat", locale, limit=e["limit"]))
    if e.get("skipped_days"):
        parts.append(t("sla.skipped", locale, items=comma.join(_days(e["skipped_days"], locale))))
    if e.get("makeup_days"):
        parts.append(t("sla.makeup", locale, items=comma.join(_days(e["makeup_days"], locale))))
    gaps = e.get("out_of_hours") or []
    if gaps:
        total = sum(g["minutes"] for g in gaps)
        parts.append(t("sla.gaps", locale, count=len(gaps),
                       duration=t("sla.hm", locale, h=total // 60, m=total % 60)))
    parts.append(t("sla.due", locale, due=_hm(e["due_at"], with_date=True), tz=e["timezone"]))
    return sep.join(p for p in parts if p) + stop


def _source(e: dict, locale: str) -> str:
    policy = e["policy"]
    scope = policy["source"] or "group"
    kind, _, code = scope.partition(":")
    if kind in ("ladder", "extension") and code in ROLES:  # a rung: its role's title
        code = ROLES[code][0 if locale == "zh_CN" else 1]
    text = t(f"sla.source.{kind}", locale, code=code) if f"sla.source.{kind}" in MESSAGES else scope
    if kind == "preview" or not policy.get("version"):
        return text
    extra = [t("sla.policy", locale, version=policy["version"])]
    if policy.get("category"):
        extra.append(t("sla.category", locale, category=policy["category"]))
    inner = "，".join(extra) if locale == "zh_CN" else ", ".join(extra)
    return f"{text}（{inner}）" if locale == "zh_CN" else f"{text} ({inner})"


def _days(days: list[dict], locale: str) -> list[str]:
    """Consecutive days with the same reason and holiday name collapse into one range."""
    runs: list[list[dict]] = []
    for d in days:
        last = runs[-1][-1] if runs else None
        if (last and (last["reason"], last["name"]) == (d["reason"], d["name"])
                and dt.date.fromisoformat(d["date"]) - dt.date.fromisoformat(last["date"]) == dt.timedelta(days=1)):
            runs[-1].append(d)
        else:
            runs.append([d])
    out = []
    for run in runs:
        a, b = run[0]["date"], run[-1]["date"]
        dates = a if a == b else t("sla.range", locale, a=a, b=b)
        name = run[0]["name"]
        if name:  # a holiday's name, or the reason the site gave for a closure / extra working day
            name = HOLIDAYS_ZH.get(name, name) if locale == "zh_CN" else name
            name = f"（{name}）" if locale == "zh_CN" else f" ({name})"
        out.append(t(f"sla.day.{run[0]['reason']}", locale, dates=dates, name=name or ""))
    return out


def _hm(value: str | None, with_date: bool = False) -> str:
    if not value:
        return ""
    local = dt.datetime.fromisoformat(value)
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%m-%d %H:%M")
