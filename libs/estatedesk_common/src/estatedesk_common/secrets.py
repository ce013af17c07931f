"""Secrets at rest: per-tenant channel secrets (mailbox passwords, WeChat tokens and keys) stored encrypted.

A stored secret is one of
- ``enc:v1:<token>``: a Fernet token (AES-128-CBC + HMAC-SHA256) made with a key from ``ESTATEDESK_SECRETS_KEY``;
- ``env:NAME``: a reference to the service's environment variable ``NAME`` (a Kubernetes secret, say);
- anything else: a legacy plain value, still read (with a warning, once per process and value) until
  ``python -m intake.cli encrypt-secrets`` rewrites it.

``ESTATEDESK_SECRETS_KEY`` holds one or more Fernet keys separated by commas: the first encrypts, every one
decrypts. Rotation: put the new key first, keep the old ones after it, run ``encrypt-secrets`` (it re-encrypts
every value with the first key), then drop the old keys. ``seal`` encrypts whenever a key is configured and
leaves ``env:`` references alone; without a key it stores the value as given (a dev run without the key file).
The ``environ`` a caller passes resolves ``env:NAME`` references; the key is read from it when it has
``ESTATEDESK_SECRETS_KEY``, else from the process environment.

    python -m estatedesk_common.secrets generate-key     # a new key, for ESTATEDESK_SECRETS_KEY
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Mapping
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

KEY_ENV = "ESTATEDESK_SECRETS_KEY"
PREFIX = "enc:v1:"
ENV_PREFIX = "env:"
_warned: set[str] = set()


class SecretError(Exception):
    """A stored secret that cannot be read: no key configured, no key fits, a missing variable."""


def is_encrypted(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


def is_reference(value: str | None) -> bool:
    return bool(value) and value.startswith(ENV_PREFIX)


@lru_cache(maxsize=8)
def _keyring(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except (ValueError, TypeError) as exc:
        raise SecretError(f"{KEY_ENV} must be comma-separated Fernet keys (32 url-safe base64 bytes): {exc}") from None


def keyring(environ: Mapping[str, str]) -> MultiFernet | None:
    """The configured keys (first encrypts, all decrypt), or None when ``ESTATEDESK_SECRETS_KEY`` is unset.
    The key is process configuration: taken from ``environ`` when it has the variable (a snapshot of the
    environment, or a test's), else from the process environment."""
    keys = (environ.get(KEY_ENV) if KEY_ENV in environ else os.environ.get(KEY_ENV, "")) or ""
    keys = keys.strip()
    return _keyring(keys) if keys else None


def seal(value: str | None, environ: Mapping[str, str]) -> str | None:
    """What to store for ``value``: encrypted when a key is configured; ``env:`` references, already encrypted
    values and empty values as given."""
    if not value or is_reference(value) or is_encrypted(value):
        return value
    ring = keyring(environ)
    if ring is None:
        return value
    return PREFIX + ring.encrypt(value.encode("utf-8")).decode("ascii")


def reveal(value: str | None, environ: Mapping[str, str], what: str = "secret") -> str | None:
    """The secret itself from a stored value (``enc:``, ``env:`` or legacy plain). ``what`` names it in errors
    (never the value). Raises ``SecretError`` when it cannot be read."""
    if not value:
        return value
    if is_encrypted(value):
        ring = keyring(environ)
        if ring is None:
            raise SecretError(f"{what} is encrypted but {KEY_ENV} is not set")
        try:
            return ring.decrypt(value[len(PREFIX):].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretError(f"{what} cannot be decrypted: no key in {KEY_ENV} fits (rotated away?)") from None
    if is_reference(value):
        found = environ.get(value[len(ENV_PREFIX):])
        if not found:
            raise SecretError(f"{what}: variable {value[len(ENV_PREFIX):]} is not set")
        return found
    fingerprint = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    if fingerprint not in _warned:
        _warned.add(fingerprint)
        log.warning("%s is stored in plain text; run `python -m intake.cli encrypt-secrets`", what)
    return value


def rewrap(value: str | None, environ: Mapping[str, str]) -> str | None:
    """``value`` as it should now be stored: plain -> encrypted, encrypted -> re-encrypted with the first key
    (rotation); ``env:`` and empty as given. Needs a key."""
    ring = keyring(environ)
    if ring is None:
        raise SecretError(f"{KEY_ENV} is not set")
    if not value or is_reference(value):
        return value
    if is_encrypted(value):
        try:
            token = ring.rotate(value[len(PREFIX):].encode("ascii"))
        except InvalidToken:
            raise SecretError(f"a stored secret cannot be decrypted: no key in {KEY_ENV} fits") from None
        return PREFIX + token.decode("ascii")
    return seal(value, environ)


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["generate-key"]:
        print("usage: python -m estatedesk_common.secrets generate-key\n"
              "(re-encrypting stored secrets is the owning package's job: python -m intake.cli encrypt-secrets)",
              file=sys.stderr)
        return 2
    print(generate_key())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
