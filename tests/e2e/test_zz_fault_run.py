"""The fault run (issue 9, Faults 1 and 4): nothing accepted is lost or doubled while everything is killed.

A background thread sends FAULT_COMPLAINTS complaints (default 500, the size the issue asks of make test; one in
ten as mail into the demo IMAP mailbox, the rest through ``POST /api/v1/complaints`` retried as a client would,
with ``external_id``). Meanwhile, in turn, each process is SIGKILLed and restarted (intake, workflow, notify,
reporting, gateway, the mail sink), RabbitMQ is restarted, and PostgreSQL when the run is on it. Then, once quiet:
every accepted complaint is stored exactly once and has its case and its acknowledgement mail, reporting's total
equals intake's, and no message was dead-lettered. The figures are printed and written to
``$ESTATEDESK_VAR/fault-run.json``.

Runs last (it disrupts the session). Size: ``FAULT_COMPLAINTS=N``, else 10,000 with ``--long`` (``make test
ARGS=--long``), else 500. Commands and figures: docs/reliability.md.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter

import pytest

from .conftest import wait_for
from .fault_checks import Truth, dead_letters, faults, healthy, wait_until_quiet
from .fault_stream import Stream, delete_run_mail

# In `make test` it runs in the PostgreSQL e2e phase (the production database, where it found the inbox race);
# SQLite's crash safety is covered there by test_crash.py and test_zz_broker_restart.py. FAULT_RUN_ON_SQLITE=1 runs
# it on SQLite too.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL") and not os.environ.get("FAULT_RUN_ON_SQLITE"),
                                 reason="runs in the PostgreSQL e2e phase (FAULT_RUN_ON_SQLITE=1 runs it here)")]



def _total(config) -> int:
    return int(os.environ.get("FAULT_COMPLAINTS") or (10_000 if config.getoption("--long") else 500))


def test_fault_run_loses_and_doubles_nothing(system, pytestconfig):
    total = _total(pytestconfig)
    run_id, on_postgres = uuid.uuid4().hex[:8], "DATABASE_URL" in system.env
    healthy(system)
    dlq_before = dead_letters(system)
    plan = faults(system, on_postgres)
    step = max(1, total // (len(plan) + 1))
    gates = {step * (n + 1): threading.Event() for n in range(len(plan))}
    stream = Stream(system, total, run_id, system.headers(), gates=gates)
    started = time.monotonic()
    stream.start()
    phases = []
    try:
        for fault, (gate_index, gate) in zip(plan, gates.items()):
            wait_for(lambda: stream.sent >= gate_index or not stream.thread.is_alive(), timeout=600, interval=0.1,
                     what=f"the stream reaching complaint {gate_index}")
            t0 = time.monotonic()
            fault.inject()
            attempts = stream.attempts
            gate.set()
            # keep it down until the stream has tried a few complaints against it (at most 5 s), and for the
            # fault's minimum (the mail sink: until notify has failed to send)
            _quietly_wait(lambda: stream.attempts >= attempts + min(5, step - 1), 5.0)
            time.sleep(max(0.0, fault.min_down - (time.monotonic() - t0)))  # the outage itself, not a wait
            t1 = time.monotonic()
            fault.recover()
            phases.append({"fault": fault.name, "at_complaint": gate_index, "at_s": round(t0 - started, 1),
                           "down_s": round(t1 - t0, 1), "recovered_in_s": round(time.monotonic() - t1, 1)})
    finally:
        for gate in gates.values():
            gate.set()  # never leave the stream blocked, even when a fault failed
    stream.join(timeout=max(600.0, total * 2.0))
    stream_s = time.monotonic() - started

    accepted = [s for s in stream.submissions if s.accepted]
    truth = Truth(system, run_id, accepted)
    quiet_s = wait_until_quiet(truth, timeout=max(300.0, total * 0.3))
    found = truth.figures()
    dlq_after = dead_letters(system)
    figures = _figures(stream, accepted, found, dlq_before, dlq_after, phases, stream_s, quiet_s, on_postgres)
    print("\nfault run:", json.dumps(figures, ensure_ascii=False, indent=1))
    with open(os.path.join(system.var, "fault-run.json"), "w", encoding="utf-8") as f:
        json.dump(figures, f, ensure_ascii=False, indent=1)
    delete_run_mail(system.env)  # this run's, and any an aborted run left

    assert not [s for s in stream.submissions if not s.accepted], "a complaint was refused or never accepted"
    assert not found["lost"], f"accepted but not stored: {found['lost']}"
    assert not found["duplicated"] and not found["external_ids_repeated"], "a complaint was stored twice"
    assert found["cases"] == found["stored"] == len(accepted), "every accepted complaint has exactly one case"
    assert found["acknowledged"] == found["stored"], "every case has its acknowledgement"
    assert found["reporting_total"] == found["intake_total"], "reporting counts what intake holds"
    assert figures["dead_lettered"] == {}, "nothing was dead-lettered"
    assert "500" not in figures["failed_attempts"], "an outage is a 503 with Retry-After, never a 500"


def _quietly_wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def _figures(stream, accepted, found, dlq_before, dlq_after, phases, stream_s, quiet_s, on_postgres) -> dict:
    failures = Counter(str(f) for s in stream.submissions for f in s.failures)
    return {
        "database": "postgresql" if on_postgres else "sqlite",
        "sent": stream.sent, "accepted": len(accepted),
        "accepted_web": sum(1 for s in accepted if s.kind == "web"),
        "accepted_mail": sum(1 for s in accepted if s.kind == "email"),
        "not_accepted": [{"index": s.index, "status": s.status, "error": s.error}
                         for s in stream.submissions if not s.accepted],
        "retried": sum(1 for s in stream.submissions if s.attempts > 1),
        "answered_as_duplicate_on_retry": sum(1 for s in accepted if s.duplicate_answer),
        "failed_attempts": dict(failures),
        "stored": found["stored"], "cases": found["cases"], "acknowledged": found["acknowledged"],
        "lost": len(found["lost"]), "duplicated": len(found["duplicated"]),
        "stored_not_accepted": len(found["stored_not_accepted"]),
        "acknowledgement_mails_repeated": found["acknowledgement_mails_repeated"],
        "acknowledgements_retried": found["acknowledgements_retried"],
        "intake_total": found["intake_total"], "reporting_total": found["reporting_total"],
        "checker_reads_retried_after_503": found["checker_reads_retried_after_503"],
        "dead_lettered": {q: n - dlq_before.get(q, 0) for q, n in dlq_after.items() if n > dlq_before.get(q, 0)},
        "phases": phases, "stream_s": round(stream_s, 1), "quiescence_s": round(quiet_s, 1),
    }
