#!/usr/bin/env python3
"""Local stand-in of the WeChat official-account API, for `make run` and the tests (never production).

A real HTTP server on 127.0.0.1:$WECHAT_API_PORT (notify's WECHAT_API_BASE_URL points here):
- ``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..``: ``{"access_token", "expires_in": 7200}``
  for a known app id + AppSecret (the demo account's by default), else errcode 40013 (app id) / 40125 (secret);
- ``POST /cgi-bin/message/custom/send?access_token=..``: records the JSON body as
  ``$ESTATEDESK_VAR/wechat/<timestamp>-<n>.json`` (``{"appid", "body"}``) and answers ``{"errcode": 0}``; an
  unknown or revoked token: 40001; an openid in ``WECHAT_STUB_EXPIRED_OPENIDS``: 45015 (outside the 48-hour
  reply window), nothing recorded; a body that is not JSON: 47001;
- ``POST /cgi-bin/message/template/send?access_token=..``: a template message (模板消息), validated like
  WeChat's: unknown or revoked token 40001; not JSON, no ``touser`` or ``data`` not ``{key: {"value": text}}``
  47001; a ``template_id`` the stand-in does not know 40037; an openid in ``WECHAT_STUB_UNSUBSCRIBED_OPENIDS``
  43004 (nothing recorded); else recorded like a custom message (``{"appid", "body"}``, the body with
  ``template_id``, ``url`` and ``data``) and answered ``{"errcode": 0, "msgid": n}``;
- ``POST /stub/revoke-tokens``: every token issued so far becomes invalid (tests of the refresh on 40001).

Apps: ``WECHAT_STUB_APPS`` = ``appid:secret[,appid:secret...]`` (default the demo account,
``wx0123456789abcdef:demo-wechat-app-secret``). Template ids: ``WECHAT_STUB_TEMPLATES`` (comma-separated, any
app; default the demo account's, ``intake/wechat_seed.py``). Unsubscribed openids
(``WECHAT_STUB_UNSUBSCRIBED_OPENIDS``, default ``oUnsubscribed0000000000001``) get 45015 for a custom message, as
WeChat answers ("...or subscription is canceled"), and 43004 for a template. Stops on SIGINT/SIGTERM. ``serve()``
runs it in a thread for integration tests.
"""
from __future__ import annotations

import datetime
import itertools
import json
import os
import secrets
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DEMO_APPS = "wx0123456789abcdef:demo-wechat-app-secret"
DEMO_EXPIRED = "oExpiredWindow000000000001"
DEMO_UNSUBSCRIBED = "oUnsubscribed0000000000001"
DEMO_TEMPLATES = ("demoTplAcknowledgement00000000000000000001,demoTplProgress000000000000000000000000001,"
                  "demoTplResolved000000000000000000000000001,demoTplCallbackSurvey000000000000000000001")


