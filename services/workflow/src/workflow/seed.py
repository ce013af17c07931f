"""Demo SLA policies (DEMO ONLY). Idempotent.

The group uses the seed 002 preset; the office tower DEMO-OFFICE promises first contact on moderate complaints
within 30 minutes; the handover estate DEMO-NEW adds the seed 004 handover stages.
"""
import datetime as dt

from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from . import presets
from .tables import sla_policies

EFFECTIVE_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
OFFICE_OVERRIDE = {"name": "DEMO-OFFICE: 30 分钟首次联系",
                   "severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "30m"}]}}}


def demo_policies() -> list[tuple[str, dict]]:
    return [("group", presets.load("seed002")), ("estate:DEMO-OFFICE", OFFICE_OVERRIDE),
            ("estate:DEMO-NEW", presets.load("seed004_handover"))]


def seed_demo(engine) -> str:
    tid = DEMO_TENANT["id"]
    policies = demo_policies()
    with engine.begin() as conn:
        for scope, document in policies:
            key = (sla_policies.c.tenant_id == tid, sla_policies.c.scope == scope, sla_policies.c.version == 1)
            if conn.execute(select(sla_policies.c.version).where(*key)).first() is None:
                conn.execute(sla_policies.insert().values(
                    tenant_id=tid, scope=scope, version=1, effective_from=EFFECTIVE_FROM, document=document,
                    created_at=EFFECTIVE_FROM, created_by="seed-demo"))
    return f"({len(policies)} SLA policies)"
