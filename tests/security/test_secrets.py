"""No secrets in the repository (issue 9, Security 4).

Scans every file git knows or would add (tracked + untracked, not ignored) for private keys and well-known
token formats, and config-like files for passwords that are not an environment reference or one of the
documented development/demo values (README: demo-password; RabbitMQ guest; the compose/Kannel/dev defaults
in ``.env.example``, ``docker-compose.yml``, ``deploy/kannel/compose.conf`` and ``scripts/env.sh``).
"""
from __future__ import annotations

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# documented, local-only values (changing one of these is fine; adding a new real one is not)
DEV_VALUES = {"demo-password", "guest", "estatedesk", "estatedesk-sms", "estatedesk-admin", "estatedesk-dev",
              "estatedesk-dev-admin", "demo-mail-password", "postgres", "changeme", "change-me",
              "dev-only-not-a-secret-change-me"}

STRONG = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_?secret_?access_?key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
CONFIG_SUFFIXES = (".yml", ".yaml", ".toml", ".ini", ".cfg", ".conf", ".env", ".json", ".tmpl", ".sh", ".properties",
                   ".example")
CONFIG_NAMES = ("Dockerfile", "Makefile", ".env")
PASSWORD = re.compile(r"(?i)\b[\w-]*(?:password|passwd|secret(?:_key)?|api_?key|token)\b['\"]?\s*[:=]\s*['\"]?"
                      r"(?P<value>[^\s'\",}#]+)")
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://(?P<user>[^:/@\s]+):(?P<value>[^@/\s]+)@")


def repo_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [p for p in out.split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]


def _is_reference(value: str) -> bool:
    """An environment/template reference or an obviously empty placeholder, not a value."""
    return (value.startswith(("$", "@", "{{", "<", "%(")) or value.lower() in ("", "none", "null", "false", "true")
            or value in DEV_VALUES or value.endswith(("_FILE", "Ref", "ref")))


def findings(path: str, text: str) -> list[str]:
    found = [f"{path}: {name}" for name, pattern in STRONG.items() if pattern.search(text)]
    name = os.path.basename(path)
    if name.endswith(CONFIG_SUFFIXES) or name in CONFIG_NAMES:
        for number, line in enumerate(text.splitlines(), 1):
            for match in PASSWORD.finditer(line):
                value = match.group("value").lstrip("=-:").rstrip("}")  # shell ${X:=default} / ${X:-}
                if not _is_reference(value) and not _is_k8s_reference(line):
                    found.append(f"{path}:{number}: password-like value {value[:3]}***")
            for match in URL_CREDENTIALS.finditer(line):
                if "$" not in match.group(0) and not _is_reference(match.group("value").strip(".")):
                    found.append(f"{path}:{number}: credentials in a URL")
    return found


def _is_k8s_reference(line: str) -> bool:
    return any(word in line for word in ("secretKeyRef", "secretName", "secretRef", "ServiceAccountToken",
                                         "serviceAccountToken", "expirationSeconds"))


def test_the_repository_holds_no_secrets():
    problems = []
    for path in repo_files():
        try:
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                text = f.read(2_000_000)
        except (UnicodeDecodeError, OSError):
            continue  # binary
        problems += findings(path, text)
    assert not problems, "possible secrets (move them to the environment):\n" + "\n".join(problems)


def test_the_scanner_finds_planted_secrets():
    key = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE...\n"
    assert findings("x.pem", key)
    assert findings("x.py", "AKIA" + "ABCDEFGHIJKLMNOP")
    assert findings("config.yml", "SMTP_PASSWORD: " + "hunter2-real")
    assert findings("app.env", "DATABASE_URL=postgresql://svc:" + "s3cr3t-pw@db:5432/x")
    assert not findings("config.yml", "SMTP_PASSWORD: ${SMTP_PASSWORD:}")
    assert not findings("compose.yml", "AMQP_URI: amqp://guest:guest@rabbitmq:5672/")
