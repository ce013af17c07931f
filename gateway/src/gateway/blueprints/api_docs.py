"""The API's own description: ``/api/v1/openapi.json`` (OpenAPI 3.1, ``gateway.openapi``) and ``/api/docs``
(Swagger UI from the ``swagger-ui-bundle`` package, served locally: no CDN, works offline). Both public: the
description holds no tenant data."""
from __future__ import annotations

import os

from flask import Blueprint, abort, current_app, render_template_string, send_from_directory

from .. import openapi
from ..auth import public

bp = Blueprint("api_docs", __name__)

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>EstateDesk API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{{ url_for('api_docs.asset', filename='swagger-ui.css') }}"></head>
<body><div id="swagger-ui"></div>
<script src="{{ url_for('api_docs.asset', filename='swagger-ui-bundle.js') }}"></script>
<script>window.ui = SwaggerUIBundle({url: "{{ url_for('api_docs.spec') }}", dom_id: "#swagger-ui",
  deepLinking: true});</script></body></html>"""


@bp.get("/api/v1/openapi.json")
@public
def spec():
    document = current_app.extensions.get("openapi")
    if document is None:
        document = current_app.extensions["openapi"] = openapi.build()
    return document


@bp.get("/api/docs")
@public
def page():
    return render_template_string(_PAGE)


@bp.get("/api/docs/assets/<path:filename>")
@public
def asset(filename: str):
    if filename not in ("swagger-ui.css", "swagger-ui-bundle.js"):
        abort(404)
    import swagger_ui_bundle

    return send_from_directory(os.path.abspath(swagger_ui_bundle.swagger_ui_path), filename, max_age=86400)
