"""Settings, message templates: ``/settings/templates`` (消息模板) — the wording of notify's e-mails and SMS.

- ``GET /settings/templates?message=&locale=&scope=`` — pick the message, the language and the scope (``group``
  or ``estate:<code>``); each part (subject, plain-text body, HTML body, SMS) in a textarea holding what is in
  force (the scope's override, else the group's, else the shipped default, which is always shown beside it).
- ``POST /settings/templates/preview`` — notify renders the textareas against a sample of the message
  (``notify.preview_template``), nothing saved: text in ``<pre>``, HTML in an ``<iframe sandbox srcdoc>`` (no
  scripts, no same origin); a template that does not compile or reaches outside the sandbox is shown next to
  its part with the line at fault.
- ``POST /settings/templates`` — saves the parts that differ from what the scope inherits (a part equal to it
  goes back to inheriting); notify checks every part first and saves nothing if one fails (errors as above).
- ``POST /settings/templates/reset`` — the scope's overrides of this message and language are removed.

Save and reset are in the audit log (``audit.AUDITED``). group_admin and head_office edit the group and every
estate; a site_manager its estates (and sees the group's templates read-only); notify checks this again.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from .console import page, page_error

bp = Blueprint("console_template_settings", __name__)
bp.register_error_handler(Exception, page_error)

PAGE_ROLES = ("site_manager", "head_office", "group_admin")
GROUP_EDITORS = ("group_admin", "head_office")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
ESTATE_MESSAGES = ("acknowledgement", "owner_update", "staff_alert", "callback_survey")  # notify's domain
MESSAGE_NAMES = {
    "acknowledgement": _l("Acknowledgement to the owner"),
    "owner_update": _l("Progress, resolution and reopening (owner)"),
    "staff_alert": _l("Staff alert"),
    "superior_report": _l("Report to the forwarding authority"),
    "callback_survey": _l("Callback survey SMS"),
}
PART_NAMES = {"subject": _l("Subject"), "body_txt": _l("Plain-text body"), "body_html": _l("HTML body"),
              "sms": _l("SMS")}
MAX_SOURCE = 20_000


def scopes_for(principal, estates: list[dict]) -> list[dict]:
    """``[{scope, label, estate, editable}]`` the principal may open, in the order offered."""
    group = principal.has_role(*GROUP_EDITORS)
    mine = {estate for role, estate in principal.roles if role == "site_manager"}
    every = group or None in mine
    out = [{"scope": "group", "label": _("Group templates (every estate)"), "estate": None, "editable": group}]
    out += [{"scope": f"estate:{e['code']}", "label": e.get("name") or e["code"], "estate": e["code"],
             "editable": True} for e in sorted(estates, key=lambda e: e.get("code") or "")
            if every or e["code"] in mine]
    return out


def _context(values) -> dict:
    """The chosen message, language and scope (the first offered when a value is not one of them)."""
    listed, estates = rpc.client().call_many([("notify", "list_template_overrides", ()),
                                              ("intake", "list_estates", ())])
    messages = {m["message"]: m["parts"] for m in listed["messages"]}
    scopes = scopes_for(g.principal, estates)
    message = values.get("message") if values.get("message") in messages else next(iter(messages))
    locale = values.get("locale") if values.get("locale") in LANGUAGES else "zh_CN"
    chosen = next((s for s in scopes if s["scope"] == values.get("scope")), scopes[0])
    if chosen["estate"] and message not in ESTATE_MESSAGES:
        chosen = scopes[0]  # the same for every estate (superior reports know no estate)
    return {"messages": messages, "message": message, "locale": locale, "chosen": chosen, "scopes": scopes,
            "overrides": listed["overrides"]}


def _load(ctx: dict) -> dict:
    return rpc.client().call("notify", "get_template", ctx["message"], ctx["locale"], ctx["chosen"]["estate"])


def _in_force(part: dict) -> str:
    return part["override"] if part["override"] is not None else part["inherited"] if part[
        "inherited"] is not None else part["default"]


def _inherited(part: dict) -> str:
    return part["inherited"] if part["inherited"] is not None else part["default"]


def _same(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


@bp.get("/settings/templates")
@page(*PAGE_ROLES)
def settings():
    ctx = _context(request.args)
    current = _load(ctx)
    form = {p: _in_force(v) for p, v in current["parts"].items()}
    return _render(ctx, current, form, {}, None, 200)


def _render(ctx, current, form, errors, preview, status):
    return render_template("settings_templates.html", ctx=ctx, current=current, form=form, errors=errors,
                           preview=preview, languages=LANGUAGES, message_names=MESSAGE_NAMES,
                           part_names=PART_NAMES, max_source=MAX_SOURCE), status


def _form_parts(current: dict) -> dict:
    return {p: request.form.get(p, "")[:MAX_SOURCE + 1].replace("\r\n", "\n") for p in current["parts"]}


def _errors(found: dict) -> dict:
    """``{part: "Line 3: ..."}`` from notify's ``{part: {message, line}}``."""
    out = {}
    for part, err in (found or {}).items():
        text = str(err.get("message") or "")
        out[part] = _("Line %(line)d: %(problem)s", line=err["line"], problem=text) if err.get("line") else text
    return out


