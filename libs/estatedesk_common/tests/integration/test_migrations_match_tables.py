"""Each package's migrations, applied to an empty database, give exactly the tables its ``tables.py`` declares
(alembic's autogenerate comparison finds nothing to add, drop or alter). Runs on SQLite, and on PostgreSQL when
TEST_DATABASE_URL is set."""
import importlib
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db

pytestmark = pytest.mark.integration
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PACKAGES = {"intake": "services/intake", "workflow": "services/workflow", "notify": "services/notify",
            "reporting": "services/reporting", "gateway": "gateway"}


def _relevant(diff) -> bool:
    kind = diff[0][0] if isinstance(diff, list) else diff[0]
    if kind in ("modify_nullable", "modify_default", "modify_comment"):
        return False  # server defaults and batch-mode nullability render differently per dialect
    if kind == "modify_type":
        return False  # UTCDateTime and JSON compare as their dialect types
    return True


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_migrations_create_what_tables_py_declares(package):
    metadata = importlib.import_module(f"{package}.tables").metadata
    with migrated_test_db(package, os.path.join(ROOT, PACKAGES[package], "migrations")) as target:
        engine = make_engine(target)
        try:
            with engine.connect() as conn:
                opts = {"compare_type": False}
                if target.schema:
                    opts["include_schemas"] = False
                context = MigrationContext.configure(conn, opts=opts)
                diffs = [d for d in compare_metadata(context, metadata) if _relevant(d)]
        finally:
            engine.dispose()
    assert diffs == [], f"{package}: migrations and tables.py differ: {diffs}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_has_one_line_of_migrations(package):
    """Parallel work may branch (``upgrade`` applies every head), but main keeps one line: give the later
    migration the earlier one as its ``down_revision`` before committing."""
    from alembic.script import ScriptDirectory

    from estatedesk_common.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(package, os.path.join(ROOT, PACKAGES[package], "migrations")))
    assert len(script.get_heads()) == 1, f"{package}: several heads {script.get_heads()}"
