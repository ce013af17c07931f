"""The owner's complaint form (web channel), public and per tenant: ``/t/<slug>/complain`` lists the tenant's
estates, ``/t/<slug>/e/<estate code>/complain`` is the form of one estate (the address a QR code on the
estate's notice board points to). No login and no SMS.

Against abuse, without a captcha that an owner on a phone would have to solve:
- POST is rate limited per IP (``OWNER_FORM_RATE_LIMIT``, default "10 per minute;60 per hour", ``web.py``; not
  stricter: owners on one mobile carrier's NAT share an address);
- a honeypot field (``website``, hidden from people, filled by naive bots) refuses the submission;
- the form carries a signed render time (``itsdangerous``, the app's secret): a submission sooner than
  ``OWNER_FORM_MIN_SECONDS`` (3 s) after the form was served, or later than 2 hours, is refused with the
  form kept; the signature also binds the form to its tenant and estate;
- CSRF like every page (the session's token).

Photos (at most 3, each at most 8 MB, JPEG/PNG/WebP) are checked and re-encoded by ``uploads`` (EXIF and GPS
gone) and sent with the complaint to ``intake.register_complaint``, which stores complaint and photos in one
transaction. A refused photo refuses the whole submission (422, the text kept, the photo to be chosen again):
nothing is half accepted. After success the page redirects (POST/redirect/GET) to itself and shows the
reference number once, with a link to the status page; the reference travels in the session, never the URL.
"""
from __future__ import annotations

import base64
import re
import time

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from werkzeug.exceptions import RequestEntityTooLarge

from estatedesk_common.errors import parse_remote

from .. import rpc, uploads
from ..schemas import ComplaintSchema
from .console import page_error
from .console_complaints import building_choices, location_body
from .console_attachments import file_response
from .owner import _tenant

bp = Blueprint("owner_form", __name__)

MOBILE = re.compile(r"^1[3-9]\d{9}$")
FIELDS = ("name", "phone", "unit", "description", "building", "building_other", "facility")
TOKEN_MAX_AGE = 2 * 3600
PROOF_SECONDS, PROOF_KEEP = 30 * 60, 5
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
RATE_LIMIT = "10 per minute;60 per hour"  # per IP, POST only (config OWNER_FORM_RATE_LIMIT)
DEFAULT_MIN_SECONDS = 3
_MESSAGES = {
    "name": _l("Enter your name (at most 50 characters)."),
    "phone": _l("Enter your mobile phone number (11 digits, starting with 1)."),
    "unit": _l("The building and unit can have at most 50 characters."),
    "description": _l("Describe the problem (at most 5000 characters)."),
    "building": _l("Choose your estate's building from the list, or \"Other / unknown\"."),
    "facility": _l("The facility can have at most 40 characters."),
    "too_fast": _l("That was very fast. Please check your complaint and submit it again."),
    "expired": _l("This form has expired. Please submit it again."),
    "refused": _l("Your complaint could not be accepted. Please try again."),
}


def _estates() -> list[dict]:
    """The estates owners may complain about (a deactivated one is gone from the list and its form is 404)."""
    return [e for e in rpc.client().call("intake", "list_estates") if e.get("active", True)]


def _estate(code: str) -> dict:
    found = [e for e in _estates() if e["code"] == code[:40]]
    if not found:
        abort(404)
    return found[0]


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="owner-complaint-form")


@bp.get("/t/<slug>/complain")
def choose_estate(slug: str):
    tenant = _tenant(slug)
    return render_template("owner_complain_estates.html", tenant=tenant, estates=_estates())


@bp.route("/t/<slug>/e/<estate_code>/complain", methods=["GET", "POST"])
def complain(slug: str, estate_code: str):
    tenant = _tenant(slug)
    estate = _estate(estate_code)
    if request.method == "GET":
        done = session.pop("owner_complaint_done", None)
        if done and done.get("tenant") == tenant["id"]:
            return render_template("owner_complain_done.html", tenant=tenant, estate=estate, done=done)
        return _form(tenant, estate, {}, {}, building_choices([estate["code"]]))
    form = {key: request.form.get(key, "")[:6000] for key in FIELDS}
    choices = building_choices([estate["code"]])
    errors = _guard(tenant, estate) or _check_fields(form, choices.get(estate["code"]) or [])
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    photos = [] if errors else _photos(files, errors)
    if not errors:
        created = _register(estate, form, photos, errors)
        if created is not None:
            session["owner_complaint_done"] = {"tenant": tenant["id"], "reference": created["reference"],
                                               "photos": len(created.get("attachments") or [])}
            return redirect(url_for("owner_form.complain", slug=slug, estate_code=estate["code"]), 303)
    return _form(tenant, estate, form, errors, choices, photos_dropped=bool(files)), 422


