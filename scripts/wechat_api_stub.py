#!/usr/bin/env python3
"""Local stand-in of the WeChat official-account API, for `make run` and the tests (never production).

A real HTTP server on 127.0.0.1:$WECHAT_API_PORT (notify's WECHAT_API_BASE_URL points here):
- ``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..``: ``{"access_token", "expires_in": 7200}``
  for a known app id + AppSecret (the demo account's by default), else errcode 40013 (app id) / 40125 (secret);
- ``POST /cgi-bin/message/custom/send?access_token=..``: records the JSON body as
  ``$ESTATEDESK_VAR/wechat/<timestamp>-<n>.json`` (``{"appid", "body"}``) and answers ``{"errcode": 0}``; an
  unknown or revoked token: 40001; an openid in ``WECHAT_STUB_EXPIRED_OPENIDS``: 45015 (outside the 48-hour
  reply window), nothing recorded; a body that is not JSON: 47001;
- ``POST /stub/revoke-tokens``: every token issued so far becomes invalid (tests of the refresh on 40001).

Apps: ``WECHAT_STUB_APPS`` = ``appid:secret[,appid:secret...]`` (default the demo account,
``wx0123456789abcdef:demo-wechat-app-secret``). Stops on SIGINT/SIGTERM. ``serve()`` runs it in a thread for
integration tests.
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


class Stub:
    """The stand-in's state: known apps, issued tokens, the folder messages are recorded in."""

    def __init__(self, folder: Path, apps: dict[str, str], expired: set[str]):
        self.folder, self.apps, self.expired = folder, apps, expired
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

    def send(self, query: dict, raw: bytes) -> dict:
        appid = self.tokens.get(query.get("access_token", ""))
        if appid is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {"errcode": 47001, "errmsg": "data format error"}
        if not isinstance(body, dict) or not body.get("touser"):
            return {"errcode": 47001, "errmsg": "data format error"}
        if body["touser"] in self.expired:
            return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
        with self.lock:
            n = next(self.counter)
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{n}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"appid": appid, "body": body}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        print(f"wechat #{n} app={appid} to={body['touser']} type={body.get('msgtype')} -> {path}", flush=True)
        return {"errcode": 0, "errmsg": "ok"}

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


def serve(host: str, port: int, folder, apps: str = DEMO_APPS, expired: str = DEMO_EXPIRED):
    """Start the stand-in in a daemon thread; returns the server (``server_address``, ``shutdown()``)."""
    stub = Stub(Path(folder), parse_apps(apps), {o.strip() for o in (expired or "").split(",") if o.strip()})
    server = ThreadingHTTPServer((host, port), handler_for(stub))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="wechat-api-stub").start()
    return server


def main() -> int:
    host = os.environ.get("WECHAT_API_HOST", "127.0.0.1")
    port = int(os.environ.get("WECHAT_API_PORT", "9207"))
    folder = Path(os.environ.get("ESTATEDESK_VAR", "var")).resolve() / "wechat"
    server = serve(host, port, folder, os.environ.get("WECHAT_STUB_APPS", DEMO_APPS),
                   os.environ.get("WECHAT_STUB_EXPIRED_OPENIDS", DEMO_EXPIRED))
    print(f"wechat api stub listening on {host}:{port}, recording to {folder}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