class Stub:
    """The stand-in's state: known apps, issued tokens, the folder messages are recorded in."""

    def __init__(self, folder: Path, apps: dict[str, str], expired: set[str], templates: set[str] = frozenset(),
                 unsubscribed: set[str] = frozenset()):
        self.folder, self.apps, self.expired = folder, apps, expired
        self.templates, self.unsubscribed = templates, unsubscribed
        self.tokens: dict[str, str] = {}  # token -> appid
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def token(self, query: dict) -> dict:
        appid, secret = query.get("appid", ""), query.get("secret", "")
        if appid not in self.apps:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if not secrets.compare_digest(self.apps[appid], secret):
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = appid
        return {"access_token": token, "expires_in": 7200}

    def _request(self, query: dict, raw: bytes):
        """``(app id, JSON body)`` of a call with a valid token, else the error answer WeChat gives."""
        appid = self.tokens.get(query.get("access_token", ""))
        if appid is None:
            return None, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        try:
            return appid, json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, {"errcode": 47001, "errmsg": "data format error"}

    def send(self, query: dict, raw: bytes) -> dict:
        appid, body = self._request(query, raw)
        if appid is None:
            return body
        if not isinstance(body, dict) or not body.get("touser"):
            return {"errcode": 47001, "errmsg": "data format error"}
        if body["touser"] in self.expired or body["touser"] in self.unsubscribed:
            return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
        self._record(appid, body, body.get("msgtype"))
        return {"errcode": 0, "errmsg": "ok"}

    def send_template(self, query: dict, raw: bytes) -> dict:
        appid, body = self._request(query, raw)
        if appid is None:
            return body
        data = body.get("data") if isinstance(body, dict) else None
        if (not isinstance(body, dict) or not isinstance(body.get("touser"), str) or not body["touser"]
                or not isinstance(data, dict) or not data
                or not all(isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values())
                or not isinstance(body.get("url", ""), str)):
            return {"errcode": 47001, "errmsg": "data format error"}
        if body.get("template_id") not in self.templates:
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        if body["touser"] in self.unsubscribed:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        n = self._record(appid, body, "template")
        return {"errcode": 0, "errmsg": "ok", "msgid": 1000000 + n}

    def _record(self, appid: str, body: dict, kind) -> int:
        with self.lock:
            n = next(self.counter)
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{n}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"appid": appid, "body": body}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        print(f"wechat #{n} app={appid} to={body['touser']} type={kind} -> {path}", flush=True)
        return n

    def revoke(self) -> dict:
        with self.lock:
            self.tokens.clear()
        return {"errcode": 0, "errmsg": "ok"}


def handler_for(stub: Stub):
    class Handler(BaseHTTPRequestHandler):
        def _query(self) -> dict:
            return {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}

        def _answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - http.server's name
            if urlparse(self.path).path == "/cgi-bin/token":
                return self._answer(200, stub.token(self._query()))
            return self._answer(404, {"errcode": 404, "errmsg": "not found"})

        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1 << 20))
            path = urlparse(self.path).path
            if path == "/cgi-bin/message/custom/send":
                return self._answer(200, stub.send(self._query(), raw))
            if path == "/cgi-bin/message/template/send":
                return self._answer(200, stub.send_template(self._query(), raw))
            if path == "/stub/revoke-tokens":
                return self._answer(200, stub.revoke())
            return self._answer(404, {"errcode": 404, "errmsg": "not found"})

        def log_message(self, fmt, *args):  # one line per recorded message is enough
            pass

    return Handler


def parse_apps(value: str) -> dict[str, str]:
    apps = {}
    for pair in (value or "").split(","):
        appid, _, secret = pair.strip().partition(":")
        if appid and secret:
            apps[appid] = secret
    return apps


def _set(value: str) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}


def serve(host: str, port: int, folder, apps: str = DEMO_APPS, expired: str = DEMO_EXPIRED,
          templates: str = DEMO_TEMPLATES, unsubscribed: str = DEMO_UNSUBSCRIBED):
    """Start the stand-in in a daemon thread; returns the server (``server_address``, ``shutdown()``)."""
    stub = Stub(Path(folder), parse_apps(apps), _set(expired), _set(templates), _set(unsubscribed))
    server = ThreadingHTTPServer((host, port), handler_for(stub))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="wechat-api-stub").start()
    return server


def main() -> int:
    host = os.environ.get("WECHAT_API_HOST", "127.0.0.1")
    port = int(os.environ.get("WECHAT_API_PORT", "9207"))
    folder = Path(os.environ.get("ESTATEDESK_VAR", "var")).resolve() / "wechat"
    server = serve(host, port, folder, os.environ.get("WECHAT_STUB_APPS", DEMO_APPS),
                   os.environ.get("WECHAT_STUB_EXPIRED_OPENIDS", DEMO_EXPIRED),
                   os.environ.get("WECHAT_STUB_TEMPLATES", DEMO_TEMPLATES),
                   os.environ.get("WECHAT_STUB_UNSUBSCRIBED_OPENIDS", DEMO_UNSUBSCRIBED))
    print(f"wechat api stub listening on {host}:{port}, recording to {folder}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