def _form(tenant: dict, estate: dict, form: dict, errors: dict, choices: dict, photos_dropped: bool = False):
    token = _signer().dumps({"t": tenant["id"], "e": estate["code"]})
    return render_template("owner_complain.html", tenant=tenant, estate=estate, form=form, errors=errors,
                           token=token, photos_dropped=photos_dropped, choices=choices, max_photos=uploads.MAX_OWNER_PHOTOS,
                           max_mb=uploads.MAX_PHOTO_BYTES // (1024 * 1024))


def _guard(tenant: dict, estate: dict) -> dict:
    """The anti-bot checks: honeypot, signed render time (binds tenant and estate), too fast, too old."""
    if request.form.get("website"):
        return {"form": str(_MESSAGES["refused"])}
    try:
        payload, signed_at = _signer().loads(request.form.get("form_token", ""), max_age=TOKEN_MAX_AGE,
                                             return_timestamp=True)
    except SignatureExpired:
        return {"form": str(_MESSAGES["expired"])}
    except BadSignature:
        return {"form": str(_MESSAGES["refused"])}
    if payload != {"t": tenant["id"], "e": estate["code"]}:
        return {"form": str(_MESSAGES["refused"])}
    minimum = float(current_app.config.get("OWNER_FORM_MIN_SECONDS", DEFAULT_MIN_SECONDS))
    if time.time() - signed_at.timestamp() < minimum:
        return {"form": str(_MESSAGES["too_fast"])}
    return {}


def _check_fields(form: dict, buildings: list[dict]) -> dict:
    """The owner's fields; a building must be one of the estate's registered ones (intake checks it again)."""
    errors = {}
    if buildings:
        form["building_other"] = ""  # the text field is for estates without registered buildings
        if form["building"].strip() and form["building"].strip() not in {b["code"] for b in buildings}:
            errors["building"] = str(_MESSAGES["building"])
    elif len(form["building_other"].strip()) > 40:
        errors["building"] = str(_MESSAGES["building"])
    if len(form["facility"].strip()) > 40:
        errors["facility"] = str(_MESSAGES["facility"])
    phone = re.sub(r"[\s-]", "", form["phone"]).removeprefix("+86")
    if MOBILE.match(phone):
        form["phone"] = phone  # as intake stores it; a wrong one is shown back as typed
    else:
        errors["phone"] = str(_MESSAGES["phone"])
    if not form["name"].strip() or len(form["name"].strip()) > 50:
        errors["name"] = str(_MESSAGES["name"])
    if len(form["unit"].strip()) > 50:
        errors["unit"] = str(_MESSAGES["unit"])
    if not form["description"].strip() or len(form["description"].strip()) > 5000:
        errors["description"] = str(_MESSAGES["description"])
    return errors


def _photos(files: list, errors: dict) -> list[dict]:
    """The photos ready for intake; on the first refusal ``errors["photos"]`` says which file and why."""
    if len(files) > uploads.MAX_OWNER_PHOTOS:
        errors["photos"] = uploads.refusal_message("too_many_files", "", uploads.MAX_OWNER_PHOTOS)
        return []
    prepared = []
    for upload in files:
        name = uploads.client_filename(upload.filename)
        try:
            prepared.append(uploads.prepare_photo(upload.read(uploads.MAX_PHOTO_BYTES + 1), name).for_intake())
        except uploads.UploadRefused as exc:
            errors["photos"] = uploads.refusal_message(exc.reason, name, uploads.MAX_OWNER_PHOTOS)
            return []
    return prepared


def _register(estate: dict, form: dict, photos: list[dict], errors: dict) -> dict | None:
    body = {"estate": estate["code"], "channel": "web", "description": form["description"],
            "complainant": {"name": form["name"], "phone": form["phone"], "unit": form["unit"].strip() or None}}
    body |= {"location": location_body(form)} if location_body(form) else {}
    try:
        data = ComplaintSchema().load(body)
    except ValidationError as exc:
        errors["description" if "description" in exc.messages else "form"] = str(_MESSAGES["refused"])
        return None
    try:
        return rpc.client().call("intake", "register_complaint", data | {"attachments": photos})
    except RemoteError as exc:
        refused = parse_remote(exc.value)
        if refused is None or not 400 <= int(refused.get("status", 500)) < 500:
            raise
        field = str((refused.get("details") or {}).get("field") or "")
        key = ("photos" if field.startswith("attachments") else "building" if field.startswith("location")
               and not field.endswith("facility") else field.removeprefix("complainant.").removeprefix("location."))
        errors[key if key in (*FIELDS, "photos") else "form"] = str(_MESSAGES.get(key, _MESSAGES["refused"]))
        return None


def remember_lookup(tenant_id: str, complaint_id: str) -> None:
    """The status page matched reference + phone: for ``PROOF_SECONDS`` this browser's session may fetch the
    complaint's photos (``status_photo``). Kept in the signed session cookie, at most ``PROOF_KEEP`` complaints."""
    now = int(time.time())
    seen = {cid: v for cid, v in (session.get("owner_seen") or {}).items()
            if isinstance(v, list) and len(v) == 2 and v[1] > now}
    seen[complaint_id] = [tenant_id, now + PROOF_SECONDS]
    session["owner_seen"] = dict(sorted(seen.items(), key=lambda kv: kv[1][1])[-PROOF_KEEP:])


def _proved(tenant_id: str, complaint_id: str) -> bool:
    entry = (session.get("owner_seen") or {}).get(complaint_id)
    return isinstance(entry, list) and len(entry) == 2 and entry[0] == tenant_id and entry[1] > time.time()


@bp.get("/t/<slug>/status/photos/<complaint_id>/<attachment_id>")
def status_photo(slug: str, complaint_id: str, attachment_id: str):
    """A photo of a complaint whose reference + phone this browser gave on the status page (else 404)."""
    tenant = _tenant(slug)
    if not _proved(tenant["id"], complaint_id[:36]):
        abort(404)
    found = rpc.client().call("intake", "get_attachment", complaint_id[:36], attachment_id[:36])
    if found["content_type"] not in PHOTO_TYPES:
        abort(404)
    return file_response(base64.b64decode(found["content"]), found["content_type"], found["filename"])


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    message = _("The photos are too large together (at most %(mb)d MB). Please choose fewer or smaller photos.",
                mb=uploads.UPLOAD_BODY_LIMIT // (1024 * 1024))
    return render_template("error.html", status=413, message=message), 413


bp.register_error_handler(Exception, page_error)
