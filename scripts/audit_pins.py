"""Known vulnerabilities of the pinned dependencies (constraints.txt), from PyPI's advisory data (what pip-audit's
default service reads; PyPI takes it from OSV): ``make test``'s audit phase.

    .venv/bin/python scripts/audit_pins.py [constraints.txt]

For each ``name==version`` pin it reads the project document ``https://pypi.org/pypi/<name>/json``: when the pin is
the latest release, its ``vulnerabilities`` are that release's; otherwise it asks the release's own document
``/pypi/<name>/<version>/json``, and where that answers 404 (the registry proxy of our development network passes
only project documents) the pin is reported as unchecked. Exit status:
1 when any pin has a known, not withdrawn vulnerability that has a fix (``fixed_in``): upgrade it, or accept it with
``AUDIT_IGNORE=ID[,ID...]`` and a dated comment where that is set; 0 otherwise, also when PyPI cannot be reached
(the audit says it did not run: no network must not fail the build, and no network must not pass for clean either).
Where PyPI answers per release, ``pip-audit -r constraints.txt`` does the same (docs/security.md).
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

PYPI = os.environ.get("AUDIT_PYPI_URL", "https://pypi.org/pypi")
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


@dataclass
class Result:
    name: str
    version: str
    checked: bool = False          # advisories for exactly this release were read
    how: str = ""                  # "release" | "latest" | why unchecked
    findings: list = field(default_factory=list)  # advisories that apply (not withdrawn)


def pins(path: str) -> list[tuple[str, str]]:
    found = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            match = PIN.match(line)
            if match:
                found.append((match.group(1).lower(), match.group(2)))
    return found


def fetch_json(url: str):
    """The JSON document at url, or None on 404; raises OSError when PyPI cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise OSError(f"{url}: HTTP {exc.code}") from exc


def audit_pin(name: str, version: str, fetch=fetch_json) -> Result:
    result = Result(name, version)
    project = fetch(f"{PYPI}/{name}/json")
    if project is None:
        result.how = "not on PyPI"
        return result
    latest = project.get("info", {}).get("version")
    if latest == version:  # the project document's advisories are the latest release's
        result.checked, result.how = True, "latest"
        advisories = project.get("vulnerabilities") or []
    else:
        release = fetch(f"{PYPI}/{name}/{version}/json")
        if release is None:
            result.how = f"behind the latest release {latest}; PyPI answered only the latest's advisories"
            return result
        result.checked, result.how = True, "release"
        advisories = release.get("vulnerabilities") or []
    result.findings = [a for a in advisories if not a.get("withdrawn")]
    return result


def audit(path: str, fetch=fetch_json, ignore: frozenset = frozenset()) -> tuple[int, list[str]]:
    """(exit status, report lines)."""
    wanted = pins(path)
    try:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda pin: audit_pin(*pin, fetch=fetch), wanted))
    except OSError as exc:
        return 0, [f"audit NOT RUN: PyPI could not be reached ({exc}); {len(wanted)} pins unchecked"]
    lines, failing = [], 0
    for r in results:
        for advisory in r.findings:
            ids = [advisory.get("id", "?")] + list(advisory.get("aliases") or [])
            fixed = advisory.get("fixed_in") or []
            ignored = bool(ignore.intersection(ids))
            verdict = "ignored (AUDIT_IGNORE)" if ignored else ("FIX AVAILABLE" if fixed else "no fix yet")
            if fixed and not ignored:
                failing += 1
            lines.append(f"{r.name}=={r.version}: {', '.join(ids)} fixed in {', '.join(fixed) or '-'}: {verdict}")
    unchecked = [r for r in results if not r.checked]
    for r in unchecked:
        lines.append(f"{r.name}=={r.version}: unchecked ({r.how})")
    checked = len(results) - len(unchecked)
    lines.append(f"audit: {len(results)} pins, {checked} checked against PyPI's advisories "
                 f"({sum(r.how == 'release' for r in results)} per release, {sum(r.how == 'latest' for r in results)} "
                 f"as the latest release), {len(unchecked)} unchecked; "
                 f"{failing} known vulnerabilit{'y' if failing == 1 else 'ies'} with a fix")
    return (1 if failing else 0), lines


def main(argv: list[str]) -> int:
    path = argv[0] if argv else os.path.join(os.path.dirname(__file__), "..", "constraints.txt")
    ignore = frozenset(filter(None, os.environ.get("AUDIT_IGNORE", "").split(",")))
    status, lines = audit(path, ignore=ignore)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
