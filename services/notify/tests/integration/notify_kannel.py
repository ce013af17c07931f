"""A Kannel (bearerbox + smsbox + fakesmsc) run by ``scripts/kannel.sh``, and what its fake SMSC received.

fakesmsc prints each MT message as ``Got message N: <sender receiver type data>``; ``type`` is ``text``
(plain), ``ucs-2`` (URL-encoded UTF-16BE, what Kannel sends for ``coding=2``) or ``data`` (URL-encoded bytes).
(Module name unique across the repository: pytest puts test directories on ``sys.path``.)
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from nameko.testing.utils import find_free_port

try:  # the script runs outside eventlet's hub: a green subprocess registers its pipe's fd with the hub, and a
    # descriptor number some greenthread still listens on after its socket was closed elsewhere made the hub refuse
    # it ("Second simultaneous read on fileno", once in a full make test run); the script takes a second or two
    from eventlet.patcher import original

    _subprocess = original("subprocess")
except ImportError:  # pragma: no cover - eventlet is always installed with nameko
    _subprocess = subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "kannel.sh")
BINARIES = ("/usr/sbin/bearerbox", "/usr/sbin/smsbox", "/usr/lib/kannel/test/fakesmsc")
PORTS = ("KANNEL_ADMIN_PORT", "KANNEL_SENDSMS_PORT", "KANNEL_SMSBOX_PORT", "KANNEL_FAKESMSC_PORT")
_LINE = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>\s*$")


def kannel_installed() -> bool:
    return all(os.access(path, os.X_OK) for path in BINARIES)


@dataclass(frozen=True)
class Sms:
    sender: str
    receiver: str
    coding: str
    text: str


def decode(kind: str, data: str) -> str:
    if kind == "text":
        return data
    raw = unquote_to_bytes(data.replace("+", " "))  # Kannel's URL encoding writes a space as "+"
    return raw.decode("utf-16-be") if kind == "ucs-2" else raw.decode("utf-8", "replace")


class Kannel:
    def __init__(self, var: str, ports: dict, user="estatedesk", password="estatedesk-dev"):
        self.var, self.ports, self.user, self.password = var, ports, user, password

    @classmethod
    def from_env(cls, env=os.environ) -> "Kannel | None":
        if not env.get("KANNEL_SENDSMS_PORT") or not env.get("ESTATEDESK_VAR"):
            return None
        return cls(env["ESTATEDESK_VAR"], {name: env.get(name, "") for name in PORTS},
                   env.get("KANNEL_USER", "estatedesk"), env.get("KANNEL_PASSWORD", "estatedesk-dev"))

    @classmethod
    def private(cls, var: str) -> "Kannel":
        return cls(var, {name: str(find_free_port()) for name in PORTS})

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['KANNEL_SENDSMS_PORT']}/cgi-bin/sendsms"

    def _script(self, command: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, ESTATEDESK_VAR=self.var, KANNEL_USER=self.user, KANNEL_PASSWORD=self.password,
                   **self.ports)
        return _subprocess.run([SCRIPT, command], env=env, capture_output=True, text=True, timeout=90)

    def running(self) -> bool:
        return self._script("status").returncode == 0

    def start(self) -> None:
        done = self._script("start")
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        self._script("stop")

    def received(self) -> list[Sms]:
        try:
            with open(os.path.join(self.var, "kannel", "fakesmsc.log"), encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            match = _LINE.search(line)
            if match:
                sender, receiver, kind, data = match.groups()
                found.append(Sms(sender, receiver, kind, decode(kind, data)))
        return found

    def wait_for(self, receiver: str, timeout: float = 20.0) -> list[Sms]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [m for m in self.received() if m.receiver == receiver]
            if mine:
                return mine
            time.sleep(0.1)
        raise AssertionError(f"no SMS to {receiver} reached fakesmsc within {timeout}s")


def sms_config(config: dict, kannel: Kannel, **extra) -> dict:
    """``notify_config`` with SMS on through ``kannel``; quiet hours off so the tests do not depend on the hour."""
    return config | {"SMS_ENABLED": True, "KANNEL_SENDSMS_URL": kannel.sendsms_url, "KANNEL_USER": kannel.user,
                     "KANNEL_PASSWORD": kannel.password, "KANNEL_TIMEOUT": 5, "SMS_POLL_SECONDS": 0.2,
                     "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"} | extra
