"""scripts/audit_pins.py (make test's audit phase) decides from PyPI's advisory documents; here with canned documents
in their real shape: a fixed advisory fails, an unfixed or withdrawn one does not, a pin behind the latest release
is checked per release where PyPI answers that and unchecked where it does not, an unreachable PyPI is "not run"."""
import importlib.util
import os
import sys

import pytest

SPEC = importlib.util.spec_from_file_location(
    "audit_pins", os.path.join(os.path.dirname(__file__), "..", "scripts", "audit_pins.py"))
audit_pins = sys.modules["audit_pins"] = importlib.util.module_from_spec(SPEC)  # dataclasses look it up
SPEC.loader.exec_module(audit_pins)

ADVISORY = {"id": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-2026-0001"], "summary": "bad", "fixed_in": ["2.0.1"],
            "withdrawn": None}


def pypi(docs):
    def fetch(url):
        tail = url[len(audit_pins.PYPI) + 1:]
        if tail not in docs:
            return None
        doc = docs[tail]
        if isinstance(doc, Exception):
            raise doc
        return doc
    return fetch


def project(latest, vulnerabilities=()):
    return {"info": {"version": latest}, "vulnerabilities": list(vulnerabilities)}


@pytest.fixture
def constraints(tmp_path):
    path = tmp_path / "constraints.txt"
    path.write_text("# pins\nflask==3.1.3\nuvicorn[standard]==0.30.0  # extras\nold==1.0\n", encoding="utf-8")
    return str(path)


def test_pins_are_read_with_extras_and_comments(constraints):
    assert audit_pins.pins(constraints) == [("flask", "3.1.3"), ("uvicorn", "0.30.0"), ("old", "1.0")]


def test_a_known_vulnerability_with_a_fix_fails_the_audit(constraints):
    docs = {"flask/json": project("3.1.3", [ADVISORY]), "uvicorn/json": project("0.30.0"), "old/json": project("1.0")}
    status, lines = audit_pins.audit(constraints, fetch=pypi(docs))
    assert status == 1
    assert "flask==3.1.3: GHSA-xxxx-yyyy-zzzz, CVE-2026-0001 fixed in 2.0.1: FIX AVAILABLE" in lines
    assert lines[-1].endswith("1 known vulnerability with a fix")
    status, _ = audit_pins.audit(constraints, fetch=pypi(docs), ignore=frozenset({"CVE-2026-0001"}))
    assert status == 0  # accepted with AUDIT_IGNORE


def test_no_fix_yet_or_withdrawn_does_not_fail(constraints):
    docs = {"flask/json": project("3.1.3", [dict(ADVISORY, fixed_in=[])]),
            "uvicorn/json": project("0.30.0", [dict(ADVISORY, withdrawn="2026-01-02T00:00:00Z")]),
            "old/json": project("1.0")}
    status, lines = audit_pins.audit(constraints, fetch=pypi(docs))
    assert status == 0 and any("no fix yet" in line for line in lines)
    assert not any(line.startswith("uvicorn") for line in lines)


def test_a_pin_behind_the_latest_release_is_checked_per_release_or_reported_unchecked(constraints):
    docs = {"flask/json": project("3.1.3"), "uvicorn/json": project("0.31.0"), "old/json": project("2.0.1"),
            "old/1.0/json": {"info": {"version": "1.0"}, "vulnerabilities": [ADVISORY]}}
    status, lines = audit_pins.audit(constraints, fetch=pypi(docs))
    assert status == 1 and any(line.startswith("old==1.0: GHSA") for line in lines)
    assert "uvicorn==0.30.0: unchecked (behind the latest release 0.31.0; PyPI answered only the latest's " \
           "advisories)" in lines
    assert lines[-1].startswith("audit: 3 pins, 2 checked against PyPI's advisories (1 per release, 1 as the latest "
                                "release), 1 unchecked")


def test_pypi_unreachable_is_reported_as_not_run_and_does_not_fail(constraints):
    status, lines = audit_pins.audit(constraints, fetch=pypi({"flask/json": OSError("no route to host")}))
    assert status == 0 and lines == ["audit NOT RUN: PyPI could not be reached (no route to host); 3 pins unchecked"]
