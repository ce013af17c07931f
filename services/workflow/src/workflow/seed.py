"""Demo time limits (DEMO ONLY). Idempotent. Group default plus one site that sets its own, tighter limit."""
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from .tables import sla_limits

DEMO_LIMITS = [
    ("*", "*", "first_contact", 60),  # seed 002 §4.1: web complaints answered within 1 hour
    ("*", "committee", "first_contact", 120),  # seed 002 §4.1: committee forwards within 2 hours
    ("DEMO-OFFICE", "*", "first_contact", 30),  # the office tower promises its tenants 30 minutes
]


def seed_demo(engine) -> str:
    tid = DEMO_TENANT["id"]
    with engine.begin() as conn:
        for estate, channel, stage, minutes in DEMO_LIMITS:
            key = (sla_limits.c.tenant_id == tid, sla_limits.c.estate_code == estate,
                   sla_limits.c.channel == channel, sla_limits.c.stage == stage)
            if conn.execute(select(sla_limits).where(*key)).first() is None:
                conn.execute(sla_limits.insert().values(tenant_id=tid, estate_code=estate, channel=channel,
                                                        stage=stage, minutes=minutes))
    return f"({len(DEMO_LIMITS)} time limits)"
