"""Public owner pages, per tenant: ``/t/<tenant slug>/status`` (reference + phone -> status and timeline). The
tenant's id works in place of the slug (the link in notify's WeChat template messages: notify knows no slugs).

No login: the gateway resolves the slug to the tenant from its own ``tenants`` table and sends that tenant as
the call context (no user). Intake answers one "not found" for an unknown reference and a wrong phone alike,
and the page shows one message for both. POST is rate limited per IP (``web.py``); the answer comes back
on the POST itself, so reference and phone never appear in a URL, a log line or the browser history.
Timeline entries are shown without their actors (staff names stay inside).
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from nameko.exceptions import RemoteError
from sqlalchemy import select

from estatedesk_common.errors import parse_remote

from .. import accounts, rpc
from ..tables import tenants
from .complaints import full_view
from .console import page_error

bp = Blueprint("owner", __name__)


def _tenant(slug: str) -> dict:
    with current_app.extensions["db"].connect() as conn:
        tenant = accounts.tenant_by_slug(conn, slug[:64]) or _tenant_by_id(conn, slug[:64])
    if tenant is None:
        abort(404)
    g.principal = None  # a staff session in the same browser must not decide the tenant here
    g.public_tenant_id = tenant["id"]
    return tenant


def _tenant_by_id(conn, key: str) -> dict | None:
    try:
        key = str(uuid.UUID(key))
    except ValueError:
        return None
    row = conn.execute(select(tenants.c.id, tenants.c.slug, tenants.c.name).where(tenants.c.id == key)).first()
    return None if row is None else {"id": row.id, "slug": row.slug, "name": row.name}


@bp.route("/t/<slug>/status", methods=["GET", "POST"])
def status(slug: str):
    tenant = _tenant(slug)
    reference = request.form.get("reference", "").strip()[:32]
    phone = request.form.get("phone", "").strip()[:20]
    found, error = None, None
    if request.method == "POST":
        if not reference or not phone:
            error = _("Enter the reference number and the phone number you gave us.")
        else:
            found = _lookup(reference, phone)
            if found is None:
                error = _("We found no complaint with this reference number and phone number.")
            else:
                from .owner_form import remember_lookup  # here: owner_form imports this module
                remember_lookup(tenant["id"], found["id"])  # lets this browser show the complaint's photos
    status_code = 200 if error is None else 404 if reference and phone else 422
    return render_template("owner_status.html", tenant=tenant, reference=reference, phone=phone, found=found,
                           error=error), status_code


def _lookup(reference: str, phone: str) -> dict | None:
    try:
        complaint = rpc.client().call("intake", "find_by_reference", reference, phone)
    except RemoteError as exc:
        data = parse_remote(exc.value)
        if data is not None and int(data.get("status", 0)) == 404:
            return None
        raise
    view = full_view(complaint)
    view["timeline"] = [{"at": e["at"], "kind": e["kind"], "text": e["text"]} for e in view["timeline"]]
    view["timezone"] = (complaint.get("estate") or {}).get("timezone")
    view["estate_name"] = (complaint.get("estate") or {}).get("name")
    return view


bp.register_error_handler(Exception, page_error)
