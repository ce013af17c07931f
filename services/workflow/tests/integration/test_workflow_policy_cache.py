"""The timer loop's policy cache (workflow.backfill.policy_for_case): built once per (tenant, layers) and engine."""
import os

import pytest

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db

from workflow import backfill, policies
from workflow.seed import seed_demo

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
LEVELS = [{"scope": "group", "version": 1}]


def test_a_policy_is_built_once_per_layers_and_engine(workflow_engine):
    seed_demo(workflow_engine)
    with workflow_engine.connect() as conn:
        first = backfill.policy_for_case(conn, TENANT, LEVELS)
        assert backfill.policy_for_case(conn, TENANT, [dict(LEVELS[0])]) is first  # same layers: the same object
        builtin = backfill.policy_for_case(conn, TENANT, [{"scope": policies.BUILTIN, "version": None}])
        assert builtin is not first
    # another database (a test's, or another installation's) never sees this engine's policies
    with migrated_test_db("workflow", MIGRATIONS) as target:
        other = make_engine(target)
        try:
            seed_demo(other)
            with other.connect() as conn:
                again = backfill.policy_for_case(conn, TENANT, LEVELS)
            assert again is not first and again == first  # built anew, from equal documents
        finally:
            other.dispose()


def test_the_cache_is_bounded(workflow_engine, monkeypatch):
    seed_demo(workflow_engine)
    monkeypatch.setattr(backfill, "BUILT_MAX", 1)
    with workflow_engine.connect() as conn:
        group = backfill.policy_for_case(conn, TENANT, LEVELS)
        backfill.policy_for_case(conn, TENANT, [{"scope": policies.BUILTIN, "version": None}])
        assert backfill.policy_for_case(conn, TENANT, LEVELS) is not group  # evicted, built again
