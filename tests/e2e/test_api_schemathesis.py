"""Property-based fuzzing of the running API from its own OpenAPI description (schemathesis).

Every operation in ``/api/v1/openapi.json`` gets generated valid and invalid requests, signed in as head office
(who may call every operation); the checks (``CHECKS``) are that nothing answers 5xx (bad input is always a clear
4xx) and that every answer is what the document declares: a documented status code, content type and schema. The
run is bounded (examples per operation and a time budget) so the e2e phase stays short; the seed is fixed so a
failure reproduces (its curl command is in the output). A generated request may be valid and replace a list
(``PUT /staff-contacts`` with no contacts is): the demo's alert recipients, duty rosters and daily digest setting
are put back afterwards, so the tests after this one see the demo data as seeded.
"""
import os
import subprocess
import sys

import pytest
import requests

# Once per `make test`, in the SQLite phase: it fuzzes the gateway's validation, which is the same on both databases.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("SCHEMATHESIS_ON_PG"),
                                 reason="run in the SQLite e2e phase (SCHEMATHESIS_ON_PG=1 runs it here too)")]

ST = os.path.join(os.path.dirname(sys.executable), "st")
# no 5xx, and every answer as documented: its status code is declared for the operation, its content type is the
# declared one, its body (and declared headers) match the declared schema (gateway/openapi.py)
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
          "response_headers_conformance")


ESTATES = ("DEMO-RES", "DEMO-OFFICE", "DEMO-NEW")
CONTACT_FIELDS = ("role", "estate", "name", "email", "phone", "locale")
ENTRY_FIELDS = ("person", "post", "weekdays", "date_from", "date_to", "note")


def _snapshot(system, headers) -> dict:
    contacts = requests.get(f"{system.api}/staff-contacts", headers=headers, timeout=20).json()
    rosters = {e: requests.get(f"{system.api}/duty-roster", params={"estate": e}, headers=headers,
                               timeout=20).json()["entries"] for e in ESTATES}
    digest = requests.get(f"{system.api}/digest-settings", headers=headers, timeout=20).json()
    return {"contacts": [{k: c.get(k) for k in CONTACT_FIELDS} for c in contacts["items"]],
            "rosters": {e: [{k: x.get(k) for k in ENTRY_FIELDS} for x in entries] for e, entries in rosters.items()},
            "digest": {k: digest[k] for k in ("enabled", "hour", "timezone", "opt_outs")}}


def _restore(system, headers, saved: dict) -> None:
    r = requests.put(f"{system.api}/staff-contacts", json={"contacts": saved["contacts"]}, headers=headers,
                     timeout=20)
    assert r.status_code == 200, r.text
    for estate, entries in saved["rosters"].items():
        r = requests.put(f"{system.api}/duty-roster", json={"estate": estate, "entries": entries}, headers=headers,
                         timeout=20)
        assert r.status_code == 200, r.text
    r = requests.put(f"{system.api}/digest-settings", json=saved["digest"], headers=headers, timeout=20)
    assert r.status_code == 200, r.text


def test_no_generated_request_makes_the_api_fail(system, tmp_path):
    token = system.token("hq@demo")
    headers = {"Authorization": f"Bearer {token}"}
    saved = _snapshot(system, headers)
    cmd = [ST, "run", f"{system.api}/openapi.json", "--url", system.base_url,
           "--checks", ",".join(CHECKS), "-H", f"Authorization: Bearer {token}",
           "-H", "X-Api-Key: demo-api-key",  # the CTI endpoint (bearer routes ignore it)
           "--max-examples", os.environ.get("SCHEMATHESIS_EXAMPLES", "8"),
           "--max-time", os.environ.get("SCHEMATHESIS_SECONDS", "60"),
           "--phases", "examples,coverage,fuzzing",
           "--seed", "20261203", "--request-timeout", "20", "--workers", "1",  # CPython 3.11 ast.parse is not thread-safe
           "--exclude-path", "/api/v1/auth/token",  # failed logins lock accounts: tested in the security suite
           # a valid new estate stays for good (estates are deactivated, never deleted) and would show in every
           # later test's estate lists: its validation is the unit tests' (PUT /estates/{code} is fuzzed: 404/422)
           "--exclude-operation-id", "post_api_v1_estates",
           "--generation-allow-x00", "true", "--no-color"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=400,
                              cwd=tmp_path,  # its cache stays out of the tree
                              env=dict(os.environ, NO_COLOR="1"))
    finally:
        _restore(system, headers, saved)
    print(done.stdout[-20000:], done.stderr[-5000:])
    assert done.returncode == 0, done.stdout[-6000:]
