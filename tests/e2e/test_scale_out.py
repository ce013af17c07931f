"""Scale-out: a second replica of every service against the running system's broker and PostgreSQL, and nothing
is done twice.

A second ``nameko run`` of intake, workflow, notify and reporting is started as scripts/run.sh starts the first
(same config file, same environment through scripts/env.sh; own metrics ports, notify's own HTTP port, logs in
``$ESTATEDESK_VAR/log/replica-<service>.log``). Once RabbitMQ shows two consumers on every service queue, 150
complaints are filed at once; a third of them at DEMO-OFFICE under an estate policy whose first contact is due
in 1 minute, so warning and breach timers fire while both workflow replicas run their timer loops. Then: one
case per complaint, one acknowledgement per case (notify's rows and the mail sink), every fired timer written
once to the timeline, reporting's facts exact (one per complaint, breached where workflow breached) and its daily
counters equal to the facts (an event applied twice would count twice), and every replica handled messages (its
own metrics). As in the fault run (fault_checks.Truth), the ground truth is read from the services' own schemas.

PostgreSQL only: replicas rely on ``FOR UPDATE SKIP LOCKED`` (outbox relay, timers, delivery loops); SQLite is
single-writer by design and means one process per service (docs/operations.md, "Scale-out").
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import bindparam, create_engine, text

from estatedesk_common.config import db_target
from estatedesk_common.demo import DEMO_TENANT

from .conftest import ROOT, wait_for

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                 reason="replicas need PostgreSQL (SKIP LOCKED); SQLite is single-writer, one "
                                        "process per service by design")]

SERVICES = ("intake", "workflow", "notify", "reporting")
N, N_SHORT = 150, 50
SHORT_ESTATE = "DEMO-OFFICE"
SHORT_POLICY = "severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: 1m}\n"
OFFICE_DEMO_POLICY = "severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: 30m}\n"  # seed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metric(port: int, name: str, **labels) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    total = 0.0
    for line in body.splitlines():
        m = re.match(rf'{name}\{{(.*)\}} ([0-9.e+-]+)$', line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += float(m.group(2))
    return total


def _worked(port: int, service: str) -> float:
    """Messages the process handled: RPC and event entrypoints plus timers fired."""
    return (_metric(port, "estatedesk_entrypoint_calls_total", service=service, outcome="ok")
            + _metric(port, "estatedesk_timers_fired_total", service=service, outcome="ok"))


@pytest.fixture
def replicas(system):
    started = {}
    try:
        for svc in SERVICES:
            port = _free_port()
            env = dict(system.env, **{f"{svc.upper()}_METRICS_PORT": str(port)})
            if svc == "notify":
                env["NOTIFY_HTTP_PORT"] = str(_free_port())
            log = open(os.path.join(system.var, "log", f"replica-{svc}.log"), "ab")
            command = ["bash", "-c", '. scripts/env.sh && exec "$@"', svc,
                       os.path.join(ROOT, ".venv", "bin", "nameko"), "run", "--config", f"services/{svc}/config.yml",
                       f"{svc}.service"]
            started[svc] = (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True), port, log)
        mgmt = f"http://127.0.0.1:{system.env.get('RABBIT_MGMT_PORT', '15672')}/api/queues"

        def two_consumers_each():
            for svc, (proc, _, _) in started.items():
                assert proc.poll() is None, f"replica {svc} exited (log: replica-{svc}.log)"
            queues = requests.get(mgmt, auth=("guest", "guest"), timeout=5).json()
            ours = [q for q in queues if q["name"].startswith("evt-") or q["name"].startswith("rpc-")]
            return ours and all(q.get("consumers", 0) >= 2 for q in ours
                                if any(q["name"] in (f"rpc-{s}",) or f"--{s}." in q["name"] for s in SERVICES))
        wait_for(two_consumers_each, timeout=60, interval=0.5, what="two consumers on every service queue")
        yield {svc: port for svc, (_, port, _) in started.items()}
    finally:
        for proc, _, log in started.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _, log in started.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            log.close()


def _rows(engine, sql: str, ids: list[str]):
    with engine.connect() as conn:
        return conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)),
                            {"ids": ids, "tenant": DEMO_TENANT["id"]}).all()


def _rollup_matches_facts(engine, estates) -> bool:
    """reporting's daily counters (received, breached, escalated) equal what its per-complaint facts say: an
    event applied twice would have added its contribution twice."""
    params = {"tenant": DEMO_TENANT["id"], "estates": list(estates)}
    with engine.connect() as conn:
        daily = conn.execute(text(
            "SELECT coalesce(sum(received), 0), coalesce(sum(breached), 0), coalesce(sum(escalated), 0) "
            "FROM reporting.complaint_daily WHERE tenant_id = :tenant AND estate_code IN :estates")
            .bindparams(bindparam("estates", expanding=True)), params).one()
        facts = conn.execute(text(
            "SELECT count(*), count(breached_at), count(*) FILTER (WHERE escalated_levels <> '') "
            "FROM reporting.complaint_facts WHERE tenant_id = :tenant AND estate_code IN :estates "
            "AND day IS NOT NULL AND channel IS NOT NULL").bindparams(bindparam("estates", expanding=True)),
            params).one()
    return tuple(daily) == tuple(facts)


def test_two_replicas_of_every_service_do_nothing_twice(system, replicas, complaint_body):
    engine = create_engine(db_target("e2e", {"DATABASE_URL": os.environ["TEST_DATABASE_URL"]}).url)
    admin, agent = system.headers("admin@demo"), system.headers()
    originals = {svc: int(system.env.get(f"{svc.upper()}_METRICS_PORT", 9101 + i)) for i, svc in enumerate(SERVICES)}
    before_work = {svc: _worked(port, svc) for svc, port in originals.items()}
    saved = requests.put(f"{system.api}/sla/policy", headers=admin, timeout=15,
                         json={"scope": f"estate:{SHORT_ESTATE}", "document": SHORT_POLICY})
    assert saved.status_code == 200, saved.text
    run = uuid.uuid4().hex[:8]
    try:
        def file(i: int) -> dict:
            estate = SHORT_ESTATE if i < N_SHORT else "DEMO-RES"
            body = complaint_body(estate=estate, severity="moderate", description=f"扩容测试 {run}-{i}：楼道灯不亮")
            body["complainant"]["email"] = f"owner-{run}-{i}@example.com"
            r = requests.post(f"{system.api}/complaints", json=body, headers=agent, timeout=60)
            assert r.status_code in (200, 201), r.text
            return {"id": r.json()["id"], "reference": r.json()["reference"], "email": body["complainant"]["email"]}

        with ThreadPoolExecutor(8) as pool:
            filed = list(pool.map(file, range(N)))
        ids = [f["id"] for f in filed]
        short = ids[:N_SHORT]
        assert len(set(ids)) == N

        # one case per complaint (cases.id is the complaint id), each opened once on its timeline
        wait_for(lambda: _rows(engine, "SELECT count(*) FROM workflow.cases WHERE tenant_id = :tenant AND id IN :ids",
                               ids)[0][0] == N, timeout=60, interval=0.5, what="a case for every complaint")
        # every short-limit case's warning and breach timers fired (first contact due 1 minute after receipt)
        pending = ("SELECT count(*) FROM workflow.timers WHERE tenant_id = :tenant AND subject_id IN :ids "
                   "AND kind IN ('sla_warning', 'sla_breach') AND key = 'first_contact' AND fired_at IS NULL "
                   "AND cancelled_at IS NULL")
        wait_for(lambda: _rows(engine, pending, short)[0][0] == 0, timeout=100, interval=1, what="timers fired")
        fired = _rows(engine, "SELECT subject_id, kind, count(*) FROM workflow.timers WHERE tenant_id = :tenant "
                              "AND subject_id IN :ids AND fired_at IS NOT NULL GROUP BY subject_id, kind", ids)
        by_case = {(case, {"sla_warning": "sla_warning", "sla_breach": "sla_breached"}.get(kind, kind)): n
                   for case, kind, n in fired}
        assert sum(n for (case, kind), n in by_case.items() if kind == "sla_breached") >= N_SHORT

        # reporting: one fact per complaint, breached exactly where workflow breached, rollups equal to the facts
        breached = len({case for (case, kind) in by_case if kind == "sla_breached"})
        facts = ("SELECT count(*), count(breached_at) FROM reporting.complaint_facts WHERE tenant_id = :tenant "
                 "AND complaint_id IN :ids")
        wait_for(lambda: tuple(_rows(engine, facts, ids)[0]) == (N, breached), timeout=30, interval=0.5,
                 what=f"reporting facts ({N}, {breached})")
        # acknowledgements: one queued per case, one e-mail in the sink per owner
        wait_for(lambda: _rows(engine, "SELECT count(*) FROM notify.messages WHERE tenant_id = :tenant AND "
                                       "complaint_id IN :ids AND kind = 'acknowledgement' AND channel = 'email' "
                                       "AND status = 'sent'", ids)[0][0] >= N, timeout=30, what="acknowledgements")
        time.sleep(2)  # a twin delivery or a late duplicate event would land now

        timeline = _rows(engine, "SELECT case_id, kind, count(*) FROM workflow.case_timeline "
                                 "WHERE tenant_id = :tenant AND case_id IN :ids "
                                 "AND kind IN ('sla_warning', 'sla_breached', 'case_opened') "
                                 "GROUP BY case_id, kind", ids)
        written = {(case, kind): n for case, kind, n in timeline}
        for key, n in by_case.items():
            if key[1] in ("sla_warning", "sla_breached"):
                assert written.get(key) == n, (key, n, written.get(key))
        assert sorted(n for (case, kind), n in written.items() if kind == "case_opened") == [1] * N
        acks = _rows(engine, "SELECT complaint_id, count(*) FROM notify.messages WHERE tenant_id = :tenant AND "
                             "complaint_id IN :ids AND kind = 'acknowledgement' AND channel = 'email' "
                             "GROUP BY complaint_id", ids)
        assert len(acks) == N and {n for _, n in acks} == {1}
        sink = [str(m["To"]) for m in system.mails()]
        assert all(sum(f["email"] in to for to in sink) == 1 for f in filed), "an owner got no or 2 acknowledgements"
        assert tuple(_rows(engine, facts, ids)[0]) == (N, breached)
        wait_for(lambda: _rollup_matches_facts(engine, (SHORT_ESTATE, "DEMO-RES")), timeout=30, interval=0.5,
                 what="reporting's daily counts equal to its facts")

        # both replicas of every service did part of the work, and none dead-lettered anything
        for svc in SERVICES:
            assert _worked(replicas[svc], svc) > 0, f"the second {svc} handled nothing"
            assert _worked(originals[svc], svc) > before_work[svc], f"the first {svc} handled nothing"
            assert _metric(replicas[svc], "estatedesk_dead_lettered_total") == 0
    finally:
        requests.put(f"{system.api}/sla/policy", headers=admin, timeout=15,
                     json={"scope": f"estate:{SHORT_ESTATE}", "document": OFFICE_DEMO_POLICY})
        engine.dispose()
