"""Test helpers shared by every package's test suite (not used at run time).

``new_test_db(name)``: a temp SQLite file, or, when ``TEST_DATABASE_URL`` is set, a fresh Postgres schema
(dropped by ``drop_test_db``), so the same integration tests run on both databases. ``drain``: items through a
handler by concurrent workers (the tests and benches of concurrent event handling).
"""
from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
import uuid

from sqlalchemy import create_engine, text

from .config import DbTarget, db_target


def new_test_db(name: str) -> DbTarget:
    url = os.environ.get("TEST_DATABASE_URL")
    suffix = uuid.uuid4().hex[:8]
    if url:
        return DbTarget(db_target(name, {"DATABASE_URL": url}).url, f"t_{name}_{suffix}")
    folder = tempfile.mkdtemp(prefix=f"estatedesk-{name}-")
    return DbTarget(f"sqlite:///{folder}/{name}.sqlite3", None)


def drop_test_db(target: DbTarget) -> None:
    if target.schema:
        engine = create_engine(target.url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE'))
        engine.dispose()


def env_for(package: str, target: DbTarget) -> dict:
    """Environment/config overrides pointing ``package`` at ``target``."""
    env = {f"{package.upper()}_DATABASE_URL": target.url}
    if target.schema:
        env[f"{package.upper()}_DATABASE_SCHEMA"] = target.schema
    return env


def service_config(rabbit_config: dict, target: DbTarget, **extra) -> dict:
    """nameko container config for a service under test on ``target``."""
    config = dict(rabbit_config, DATABASE_URL=target.url, OUTBOX_POLL_SECONDS=0.2, METRICS_PORT=0)
    if target.schema:
        config["DATABASE_SCHEMA"] = target.schema
    config.update(extra)
    return config


@contextlib.contextmanager
def migrated_test_db(package: str, migrations_dir: str):
    """A fresh database for ``package`` (temp SQLite or a Postgres schema), migrated to head; dropped after."""
    from .migrate import upgrade

    target = new_test_db(package)
    upgrade(package, migrations_dir, target)
    try:
        yield target
    finally:
        drop_test_db(target)


def drain(items, handle, workers: int = 4, retry=None, alongside=()) -> list[Exception]:
    """Every one of ``items`` through ``handle(item)`` by ``workers`` threads taking turns from one queue, and each of
    ``alongside`` (callables) on a thread of its own at the same time; the exceptions raised, in no order. ``retry(item,
    exc)``: True puts the item back at the end of the queue (a transient error) instead of recording ``exc``."""
    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)
    errors: list[Exception] = []

    def work():
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                handle(item)
            except Exception as exc:  # noqa: BLE001 - returned to the caller
                if retry is not None and retry(item, exc):
                    todo.put(item)
                else:
                    errors.append(exc)

    def beside(fn):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - returned to the caller
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    threads += [threading.Thread(target=beside, args=(fn,)) for fn in alongside]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
