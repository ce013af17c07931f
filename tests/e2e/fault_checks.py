"""Faults to inject and the truth to compare after them (tests/e2e/test_zz_fault_run.py).

Faults, in turn: SIGKILL + restart of each process (intake, workflow, notify, reporting, gateway), the mail
sink (SMTP down: notify keeps the acknowledgements queued and catches up), RabbitMQ stopped and started, and
PostgreSQL stopped and started when the run is on PostgreSQL.

The truth, read where it lives: intake's ``complaints`` table (what was stored, by the run's tag in the text),
workflow's case through the API (``GET /complaints/<id>`` has ``case``), the acknowledgements in the mail sink
(one ``.eml`` per mail sent, the reference in the subject), reporting's total through the API against intake's
total through the API, and the dead-letter queues through RabbitMQ's management API.
"""
from __future__ import annotations

import email.parser
import glob
import os
import re
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

import requests
from sqlalchemy import create_engine, text

from estatedesk_common.config import db_target

from .conftest import ROOT, wait_for

HEALTH_TIMEOUT = 180.0
READ_RETRY_SECONDS = 120.0  # how long the checker keeps retrying a read answered 503 (Retry-After)


@dataclass
class Fault:
    name: str
    inject: callable
    recover: callable
    min_down: float = 0.0  # seconds it stays down at least (the mail sink: long enough for notify to fail)


def faults(system, on_postgres: bool) -> list[Fault]:
    found = [Fault(name, lambda n=name: system.kill(n), lambda n=name: _restart(system, n))
             for name in ("intake", "workflow", "notify", "reporting", "gateway")]
    found.append(Fault("mailcatcher", lambda: system.kill("mailcatcher"), lambda: _restart_sink(system), 5.0))
    found.append(Fault("rabbitmq", lambda: _script(system, "rabbitmq.sh", "stop"),
                       lambda: (_script(system, "rabbitmq.sh", "start"), healthy(system))))
    if on_postgres:
        found.append(Fault("postgres", lambda: _script(system, "postgres.sh", "stop"),
                           lambda: (_script(system, "postgres.sh", "start"), healthy(system))))
    return found


def _restart(system, name: str) -> None:
    system.restart_service(name)
    healthy(system)


def _restart_sink(system) -> None:
    system.restart_service("mailcatcher")
    port = int(system.env.get("SMTP_PORT", 1025))

    def listening():
        try:
            socket.create_connection((system.env.get("SMTP_HOST", "127.0.0.1"), port), timeout=2).close()
            return True
        except OSError:
            return False
    wait_for(listening, timeout=60, interval=0.2, what="mail sink listening again")


def healthy(system) -> None:
    def ok():
        try:
            return requests.get(f"{system.api}/health", timeout=20).status_code == 200
        except requests.RequestException:
            return False
    wait_for(ok, timeout=HEALTH_TIMEOUT, interval=0.3, what="every service healthy")


