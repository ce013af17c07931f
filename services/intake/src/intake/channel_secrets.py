"""Re-encrypt the channel secrets intake stores (``python -m intake.cli encrypt-secrets``).

Rewrites ``mailboxes.password`` and ``wechat_accounts.token`` / ``aes_key`` / ``app_secret`` of every tenant:
legacy plain values are encrypted, encrypted values are re-encrypted with the first key of ``ESTATEDESK_SECRETS_KEY``
(the last step of a key rotation), ``env:NAME`` references are left alone. One transaction: a value that
cannot be decrypted with any configured key stops the run and nothing is written.
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update

from estatedesk_common import secrets

from .tables import mailboxes, wechat_accounts

COLUMNS = ((mailboxes, ("password",)), (wechat_accounts, ("token", "aes_key", "app_secret")))


def encrypt_existing(engine, environ: Mapping[str, str]) -> dict:
    """Returns ``{"<table>.<column>": {"encrypted": n, "re-encrypted": n, "unchanged": n}}``."""
    if secrets.keyring(environ) is None:
        raise secrets.SecretError(f"{secrets.KEY_ENV} is not set: nothing to encrypt with")
    report: dict[str, dict[str, int]] = {}
    with engine.begin() as conn:
        for table, columns in COLUMNS:
            keys = (table.c.tenant_id, table.c.id)
            for row in conn.execute(select(*keys, *(table.c[c] for c in columns))).mappings():
                values = {}
                for column in columns:
                    counts = report.setdefault(f"{table.name}.{column}",
                                               {"encrypted": 0, "re-encrypted": 0, "unchanged": 0})
                    stored = row[column]
                    if not stored or secrets.is_reference(stored):
                        counts["unchanged"] += 1
                        continue
                    counts["re-encrypted" if secrets.is_encrypted(stored) else "encrypted"] += 1
                    values[column] = secrets.rewrap(stored, environ)
                if values:
                    conn.execute(update(table).where(table.c.tenant_id == row["tenant_id"], table.c.id == row["id"])
                                 .values(**values))
    return report
