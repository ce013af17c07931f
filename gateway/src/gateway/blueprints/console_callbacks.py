"""Callback pages (回访): the queue ``/callbacks`` with claim and log-attempt forms (CSRF, checked here in the
user's language before notify sees them), the panel of a case page (``_callback_panel.html``, which asks for
its data through the ``callbacks_of`` template global so the case page's view needs no change), and the
owner's survey behind the SMS link, ``/t/<tenant>/survey/<token>`` (public, mobile, POST rate limited; the
tenant comes from the URL: its slug, or its id as in the links notify sends, which does not know slugs).
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError
from sqlalchemy import select

from estatedesk_common.errors import parse_remote

from .. import rpc, sorting
from ..tables import tenants
from .callbacks import CALLBACK_ROLES, OUTCOMES, SATISFACTIONS
from .console import page, page_error

bp = Blueprint("console_callbacks", __name__)
survey_bp = Blueprint("owner_survey", __name__)  # public; its POST is rate limited (web.py)

OUTCOME_LABELS = {"no_answer": _l("No answer"), "wrong_number": _l("Wrong number"), "refused": _l("Refused"),
                  "reached": _l("Reached the owner")}
SATISFACTION_LABELS = {"very_satisfied": _l("Very satisfied"), "satisfied": _l("Satisfied"),
                       "neutral": _l("Neutral"), "dissatisfied": _l("Dissatisfied")}
STATUS_LABELS = {"open": _l("To call"), "claimed": _l("Claimed"), "done": _l("Done"), "escalated": _l("Escalated")}
REFUSALS = {
    "resolver_cannot_claim": _l("You resolved this case: someone else must call the owner back."),
    "callback_conflict": _l("Someone else claimed this callback, or it is finished."),
    "callback_not_found": _l("This callback no longer exists."),
    "forbidden": _l("This callback is outside your estates."),
}
WORDS_LIMIT = 2000


def labels() -> dict:
    return {"outcomes": OUTCOME_LABELS, "satisfactions": SATISFACTION_LABELS, "statuses": STATUS_LABELS}


@bp.app_context_processor
def _globals() -> dict:
    return {"callbacks_of": callbacks_of, "callback_labels": labels()}


def callbacks_of(complaint_id) -> list | None:
    """The callbacks of one complaint for the case page's panel; None when notify cannot say (the page still
    renders)."""
    if g.get("principal") is None or not g.principal.has_role(*CALLBACK_ROLES):
        return None
    try:
        return rpc.client().call("notify", "list_callbacks", None, None, 50, 0, str(complaint_id))["items"]
    except Exception:  # noqa: BLE001 - a panel must not break the case page
        current_app.logger.warning("callbacks of %s unavailable", complaint_id, exc_info=True)
        return None


@bp.get("/callbacks")
@page(*CALLBACK_ROLES)
def queue():
    return _render_queue()


def _render_queue(attempt: dict | None = None, status: int = 200):
    show = request.args.get("status") if request.args.get("status") in STATUS_LABELS else None
    chosen = sorting.page_sort(request.args, sorting.CALLBACKS)  # notify sorts; an unknown key: the default
    result = rpc.client().call("notify", "list_callbacks", None, show, 100, 0, sort=chosen.key, order=chosen.order)
    return render_template("callbacks.html", result=result, show=show, attempt=attempt or {},
                           outcomes=OUTCOMES, satisfactions=SATISFACTIONS, me=g.principal.user_id,
                           sort=chosen), status


def _valid_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        abort(404)


def _refused(exc: RemoteError) -> str:
    found = parse_remote(exc.value)
    if found is None or not 400 <= int(found.get("status", 500)) < 500:
        raise exc
    return str(REFUSALS.get(found.get("error"), _l("The callback could not be updated.")))


@bp.post("/callbacks/<callback_id>/claim")
@page(*CALLBACK_ROLES)
def claim(callback_id: str):
    callback_id = _valid_id(callback_id)
    try:
        rpc.client().call("notify", "claim_callback", callback_id)
    except RemoteError as exc:
        return _render_queue({"id": callback_id, "message": _refused(exc)}, 409)
    flash(_("Callback claimed. Call the owner and record the result."))
    return redirect(url_for("console_callbacks.queue"))


@bp.post("/callbacks/<callback_id>/attempts")
@page(*CALLBACK_ROLES)
def attempt(callback_id: str):
    callback_id = _valid_id(callback_id)
    form = {name: request.form.get(name, "")[:WORDS_LIMIT + 1] for name in ("outcome", "satisfaction", "words",
                                                                          "valid", "solved")}
    errors = _check(form)
    if errors:
        return _render_queue({"id": callback_id, "form": form, "errors": errors}, 422)
    reached = form["outcome"] == "reached"
    try:
        rpc.client().call("notify", "log_callback_attempt", callback_id, form["outcome"],
                          form["satisfaction"] if reached else None, form["words"].strip() or None,
                          _yes_no(form["valid"]), _yes_no(form["solved"]))
    except RemoteError as exc:
        return _render_queue({"id": callback_id, "form": form, "message": _refused(exc)}, 409)
    flash(_("Recorded: %(outcome)s.", outcome=OUTCOME_LABELS[form["outcome"]]))
    return redirect(url_for("console_callbacks.queue"))


def _check(form: dict) -> dict:
    errors = {}
    if form["outcome"] not in OUTCOMES:
        errors["outcome"] = _("Choose how the call went.")
    elif form["outcome"] == "reached" and form["satisfaction"] not in SATISFACTIONS:
        errors["satisfaction"] = _("The owner was reached: choose how satisfied they are.")
    if len(form["words"].strip()) > WORDS_LIMIT:
        errors["words"] = _("The owner's words are at most 2000 characters.")
    return errors


def _yes_no(value: str):
    return {"yes": True, "no": False}.get(value)


# ---- the owner's survey --------------------------------------------------------------------------------------

def _tenant(key: str) -> dict:
    """The tenant of a public URL: by slug, or by id (the links notify sends)."""
    key = key[:64]
    with current_app.extensions["db"].connect() as conn:
        row = conn.execute(select(tenants.c.id, tenants.c.slug, tenants.c.name).where(tenants.c.slug == key)).first()
        if row is None:
            try:
                row = conn.execute(select(tenants.c.id, tenants.c.slug, tenants.c.name)
                                   .where(tenants.c.id == str(uuid.UUID(key)))).first()
            except ValueError:
                row = None
    if row is None:
        abort(404)
    g.principal = None  # a staff session in the same browser must not decide the tenant here
    g.public_tenant_id = row.id
    return {"id": row.id, "slug": row.slug, "name": row.name}


@survey_bp.route("/t/<slug>/survey/<token>", methods=["GET", "POST"])
def survey(slug: str, token: str):
    tenant = _tenant(slug)
    client = rpc.client()
    try:
        found = client.call("notify", "get_survey", token[:64])
    except RemoteError as exc:
        if (parse_remote(exc.value) or {}).get("status") in (404, 422):
            return render_template("owner_survey.html", tenant=tenant, found=None, done=False, form={},
                                   errors={}), 404
        raise
    form = {"satisfaction": request.form.get("satisfaction", ""), "words": request.form.get("words", "")[:2001]}
    errors = {}
    if request.method == "POST":
        if form["satisfaction"] not in SATISFACTIONS:
            errors["satisfaction"] = _("Choose how satisfied you are.")
        if len(form["words"].strip()) > WORDS_LIMIT:
            errors["words"] = _("Please write at most 2000 characters.")
        if not errors:
            client.call("notify", "answer_survey", token[:64], form["satisfaction"], form["words"].strip() or None)
            return render_template("owner_survey.html", tenant=tenant, found=found, done=True, form={},
                                   errors={})
    return render_template("owner_survey.html", tenant=tenant, found=found, done=False, form=form,
                           errors=errors), 422 if errors else 200


bp.register_error_handler(Exception, page_error)
survey_bp.register_error_handler(Exception, page_error)