def _script(system, script: str, action: str) -> None:
    result = subprocess.run([os.path.join(ROOT, "scripts", script), action], cwd=ROOT, env=system.env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{script} {action}: {result.stdout[-2000:]}{result.stderr[-2000:]}"


# --- the truth ------------------------------------------------------------------------------------------------
def dead_letters(system) -> dict:
    """Messages waiting in each ``<service>.dlq`` (RabbitMQ management API)."""
    port = system.env.get("RABBIT_MGMT_PORT", "15672")
    r = requests.get(f"http://127.0.0.1:{port}/api/queues", auth=("guest", "guest"), timeout=20)
    r.raise_for_status()
    return {q["name"]: q.get("messages", 0) for q in r.json() if q["name"].endswith(".dlq")}


class Truth:
    """What the system holds about one run; ``refresh`` re-reads only what is not settled yet."""

    def __init__(self, system, run_id: str, accepted: list):
        self.system, self.run_id, self.accepted = system, run_id, accepted
        self.headers, self.hq = system.headers(), system.headers("hq@demo")
        self.tag = re.compile(rf"故障演练 {run_id}-(\d+)")
        self.stored: dict[int, list] = {}  # index -> [(complaint id, reference, channel, external id)]
        self.with_case: set[str] = set()
        self.ack_mails: Counter = Counter()  # reference -> acknowledgement mails in the sink
        self._mail_files: set[str] = set()
        self.totals: dict = {}
        self.mail_retried = 0  # acknowledgements whose first SMTP attempt failed (the mail sink was down)
        self.reads_retried = 0  # the checker's own reads answered 503 + Retry-After, then retried

    def refresh(self) -> None:
        self._stored()
        self._cases()
        self._acks()
        self.mail_retried = self._count("notify", "messages", "channel = 'email' AND last_error IS NOT NULL AND "
                                        "complaint_id IN ({ids})")
        self.totals = {"intake": self._get(f"{self.system.api}/complaints?limit=1", self.hq)["total"],
                       "reporting": self._get(f"{self.system.api}/reports/complaint-counts", self.hq)["total"]}

    def _get(self, url: str, headers: dict) -> dict:
        """A read as a well-behaved client does it: a 503 (a service busy with the backlog the faults left, its RPC
        timed out) is retried after its Retry-After, for at most READ_RETRY_SECONDS; anything else fails."""
        deadline = time.monotonic() + READ_RETRY_SECONDS
        while True:
            r = requests.get(url, headers=headers, timeout=30)
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            self.reads_retried += 1
            time.sleep(min(float(r.headers.get("Retry-After") or 1), 5.0))
        assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:300]}"
        return r.json()

    def _query(self, package: str, sql: str, **params) -> list:
        target = db_target(package, self.system.env)
        engine = create_engine(target.url)
        try:
            with engine.connect() as conn:
                if target.schema:
                    conn.execute(text(f'SET search_path TO "{target.schema}"'))
                return conn.execute(text(sql), params).all()
        finally:
            engine.dispose()

    def _count(self, package: str, table: str, where: str) -> int:
        ids = [e[0] for entries in self.stored.values() for e in entries]
        if not ids:
            return 0
        marks = ", ".join(f":id{n}" for n in range(len(ids)))
        return self._query(package, f"SELECT count(*) FROM {table} WHERE {where.format(ids=marks)}",
                           **{f"id{n}": i for n, i in enumerate(ids)})[0][0]

    def _stored(self) -> None:
        rows = self._query("intake", "SELECT id, reference, channel, external_id, description FROM complaints "
                           "WHERE description LIKE :tag", tag=f"%故障演练 {self.run_id}-%")
        stored: dict[int, list] = {}
        for row in rows:
            match = self.tag.search(row.description)
            if match:
                stored.setdefault(int(match.group(1)), []).append((row.id, row.reference, row.channel,
                                                                   row.external_id))
        self.stored = stored

    def _cases(self) -> None:
        for entries in self.stored.values():
            for complaint_id, *_ in entries:
                if complaint_id in self.with_case:
                    continue
                view = self._get(f"{self.system.api}/complaints/{complaint_id}", self.headers)
                if view.get("case") is not None:
                    self.with_case.add(complaint_id)

    def _acks(self) -> None:
        parser = email.parser.BytesHeaderParser()
        for path in sorted(glob.glob(os.path.join(self.system.var, "mail", "*.eml"))):
            if path in self._mail_files:
                continue
            with open(path, "rb") as f:
                subject = str(parser.parse(f).get("Subject", ""))
            self._mail_files.add(path)
            for reference in re.findall(r"TS\d{8}-[0-9A-Z]{6}", subject):
                self.ack_mails[reference] += 1

    # --- the comparison --------------------------------------------------------------------------------------
    def figures(self) -> dict:
        accepted = {s.index for s in self.accepted}
        lost = sorted(accepted - set(self.stored))
        duplicated = sorted(i for i, entries in self.stored.items() if len(entries) > 1)
        complaints = [e for entries in self.stored.values() for e in entries]
        external_ids = Counter(e[3] for e in complaints if e[3])
        return {
            "stored": len(complaints),
            "stored_not_accepted": sorted(set(self.stored) - accepted),
            "lost": lost, "duplicated": duplicated,
            "external_ids_repeated": sorted(k for k, n in external_ids.items() if n > 1),
            "cases": sum(1 for e in complaints if e[0] in self.with_case),
            "acknowledged": sum(1 for e in complaints if self.ack_mails.get(e[1])),
            "acknowledgement_mails_repeated": sum(1 for e in complaints if self.ack_mails.get(e[1], 0) > 1),
            "acknowledgements_retried": self.mail_retried,
            "intake_total": self.totals.get("intake"), "reporting_total": self.totals.get("reporting"),
            "checker_reads_retried_after_503": self.reads_retried,
        }

    def settled(self) -> bool:
        f = self.figures()
        return (not f["lost"] and f["cases"] == f["stored"] and f["acknowledged"] == f["stored"]
                and f["intake_total"] == f["reporting_total"])


def wait_until_quiet(truth: Truth, timeout: float) -> float:
    """Poll until the run's figures settle (or the timeout); returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        truth.refresh()
        if truth.settled() or time.monotonic() > deadline:
            return time.monotonic() - started
        time.sleep(1.0)
