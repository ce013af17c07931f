"""Where each package's data lives.

Every package (intake, workflow, notify, reporting, gateway) owns its own tables. With SQLite each gets its
own file; with PostgreSQL (``DATABASE_URL``) they share one database and each gets its own schema, so no
package can read another's tables by accident.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DbTarget:
    url: str
    schema: str | None  # Postgres schema owned by the package; None for SQLite


def var_dir(env=os.environ) -> str:
    return os.path.abspath(env.get("ESTATEDESK_VAR") or os.path.join(os.getcwd(), "var"))


def db_target(package: str, env=os.environ) -> DbTarget:
    """Database URL and schema for ``package``; ``<PKG>_DATABASE_URL`` wins over ``DATABASE_URL``.

    ``<PKG>_DATABASE_SCHEMA`` overrides the Postgres schema name (tests use a fresh one per run).
    """
    url = env.get(f"{package.upper()}_DATABASE_URL") or env.get("DATABASE_URL")
    if not url:
        path = os.path.join(var_dir(env), "db", f"{package}.sqlite3")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return DbTarget(f"sqlite:///{path}", None)
    for prefix in ("postgres://", "postgresql://"):  # SQLAlchemy 2.1 defaults to psycopg 3; we ship psycopg2
        if url.startswith(prefix):
            url = "postgresql+psycopg2://" + url[len(prefix):]
    if url.startswith("sqlite"):
        return DbTarget(url, None)
    return DbTarget(url, env.get(f"{package.upper()}_DATABASE_SCHEMA") or package)
