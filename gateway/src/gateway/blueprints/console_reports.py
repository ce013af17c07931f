"""Periodic reports in the console (``/reports/subscriptions``), for head office and group admins: subscribe
managers to the weekly/monthly/quarterly report of the group or one estate, end a subscription, make the last
period's report now, and open or download every report made (``/reports/runs/<id>``; its figures as CSV/XLSX
in the page's language: ``/reports/runs/<id>/export.<csv|xlsx>``).

The same RPCs as ``/api/v1/report-subscriptions`` and ``/api/v1/report-runs`` (reporting), with the same audit
rows. A report is reporting's self-contained page (inline styles and SVG, no scripts), answered under the same
Content-Security-Policy as the API's ``?format=html``.
"""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from .console import page, page_error
from ..web import select_locale
from .dashboard import EXPORT_TYPES
from .periodic_reports import MANAGERS, audit_subscribed, audit_unsubscribed, export_response

bp = Blueprint("console_reports", __name__)
bp.register_error_handler(Exception, page_error)

KINDS = {"weekly": _l("Weekly report"), "monthly": _l("Monthly report"), "quarterly": _l("Quarterly report")}
LOCALES = {"zh_CN": "中文", "en": "English"}
MAX_RECIPIENTS = 20
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        abort(404)


def _form() -> tuple[dict, dict]:
    form = {"kind": request.form.get("kind", ""), "estate": request.form.get("estate", "").strip()[:40],
            "recipients": request.form.get("recipients", "")[:6000], "locale": request.form.get("locale", "zh_CN")}
    errors = {}
    if form["kind"] not in KINDS:
        errors["kind"] = _("Choose weekly, monthly or quarterly.")
    addresses = [a for a in re.split(r"[\s,;，；]+", form["recipients"]) if a]
    bad = [a for a in addresses if len(a) > 254 or not _EMAIL.match(a)]
    if not addresses or len(addresses) > MAX_RECIPIENTS:
        errors["recipients"] = _("Enter 1 to %(n)d e-mail addresses, one per line.", n=MAX_RECIPIENTS)
    elif bad:
        errors["recipients"] = _("Not an e-mail address: %(address)s", address=", ".join(bad[:3]))
    if form["locale"] not in LOCALES:
        errors["locale"] = _("Choose a language.")
    return form | {"addresses": addresses}, errors


def _render(status: int = 200, form: dict | None = None, errors: dict | None = None):
    client = rpc.client()
    subscriptions, runs, estates = client.call_many([("reporting", "list_report_subscriptions", ()),
                                                     ("reporting", "list_report_runs", ()),
                                                     ("intake", "list_estates", ())])
    names = {e["code"]: e.get("name") or e["code"] for e in estates}
    return render_template("report_subscriptions.html", subscriptions=subscriptions, runs=runs, names=names,
                           estates=sorted(estates, key=lambda e: e.get("code") or ""), kinds=KINDS,
                           locales=LOCALES, form=form or {"locale": "zh_CN"},
                           errors=errors or {}), status


@bp.route("/reports/subscriptions", methods=["GET", "POST"])
@page(*MANAGERS)
def subscriptions():
    if request.method == "GET":
        return _render()
    form, errors = _form()
    if not errors:
        data = {"kind": form["kind"], "estate": form["estate"] or None, "recipients": form["addresses"],
                "locale": form["locale"]}
        try:
            created = rpc.client().call("reporting", "subscribe_report", data)
        except RemoteError as exc:
            found = parse_remote(exc.value)
            if found is None or int(found.get("status", 500)) != 422:
                raise
            field = (found.get("details") or {}).get("field")
            errors = {"estate": _("This estate is not one of the group's.")} if field == "estate" else {
                field if field in ("kind", "recipients", "locale") else "recipients":
                    _("This value was refused: %(reason)s", reason=found.get("message"))}
        else:
            audit_subscribed(g.principal.tenant_id, created)
            flash(_("Subscribed: the report is e-mailed after each complete period."))
            return redirect(url_for("console_reports.subscriptions"))
    return _render(422, form, errors)


@bp.post("/reports/subscriptions/<subscription_id>/delete")
@page(*MANAGERS)
def unsubscribe(subscription_id: str):
    ended = rpc.client().call("reporting", "unsubscribe_report", _uuid(subscription_id))
    audit_unsubscribed(g.principal.tenant_id, ended)
    flash(_("The subscription was ended; reports already made stay listed."))
    return redirect(url_for("console_reports.subscriptions"))


@bp.post("/reports/subscriptions/<subscription_id>/run")
@page(*MANAGERS)
def run_now(subscription_id: str):
    made = rpc.client().call("reporting", "run_report_now", _uuid(subscription_id), timeout=60)
    flash(_("The report for %(start)s to %(end)s is ready.", start=made["from"], end=made["to"]) if made["new"]
          else _("The report for %(start)s to %(end)s was already made.", start=made["from"], end=made["to"]))
    return redirect(url_for("console_reports.subscriptions"))


@bp.get("/reports/runs/<run_id>")
@page(*MANAGERS)
def report_run(run_id: str):
    """The report page; ``?download=1`` as a file (``report_<from>_<to>.html``)."""
    run = rpc.client().call("reporting", "get_report_run", _uuid(run_id))
    response = Response(run["html"], content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.args.get("download"):
        name = re.sub(r"[^0-9A-Za-z_.-]", "", f"report_{run['from']}_{run['to']}.html")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/reports/runs/<run_id>/export.<fmt>")
@page(*MANAGERS)
def report_run_export(run_id: str, fmt: str):
    """The run's figures (KPIs, league table, trend) as CSV or XLSX, headers in the page's language."""
    if fmt not in EXPORT_TYPES:
        abort(404)
    out = rpc.client().call("reporting", "export_report_run", _uuid(run_id), fmt, select_locale())
    return export_response(out, fmt)