def _editable_context():
    ctx = _context(request.form)
    if request.form.get("scope") != ctx["chosen"]["scope"] or request.form.get("message") != ctx["message"]:
        abort(403)
    return ctx


@bp.post("/settings/templates/preview")
@page(*PAGE_ROLES)
def preview():
    ctx = _editable_context()
    current = _load(ctx)
    form = _form_parts(current)
    result = rpc.client().call("notify", "preview_template", ctx["message"], ctx["locale"], form,
                               ctx["chosen"]["estate"])
    errors = _errors(result["errors"])
    return _render(ctx, current, form, errors, result["parts"], 422 if errors else 200)


@bp.post("/settings/templates")
@page(*PAGE_ROLES)
def save():
    ctx = _editable_context()
    if not ctx["chosen"]["editable"]:
        abort(403)
    current = _load(ctx)
    form = _form_parts(current)
    too_long = {p: _("At most %(n)d characters.", n=MAX_SOURCE) for p, v in form.items() if len(v) > MAX_SOURCE}
    if too_long:
        return _render(ctx, current, form, too_long, None, 422)
    parts = {p: (None if _same(v, _inherited(current["parts"][p])) else v) for p, v in form.items()}
    try:
        rpc.client().call("notify", "save_template", ctx["message"], ctx["locale"], parts, ctx["chosen"]["estate"])
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or int(found.get("status", 500)) != 422:
            raise
        details = found.get("details") or {}
        field = str(details.get("field") or "")
        errors = _errors(details.get("errors")) or ({field.removeprefix("parts."): str(found.get("message") or "")}
                                                    if field.startswith("parts.") else
                                                    {"other": _("The templates could not be saved.")})
        return _render(ctx, current, form, errors, None, 422)
    flash(_("Saved the templates of %(message)s (%(scope)s).", message=MESSAGE_NAMES[ctx["message"]],
            scope=ctx["chosen"]["label"]))
    return redirect(url_for(".settings", message=ctx["message"], locale=ctx["locale"], scope=ctx["chosen"]["scope"]))


@bp.post("/settings/templates/reset")
@page(*PAGE_ROLES)
def reset():
    ctx = _editable_context()
    if not ctx["chosen"]["editable"]:
        abort(403)
    rpc.client().call("notify", "delete_template", ctx["message"], ctx["locale"], ctx["chosen"]["estate"])
    flash(_("%(message)s (%(scope)s) is back to the inherited templates.", message=MESSAGE_NAMES[ctx["message"]],
            scope=ctx["chosen"]["label"]))
    return redirect(url_for(".settings", message=ctx["message"], locale=ctx["locale"], scope=ctx["chosen"]["scope"]))
