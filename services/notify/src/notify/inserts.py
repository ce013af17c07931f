"""INSERT ... ON CONFLICT on SQLite and PostgreSQL (the dialects notify runs on), as ``estatedesk_common.inbox``
claims its rows: a concurrent twin waits for the first transaction's commit, then finds the row."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_ignore(conn, table, values: dict) -> bool:
    """Insert the row unless its key is taken; True if this call inserted it."""
    insert = _INSERT[conn.dialect.name]
    return conn.execute(insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1


def upsert(conn, table, values: dict, keys: list[str], changes: dict) -> None:
    """Insert the row, or apply ``changes`` to the one with the same ``keys``."""
    insert = _INSERT[conn.dialect.name]
    conn.execute(insert(table).values(**values).on_conflict_do_update(index_elements=keys, set_=changes))
