"""League table and KPIs as CSV or XLSX bytes, with translated headers (zh-CN default, English).

Spreadsheet formula injection: a text cell that starts with ``= + - @`` (or a tab / carriage return) could run
as a formula when the file is opened. In CSV such a cell is prefixed with ``'``; in XLSX the cell is written as
an explicit string (openpyxl would otherwise store ``=...`` as a formula). Numbers are written as numbers,
so a negative change stays a number. CSV is UTF-8 with a BOM so Excel reads the Chinese names.
"""
from __future__ import annotations

import csv
import io

from estatedesk_common import i18n

from .exceptions import ValidationFailed

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
REPORTS = ("league_table", "kpis")
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

MESSAGES = {
    "report.league_table": {"zh_CN": "项目排行榜", "en": "Estate league table"},
    "report.kpis": {"zh_CN": "投诉关键指标", "en": "Complaint KPIs"},
    "col.rank": {"zh_CN": "排名", "en": "Rank"},
    "col.estate": {"zh_CN": "项目编码", "en": "Estate code"},
    "col.estate_name": {"zh_CN": "项目名称", "en": "Estate"},
    "col.region": {"zh_CN": "区域", "en": "Region"},
    "col.units": {"zh_CN": "户数", "en": "Units"},
    "col.received": {"zh_CN": "投诉数", "en": "Received"},
    "col.previous_received": {"zh_CN": "上期投诉数", "en": "Previous period"},
    "col.received_change": {"zh_CN": "环比变化", "en": "Change"},
    "col.received_change_pct": {"zh_CN": "环比变化 %", "en": "Change %"},
    "col.on_time_pct": {"zh_CN": "首次联系及时率 %", "en": "First contact on time %"},
    "col.previous_on_time_pct": {"zh_CN": "上期及时率 %", "en": "Previous on time %"},
    "col.overdue_now": {"zh_CN": "当前超时", "en": "Overdue now"},
    "col.measure": {"zh_CN": "指标", "en": "Measure"},
    "col.value": {"zh_CN": "数值", "en": "Value"},
    "col.note": {"zh_CN": "说明", "en": "Note"},
    "col.resolved_within_limit_pct": {"zh_CN": "按时办结率 %", "en": "Resolved within limit %"},
    "missing": {"zh_CN": "—", "en": "—"},
    "note.not_yet_measured": {"zh_CN": "尚未统计", "en": "not yet measured"},
    # KPI notes (reports.kpis ``notes``), by figure; the English text comes with the figures
    "note.first_contact_on_time_pct": {"zh_CN": "其中 {n} 件未登记联系业主，以受理回执发送时间代替首次联系",
                                       "en": "{n} of the decided cases had no contact recorded: their first "
                                             "contact is the acknowledgement"},
    "note.handling_hours_avg": {"zh_CN": "{n} 件已办结投诉缺少工作时长（工作流尚未上报或日历年份未加载）",
                                "en": "{n} resolved cases without working hours"},
    "note.per_1000_units": {"zh_CN": "户数未知：范围内尚有项目未提供户数", "en": "unit counts not known"},
    "col.per_1000_units": {"zh_CN": "每千户投诉数", "en": "Per 1,000 units"},
    "col.nonconformity_records": {"zh_CN": "不合格记录", "en": "Nonconformity records"},
    "col.capa_open": {"zh_CN": "进行中纠正预防措施", "en": "CAPA open"},
    "col.capa_overdue": {"zh_CN": "逾期纠正预防措施", "en": "CAPA overdue"},
    # periodic report runs (periodic_reports.export_run): KPIs, league table, trend
    "report.trend": {"zh_CN": "投诉趋势", "en": "Trend"},
    "col.from": {"zh_CN": "起始日期", "en": "From"},
    "col.to": {"zh_CN": "截止日期", "en": "To"},
}
LEAGUE_COLUMNS = ("rank", "estate", "estate_name", "region", "units", "received", "previous_received",
                  "received_change", "received_change_pct", "on_time_pct", "previous_on_time_pct", "overdue_now",
                  "resolved_within_limit_pct", "per_1000_units", "nonconformity_records", "capa_open", "capa_overdue")
KPI_FIGURES = ("received", "first_contact_on_time_pct", "overdue_now", "resolved_within_limit_pct",
               "handling_hours_avg", "handling_hours_p90", "breaches", "escalated", "callback_coverage_pct",
               "satisfaction_pct", "reopened", "reopen_rate_pct", "repeat_complaints", "nonconformity_required",
               "reclassified", "per_1000_units", "extensions_requested", "extensions_approved",
               "nonconformity_records", "capa_open", "capa_overdue")
