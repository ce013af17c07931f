"""Run a package's Alembic migrations against its own database (SQLite file or Postgres schema)."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool

from .config import DbTarget, db_target
from .db import make_engine


def alembic_config(package: str, migrations_dir: str, target: DbTarget | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", migrations_dir)
    cfg.attributes["target"] = target or db_target(package)
    return cfg


def upgrade(package: str, migrations_dir: str, target: DbTarget | None = None, revision: str = "heads") -> None:
    """Upgrade to every head (a branch from parallel work applies as well as a single line)."""
    command.upgrade(alembic_config(package, migrations_dir, target), revision)


def run_env(context, metadata) -> None:
    """Body of every package's ``migrations/env.py``."""
    target = context.config.attributes.get("target")
    if target is None:  # plain `alembic` command line: use the environment
        target = db_target(os.environ["ESTATEDESK_PACKAGE"])
    engine = make_engine(target, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=engine.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()
