"""The WeChat official-account callback, per tenant: ``/channels/wechat/<tenant slug>``.

Public (WeChat's servers call it): no token, no session, no CSRF (``web._is_page`` leaves ``/channels/`` out).
The slug decides the tenant, like the owner pages; the request's authenticity is intake's business (the
signature over the tenant's WeChat token, ``intake.wechat_protocol``), so the raw query arguments and the raw
body bytes (base64) go to intake untouched. GET is WeChat's URL verification (answer: the ``echostr``); POST a
message (answer: the passive reply XML, or ``success``). Intake's refusals come back as the gateway's JSON
errors (``wechat_signature_invalid`` 403, ``wechat_forbidden_xml`` 400...). The RPC waits at most
``WECHAT_RPC_TIMEOUT`` (4 s): WeChat drops an answer after 5 s and retries; a late first attempt is then
answered from the stored reply.
"""
from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, g, request

from .. import accounts, rpc
from ..errors import ApiError

bp = Blueprint("wechat", __name__)

WECHAT_RPC_TIMEOUT = 4.0


def _tenant(slug: str) -> dict:
    with current_app.extensions["db"].connect() as conn:
        tenant = accounts.tenant_by_slug(conn, slug[:64])
    if tenant is None:
        raise ApiError(404, "not_found")
    g.principal = None
    g.public_tenant_id = tenant["id"]
    return tenant


@bp.route("/channels/wechat/<slug>", methods=["GET", "POST"])
def callback(slug: str):
    _tenant(slug)
    query = request.args.to_dict()
    if request.method == "GET":
        echostr = rpc.client().call("intake", "verify_wechat", query, timeout=WECHAT_RPC_TIMEOUT)
        return Response(echostr, mimetype="text/plain")
    body = base64.b64encode(request.get_data(cache=False)).decode("ascii")
    result = rpc.client().call("intake", "receive_wechat", query, body, timeout=WECHAT_RPC_TIMEOUT)
    return Response(result["body"], content_type=result["content_type"])