KPI_PARTS = {"first_contact": ("with_deadline", "on_time", "late", "pending", "by_proxy"),
             "resolution": ("with_deadline", "resolved", "on_time", "late", "overdue_now", "pending"),
             "callbacks": ("called_back", "not_called_back", "answered", "satisfied", "neutral", "dissatisfied"),
             "nonconformity": ("opened", "approved", "rejected"),
             "capa": ("open_now", "overdue_now", "opened", "closed")}
i18n.register(MESSAGES)


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_DANGEROUS) else value


def _cell(value, loc: str):
    if value is None:
        return i18n.t("missing", loc)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value
    return str(value)


def table(report: str, data: dict, loc: str) -> tuple[list[str], list[list]]:
    """Header and rows of ``report`` (the dict ``reports.league_table`` / ``reports.kpis`` returned)."""
    if report == "league_table":
        header = [i18n.t(f"col.{c}", loc) for c in LEAGUE_COLUMNS]
        return header, [[_cell(row.get(c), loc) for c in LEAGUE_COLUMNS] for row in data["rows"]]
    header = [i18n.t(c, loc) for c in ("col.measure", "col.value", "col.note")]
    rows = [[key, _cell(data[key], loc), _note(key, data, loc)] for key in KPI_FIGURES]
    for part, keys in KPI_PARTS.items():
        rows.extend([f"{part}.{key}", _cell(data[part][key], loc), ""] for key in keys)
    rows.extend([f"escalations_by_level.{r['level']}", r["cases"], ""] for r in data["escalations_by_level"])
    for dim in ("channel", "category", "severity"):
        rows.extend([f"by_{dim}.{r['key'] or ''}", r["received"], ""] for r in data[f"by_{dim}"])
    return header, rows


def _note(key: str, data: dict, loc: str) -> str:
    """The figure's note in ``loc`` (``reports.kpis`` gives it in English), or ''."""
    if key not in data.get("notes", {}):
        return ""
    n = {"first_contact_on_time_pct": data["first_contact"]["by_proxy"],
         "handling_hours_avg": data["handling"]["unmeasured"]}.get(key)
    return i18n.t(f"note.{key}", loc, n=n)


def to_csv(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in [header, *rows]:
        writer.writerow([safe_text(v) if isinstance(v, str) else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: list[str], rows: list[list]) -> bytes:
    return to_xlsx_sheets([(title, header, rows)])


def to_xlsx_sheets(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """One worksheet per ``(title, header, rows)``."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])
        for row in [header, *rows]:  # control characters (in a stored name) cannot be written to a sheet
            ws.append([ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in row])
        for line in ws.iter_rows():
            for cell in line:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run_sheets(data: dict, loc: str) -> list[tuple[str, list[str], list[list]]]:
    """A periodic report run's figures (``{kpis, league, trend}``) as KPI, league-table and trend sheets."""
    trend_header = [i18n.t(c, loc) for c in ("col.from", "col.to", "col.received")]
    return [(i18n.t("report.kpis", loc), *table("kpis", data["kpis"], loc)),
            (i18n.t("report.league_table", loc), *table("league_table", {"rows": data["league"]}, loc)),
            (i18n.t("report.trend", loc), trend_header,
             [[b["from"], b["to"], b["received"]] for b in data.get("trend") or []])]


def render_run(fmt: str, data: dict, subject: str, kind: str, locale) -> dict:
    """A run as XLSX (three sheets) or CSV (the three tables one after another, each under its title row)."""
    loc = locale if locale in i18n.LOCALES else i18n.DEFAULT_LOCALE
    sheets = run_sheets(data, loc)
    if fmt == "xlsx":
        content = to_xlsx_sheets(sheets)
    else:
        rows: list[list] = [[subject]]
        for title, header, body in sheets:
            rows += [[], [title], header, *body]
        content = to_csv(rows[0], rows[1:])
    name = f"{kind}_report_{data['kpis']['from']}_{data['kpis']['to']}.{fmt}"
    return {"filename": name, "content_type": FORMATS[fmt], "content": content}


def render(report: str, fmt: str, data: dict, loc: str) -> dict:
    """``{"filename", "content_type", "content"}`` (bytes)."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}", field="format")
    header, rows = table(report, data, loc)
    name = f"{report}_{data['from']}_{data['to']}.{fmt}"
    content = to_csv(header, rows) if fmt == "csv" else to_xlsx(i18n.t(f"report.{report}", loc), header, rows)
    return {"filename": name, "content_type": FORMATS[fmt], "content": content}
