"""Demo SLA policies (DEMO ONLY). Idempotent.

The group uses the seed 002 preset; the office tower DEMO-OFFICE promises first contact on moderate complaints
within 30 minutes; the handover estate DEMO-NEW adds the seed 004 handover stages.
"""
import datetime as dt

from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from . import presets
from .tables import routing_rules, sla_policies

EFFECTIVE_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
OFFICE_OVERRIDE = {"name": "DEMO-OFFICE: 30 分钟首次联系",
                   "severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "30m"}]}}}


def demo_policies() -> list[tuple[str, dict]]:
    return [("group", presets.load("seed002")), ("estate:DEMO-OFFICE", OFFICE_OVERRIDE),
            ("estate:DEMO-NEW", presets.load("seed004_handover"))]


# Routing at DEMO-RES (demo users as the gateway knows them): security complaints to the order-maintenance team
# in turn, house-quality complaints to engineering by workload. Other categories, and the other estates, have no
# rule: the supervisor assigns them by hand (seed 002: moderate complaints are analysed and assigned by the
# supervisor), so the demo shows both ways.
DEMO_ROUTING = [
    {"category": "security", "department": "秩序维护部", "team": ["supervisor@demo", "agent@demo"],
     "strategy": "round_robin"},
    {"category": "house_quality", "department": "工程部", "team": ["agent@demo", "supervisor@demo"],
     "strategy": "least_loaded"},
]


def seed_demo_routing(conn, tid: str) -> None:
    """The DEMO-RES routing rules, unless the scope has rules already."""
    scope = "estate:DEMO-RES"
    if conn.execute(select(routing_rules.c.position).where(routing_rules.c.tenant_id == tid,
                                                           routing_rules.c.scope == scope)).first() is not None:
        return
    for position, rule in enumerate(DEMO_ROUTING):
        conn.execute(routing_rules.insert().values(tenant_id=tid, scope=scope, position=position,
                                                   updated_at=EFFECTIVE_FROM, updated_by="seed-demo", **rule))


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


def seed_demo_system(engine) -> str:
    """``seed-demo``: the SLA policies and the DEMO-RES routing rules (tests seed the rules they need)."""
    done = seed_demo(engine)
    with engine.begin() as conn:
        seed_demo_routing(conn, DEMO_TENANT["id"])
    return done[:-1] + f", {len(DEMO_ROUTING)} routing rules)"
