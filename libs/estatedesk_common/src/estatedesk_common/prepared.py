"""Server-side prepared statements for hot read statements on PostgreSQL.

psycopg2 sends every statement as text, so PostgreSQL parses, analyses and plans it on every call. For the
dashboard's statements (built once per shape, 10-15 KB of SQL) that was more than half of the server's time at
10 M facts (``bench/README.md``). ``execute`` PREPAREs a statement once per database connection, with the
parameter types taken from the first call's values (``PREPARE ed_7 (text, date, ..) AS ..``), and EXECUTEs it
from then on. An expanding ``IN`` list becomes ``= ANY($n)`` (one array parameter: one prepared statement
whatever the list's length).

It runs the statement the usual way (``conn.execute``) on SQLite, and when a parameter's type cannot be told
from its value (None, an empty list). Rows come back as the driver gives them (no SQLAlchemy result types): use
it for statements whose columns need none (counts, text, dates). The prepared statements live as long as the
connection (a new connection after a reconnect prepares again; PREPARE is not undone by a rollback).
PostgreSQL plans the first five executions for their values and then keeps a generic plan if it costs no more
than those (``plan_cache_mode = auto``, its default): on the 10 M bench that saved the planning too (~1 ms of a
league table call), and every dashboard statement's generic plan was the same index range scans. Parameter types
follow what psycopg2 would send inline (an int that fits is ``integer``: a ``bigint`` would turn ``sum()`` into
``numeric``, slower and a different type).
"""
from __future__ import annotations

import datetime as dt
import decimal
import itertools
import re
import threading

_PG_TYPES = ((bool, "boolean"), (int, "bigint"), (float, "double precision"), (decimal.Decimal, "numeric"),
             (str, "text"), (dt.datetime, "timestamptz"), (dt.date, "date"))  # bool before int, datetime before date
_PARAM = re.compile(r"%\((\w+)\)s")
_EXPANDING = re.compile(r"IN \(__\[POSTCOMPILE_(\w+)\]\)")
_lock = threading.Lock()
_numbers = itertools.count(1)
_texts: dict[int, tuple] = {}  # id(statement) -> (statement, compiled, SQL with $n, names in $ order, token)
_defaults: dict[int, tuple] = {}  # token -> (values built into the statement, their PostgreSQL types)
_KEEP = 1024  # statements known at most (more: forget them all; each is prepared again under a new token)


def _pg_type(value) -> str | None:
    if isinstance(value, (list, tuple)):
        inner = _pg_type(value[0]) if value else None
        return None if inner is None or inner.endswith("[]") else inner + "[]"
    for py, pg in _PG_TYPES:
        if isinstance(value, py):
            # an int that fits is an integer, as PostgreSQL types the literal psycopg2 would send (sum() of a
            # bigint is numeric: slower, and a different result type)
            return "integer" if pg == "bigint" and -2**31 <= value < 2**31 else pg
    return None


def _text(statement, dialect) -> tuple:
    """``statement`` compiled once: the compiled form, its SQL with ``$n`` placeholders and the parameter names in
    ``$`` order."""
    with _lock:
        known = _texts.get(id(statement))
        if known is not None and known[0] is statement:
            return known[1:]
    compiled = statement.compile(dialect=dialect)
    sql = _EXPANDING.sub(lambda m: f"= ANY(%({m.group(1)})s)", compiled.string)
    names: list[str] = []

    def number(m):
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"
    sql = _PARAM.sub(number, sql).replace("%%", "%")
    with _lock:
        if len(_texts) >= _KEEP:
            _texts.clear()
            _defaults.clear()
        known = _texts[id(statement)] = (statement, compiled, sql, tuple(names), next(_numbers))
    return known[1:]


def execute(conn, statement, params: dict):
    """``conn.execute(statement, params)``, as a prepared statement on PostgreSQL (see the module's doc). Use it for
    statements built once and kept (``functools.lru_cache``): each distinct statement object is prepared once per
    connection."""
    if conn.dialect.name != "postgresql":
        return conn.execute(statement, params)
    compiled, sql, names, token = _text(statement, conn.dialect)
    known = _defaults.get(token)
    if known is None:  # the values built into the statement (``literal()``), and their types, found once
        built_in = {n: v for n, v in compiled.construct_params(params).items() if n not in params}
        known = _defaults[token] = (built_in, {n: _pg_type(v) for n, v in built_in.items()})
    values = {**known[0], **params} if known[0] else params
    types = tuple(known[1][n] if n in known[1] and n not in params else _pg_type(values.get(n)) for n in names)
    if None in types:
        return conn.execute(statement, params)
    prepared = conn.connection.info.setdefault("estatedesk_prepared", {})
    key = (token, types)
    name = prepared.get(key)
    if name is None:
        name = f"ed_{token}_{len(prepared)}"
        conn.exec_driver_sql(f"PREPARE {name} ({', '.join(types)}) AS {sql}")
        prepared[key] = name
    args = ", ".join(f"%({n})s" for n in names)
    return conn.exec_driver_sql(f"EXECUTE {name} ({args})" if names else f"EXECUTE {name}",
                                {n: values[n] for n in names})

