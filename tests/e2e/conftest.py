"""The whole system, started as a user starts it (scripts/run.sh), driven over HTTP.

Run by `make test` (phases e2e and e2e-pg) with the test broker already up. It uses the test instance's
ESTATEDESK_VAR and ports; data from an earlier run is wiped first so every run starts clean.
"""
from __future__ import annotations

import email
import email.policy
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from estatedesk_common.config import db_target

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("intake", "workflow", "notify", "reporting", "gateway")


def _var() -> str:
    return os.environ.get("ESTATEDESK_VAR") or os.path.join(ROOT, "var", "test")


def _wipe(var: str, database_url: str | None) -> None:
    for sub in ("db", "mail", "wechat"):
        shutil.rmtree(os.path.join(var, sub), ignore_errors=True)
    _purge_queues()
    if database_url:
        engine = create_engine(db_target("e2e", {"DATABASE_URL": database_url}).url)
        with engine.begin() as conn:
            for package in PACKAGES:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{package}" CASCADE'))
        engine.dispose()


def _purge_queues() -> None:
    """Empty the broker's queues: events a killed earlier run left there would reach the fresh databases (the
    fault run saw reporting count 897 complaints of an aborted run that the new intake never had)."""
    api = f"http://127.0.0.1:{os.environ.get('RABBIT_MGMT_PORT', '15672')}/api/queues"
    try:
        queues = requests.get(api, auth=("guest", "guest"), timeout=20).json()
    except (requests.RequestException, ValueError):
        return  # no broker yet: run.sh starts a fresh one
    for queue in queues:
        vhost = requests.utils.quote(queue["vhost"], safe="")
        name = requests.utils.quote(queue["name"], safe="")
        requests.delete(f"{api}/{vhost}/{name}/contents", auth=("guest", "guest"), timeout=20)


class System:
    def __init__(self, var: str, base_url: str, env: dict):
        self.var, self.base_url, self.env = var, base_url, env
        self.api = base_url + "/api/v1"

    def token(self, username="agent@demo", password="demo-password") -> str:
        r = requests.post(f"{self.api}/auth/token", json={"username": username, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def headers(self, username="agent@demo") -> dict:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def mails(self) -> list:
        found = []
        for path in sorted(glob.glob(os.path.join(self.var, "mail", "*.eml"))):
            with open(path, "rb") as f:
                found.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return found

    def wechat_messages(self) -> list:
        """What the WeChat API stand-in (scripts/wechat_api_stub.py) received: ``[{"appid", "body"}]``, oldest first."""
        found = []
        for path in sorted(glob.glob(os.path.join(self.var, "wechat", "*.json"))):
            with open(path, encoding="utf-8") as f:
                found.append(json.load(f))
        return found

    def pid(self, name: str) -> int:
        with open(os.path.join(self.var, "run", f"{name}.pid")) as f:
            return int(f.read().strip())

    def kill(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGKILL)

    def restart_service(self, name: str) -> None:
        """Start one process again as run.sh does (same command, log and pid file, through scripts/env.sh): a
        nameko service, ``gateway`` or ``mailcatcher``."""
        log = open(os.path.join(self.var, "log", f"{name}.log"), "ab")
        python = os.path.join(ROOT, ".venv", "bin", "python")
        others = {"gateway": [python, "-m", "gateway", "serve"],
                  "mailcatcher": [python, os.path.join(ROOT, "scripts", "mailcatcher.py")]}
        # through scripts/env.sh, as run.sh does (ESTATEDESK_SECRETS_KEY: intake decrypts channel secrets)
        service = [os.path.join(ROOT, ".venv", "bin", "nameko"), "run", "--config", f"services/{name}/config.yml",
                   f"{name}.service"]
        command = ["bash", "-c", '. scripts/env.sh && exec "$@"', name, *others.get(name, service)]
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        with open(os.path.join(self.var, "run", f"{name}.pid"), "w") as f:
            f.write(str(proc.pid))


CONSOLE_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_session(system, username: str) -> requests.Session:
    """A browser-less console session of a demo user (the login form with its CSRF token)."""
    session = requests.Session()
    token = CONSOLE_CSRF.search(session.get(f"{system.base_url}/login", timeout=15).text).group(1)
    answer = session.post(f"{system.base_url}/login", data={"username": username, "password": "demo-password",
                                                             "csrf_token": token}, allow_redirects=False, timeout=15)
    assert answer.status_code == 302, answer.text
    return session


def wait_for(predicate, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def system():
    var = _var()
    database_url = os.environ.get("TEST_DATABASE_URL")
    env = dict(os.environ, ESTATEDESK_VAR=var, ESTATEDESK_DETACH="1", ESTATEDESK_ALLOW_MISSING="0",
               OUTBOX_POLL_SECONDS="0.5")
    env.pop("TEST_DATABASE_URL", None)
    env.pop("GATEWAY_PASSWORD_HASH_PROFILE", None)  # the running system hashes as in production (root conftest.py)
    # every test signs in from 127.0.0.1: the per-IP sign-in limit (30/min) is proven by the gateway's unit tests
    env.setdefault("GATEWAY_LOGIN_RATE_LIMIT", "6000 per minute")
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    subprocess.run([os.path.join(ROOT, "scripts", "stop.sh"), "--procs"], cwd=ROOT, env=env, timeout=60,
                   capture_output=True)
    _wipe(var, database_url)
    started = subprocess.run([os.path.join(ROOT, "scripts", "run.sh")], cwd=ROOT, env=env, timeout=240,
                             capture_output=True, text=True)
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    host, port = env.get("GATEWAY_HOST", "127.0.0.1"), env.get("GATEWAY_PORT", "8000")
    yield System(var, f"http://{host}:{port}", env)
    with open(os.path.join(var, "log", "e2e-stop.log"), "a") as log:  # which process needed its SIGKILL, if any
        subprocess.run([os.path.join(ROOT, "scripts", "stop.sh"), "--procs"], cwd=ROOT, env=env, timeout=120,
                       stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def complaint_body():
    def make(**over):
        # a phone of its own per complaint: one owner's same text would be merged (or linked as a repeat of
        # a case another test closed) by intake's duplicate detection
        body = {"estate": "DEMO-RES", "channel": "web", "description": "3栋电梯困人，物业电话无人接听",
                "complainant": {"name": "王先生", "phone": f"138{uuid.uuid4().int % 10**8:08d}",
                                "email": "wang@example.com",
                                "unit": "1栋101"}}
        body.update(over)
        return body
    return make
