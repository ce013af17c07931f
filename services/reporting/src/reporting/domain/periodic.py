"""Periodic reports (周报 / 月报 / 季报): which period is due, and the report rendered as an e-mail-ready page.

A subscription names a period kind, a scope (the group, or one estate), its recipients and a locale. The report
for a period is due once the period has ended in the group's time zone (reports run for *complete* weeks
(Monday-Sunday), months and quarters), and is made once per subscription and period. The page is
self-contained HTML (inline styles, inline SVG charts: complaints per day or week over the period, SLA compliance,
category mix; no scripts, no external resources), so it reads the same in a mail client, a browser and when
printed to PDF.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from jinja2 import Environment, select_autoescape

KINDS = ("weekly", "monthly", "quarterly")
LOCALES = ("zh_CN", "en")
MAX_RECIPIENTS = 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidSubscription(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def check_subscription(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidSubscription("body", "a subscription must be an object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise InvalidSubscription("kind", f"kind must be one of {', '.join(KINDS)}")
    estate = data.get("estate")
    if estate is not None and (not isinstance(estate, str) or not estate.strip() or len(estate) > 40):
        raise InvalidSubscription("estate", "estate must be an estate code (or null for the whole group)")
    recipients = data.get("recipients")
    if (not isinstance(recipients, list) or not recipients or len(recipients) > MAX_RECIPIENTS
            or not all(isinstance(r, str) and _EMAIL.match(r.strip()) and len(r) <= 254 for r in recipients)):
        raise InvalidSubscription("recipients", f"recipients must be 1 to {MAX_RECIPIENTS} e-mail addresses")
    locale = data.get("locale") or "zh_CN"
    if locale not in LOCALES:
        raise InvalidSubscription("locale", "locale must be zh_CN or en")
    return {"kind": kind, "estate": estate.strip() if estate else None, "locale": locale,
            "recipients": sorted({r.strip().lower() for r in recipients})}


def last_complete_period(kind: str, now: dt.datetime, timezone: str) -> tuple[dt.date, dt.date]:
    """The latest period of ``kind`` that has ended by ``now`` (local dates, inclusive)."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    if kind == "weekly":
        end = today - dt.timedelta(days=today.weekday() + 1)  # last Sunday before this week's Monday
        return end - dt.timedelta(days=6), end
    if kind == "monthly":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if kind == "quarterly":
        first_month = 3 * ((today.month - 1) // 3) + 1
        end = today.replace(month=first_month, day=1) - dt.timedelta(days=1)
        return end.replace(month=end.month - 2, day=1), end
    raise ValueError(kind)


TEXT = {
    "zh_CN": {"weekly": "周报", "monthly": "月报", "quarterly": "季报", "group": "集团", "received": "受理投诉",
              "first_contact": "首次联系及时率", "resolved": "限时办结率", "overdue": "当前逾期",
              "satisfaction": "回访满意率", "coverage": "回访覆盖率", "reopen": "重开率", "repeat": "重复投诉",
              "handling": "平均处理时长（工作小时）", "league": "项目排名", "estate": "项目",
              "nonconformity": "不合格记录（开立 / 批准 / 驳回）", "capa": "纠正预防措施（进行中 / 逾期）",
              "per_1000_units": "每千户投诉数",
              "categories": "投诉类别分布", "trend_day": "每日投诉量", "trend_week": "每周投诉量",
              "sla": "时限达成情况", "none": "—", "generated": "生成时间", "subject": "{scope}{kind}（{start} 至 {end}）"},
    "en": {"weekly": "weekly report", "monthly": "monthly report", "quarterly": "quarterly report", "group": "Group",
           "received": "Complaints received", "first_contact": "First contact on time", "resolved": "Resolved within limit",
           "overdue": "Overdue now", "satisfaction": "Satisfaction", "coverage": "Callback coverage",
           "reopen": "Reopen rate", "repeat": "Repeat complaints", "handling": "Avg handling (working hours)",
           "nonconformity": "Nonconformity records (opened / approved / rejected)",
           "capa": "CAPA (open / overdue now)", "per_1000_units": "Complaints per 1,000 units",
           "league": "Estate league table", "estate": "Estate", "categories": "Complaints by category",
           "trend_day": "Complaints per day", "trend_week": "Complaints per week", "sla": "SLA compliance",
           "none": "—",
           "generated": "Generated", "subject": "{scope} {kind} ({start} to {end})"},
}

_PAGE = """<!doctype html><html lang="{{ 'zh-CN' if locale == 'zh_CN' else 'en' }}"><head><meta charset="utf-8">
<title>{{ subject }}</title></head>
<body style="font-family:'Microsoft YaHei','PingFang SC',Arial,sans-serif;color:#222;max-width:760px;margin:0 auto">
<h1 style="font-size:20px">{{ subject }}</h1>
<table style="border-collapse:collapse;width:100%">
{% for label, value in figures %}<tr><td style="padding:4px 8px;border-bottom:1px solid #eee">{{ label }}</td>
<td style="padding:4px 8px;border-bottom:1px solid #eee;text-align:right"><b>{{ value }}</b></td></tr>
{% endfor %}</table>
{% if trend %}<h2 style="font-size:16px">{{ trend.title }}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="720" height="170" role="img" aria-label="{{ trend.title }}" id="chart-trend">
<line x1="40" y1="140" x2="720" y2="140" stroke="#999"></line>
<text x="36" y="24" font-size="11" text-anchor="end">{{ trend.top }}</text><text x="36" y="140" font-size="11" text-anchor="end">0</text>
{% for b in trend.bars %}<rect x="{{ b.x }}" y="{{ 140 - b.h }}" width="{{ trend.width }}" height="{{ b.h }}" fill="#3b7dd8"><title>{{ b.label }}: {{ b.count }}</title></rect>
{% if b.show %}<text x="{{ b.x + trend.width / 2 }}" y="156" font-size="10" text-anchor="middle">{{ b.label }}</text>{% endif %}
{% endfor %}</svg>{% endif %}
{% if sla %}<h2 style="font-size:16px">{{ t.sla }}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="720" height="{{ 26 * sla|length + 16 }}" role="img" aria-label="{{ t.sla }}" id="chart-sla">
{% for s in sla %}<text x="0" y="{{ 26 * loop.index0 + 17 }}" font-size="13">{{ s.label }}</text>
<rect x="200" y="{{ 26 * loop.index0 + 4 }}" width="400" height="16" fill="#eee"></rect>
{% if s.width is not none %}<rect x="200" y="{{ 26 * loop.index0 + 4 }}" width="{{ s.width }}" height="16" fill="{{ s.color }}"></rect>{% endif %}
<text x="608" y="{{ 26 * loop.index0 + 17 }}" font-size="12">{{ s.text }}</text>
{% endfor %}<text x="200" y="{{ 26 * sla|length + 12 }}" font-size="10">0</text><text x="600" y="{{ 26 * sla|length + 12 }}" font-size="10" text-anchor="end">100 %</text></svg>{% endif %}
{% if categories %}<h2 style="font-size:16px">{{ t.categories }}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="720" height="{{ 24 * categories|length }}" role="img">
{% for c in categories %}<text x="0" y="{{ 24 * loop.index0 + 16 }}" font-size="13">{{ c.label }}</text>
<rect x="160" y="{{ 24 * loop.index0 + 4 }}" width="{{ c.width }}" height="16" fill="#3b7dd8"></rect>
<text x="{{ 166 + c.width }}" y="{{ 24 * loop.index0 + 16 }}" font-size="12">{{ c.count }}</text>
{% endfor %}</svg>{% endif %}
{% if league %}<h2 style="font-size:16px">{{ t.league }}</h2>
<table style="border-collapse:collapse;width:100%;font-size:13px"><tr>
<th style="text-align:left">#</th><th style="text-align:left">{{ t.estate }}</th><th>{{ t.received }}</th>
<th>{{ t.first_contact }}</th><th>{{ t.resolved }}</th><th>{{ t.overdue }}</th></tr>
{% for r in league %}<tr><td>{{ r.rank }}</td><td>{{ r.estate_name or r.estate }}</td>
<td style="text-align:right">{{ r.received }}</td><td style="text-align:right">{{ pct(r.on_time_pct) }}</td>
<td style="text-align:right">{{ pct(r.resolved_within_limit_pct) }}</td>
<td style="text-align:right">{{ r.overdue_now }}</td></tr>{% endfor %}</table>{% endif %}
<p style="color:#888;font-size:12px">{{ t.generated }}: {{ generated }}</p>
</body></html>"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEMPLATE = _ENV.from_string(_PAGE)


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1f} %"


DAILY_UP_TO = 31  # days; a longer period (a quarter) is shown per week


def trend_buckets(per_day: dict, start: dt.date, end: dt.date) -> list[dict]:
    """Complaints per day over ``start..end`` (every day, 0 when none), or per week (Monday-Sunday, clipped to the
    period) when the period is longer than ``DAILY_UP_TO`` days: ``[{"from", "to", "received"}]``."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    if len(days) <= DAILY_UP_TO:
        return [{"from": d.isoformat(), "to": d.isoformat(), "received": int(per_day.get(d, 0))} for d in days]
    weeks: dict[dt.date, dict] = {}
    for d in days:
        monday = d - dt.timedelta(days=d.weekday())
        week = weeks.setdefault(monday, {"from": d.isoformat(), "to": d.isoformat(), "received": 0})
        week["to"] = d.isoformat()
        week["received"] += int(per_day.get(d, 0))
    return list(weeks.values())


def _trend_chart(trend: list[dict], t: dict) -> dict | None:
    if not trend:
        return None
    top = max(b["received"] for b in trend) or 1
    width = 680 / len(trend)
    every = max(1, round(len(trend) / 8))  # about 8 labels
    bars = [{"x": round(40 + i * width + 1, 1), "h": round(116 * b["received"] / top, 1), "count": b["received"],
             "label": b["from"][5:], "show": i % every == 0 or i == len(trend) - 1} for i, b in enumerate(trend)]
    daily = all(b["from"] == b["to"] for b in trend)
    return {"title": t["trend_day"] if daily else t["trend_week"], "bars": bars, "top": top,
            "width": round(max(width - 2, 1), 1)}


def _sla_chart(kpis: dict, t: dict) -> list[dict]:
    """First contact on time, resolved within the limit, callback coverage: 0-100 %, green from 90 %."""
    rows = []
    for key, label in (("first_contact_on_time_pct", "first_contact"), ("resolved_within_limit_pct", "resolved"),
                       ("callback_coverage_pct", "coverage")):
        value = kpis.get(key)
        rows.append({"label": t[label], "text": _pct(value),
                     "width": None if value is None else round(4 * max(0.0, min(100.0, value)), 1),
                     "color": "#2e9d5b" if value is not None and value >= 90 else "#e0902f"})
    return rows


def render(kind: str, locale: str, scope_name: str | None, start: dt.date, end: dt.date, kpis: dict,
           league: list[dict], generated: dt.datetime, trend: list[dict] | None = None) -> tuple[str, str, str]:
    """(subject, HTML page, plain text) of one report; ``trend`` from ``trend_buckets``."""
    t = TEXT[locale]
    subject = t["subject"].format(scope=scope_name or t["group"], kind=t[kind], start=start.isoformat(),
                                  end=end.isoformat())
    figures = [(t["received"], kpis.get("received", 0)), (t["first_contact"], _pct(kpis.get("first_contact_on_time_pct"))),
               (t["resolved"], _pct(kpis.get("resolved_within_limit_pct"))), (t["overdue"], kpis.get("overdue_now", 0)),
               (t["coverage"], _pct(kpis.get("callback_coverage_pct"))),
               (t["satisfaction"], _pct(kpis.get("satisfaction_pct"))), (t["reopen"], _pct(kpis.get("reopen_rate_pct"))),
               (t["repeat"], kpis.get("repeat_complaints", 0)),
               (t["handling"], t["none"] if kpis.get("handling_hours_avg") is None else kpis["handling_hours_avg"])]
    nc = kpis.get("nonconformity") or {}
    figures += [(t["nonconformity"], " / ".join(str(nc.get(k, 0)) for k in ("opened", "approved", "rejected"))),
                (t["capa"], f"{kpis.get('capa_open') or 0} / {kpis.get('capa_overdue') or 0}"),
                (t["per_1000_units"], t["none"] if kpis.get("per_1000_units") is None else kpis["per_1000_units"])]
    by_category = [c for c in kpis.get("by_category") or [] if c.get("received")]
    top = max((c["received"] for c in by_category), default=0)
    categories = [{"label": c.get("key") or t["none"], "count": c["received"],
                   "width": int(480 * c["received"] / top) if top else 0} for c in by_category[:12]]
    html = _TEMPLATE.render(subject=subject, figures=figures, categories=categories, league=league[:50], t=t,
                            locale=locale, pct=_pct, generated=generated.isoformat(timespec="minutes"),
                            trend=_trend_chart(trend or [], t), sla=_sla_chart(kpis, t))
    text = subject + "\n\n" + "\n".join(f"{label}: {value}" for label, value in figures)
    return subject, html, text
