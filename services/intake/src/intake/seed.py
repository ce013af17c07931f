"""Demo estate directory (DEMO ONLY). Idempotent."""
from sqlalchemy import select

from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_GROUPS

from . import classification_repository
from .tables import buildings, estates, regions, units


def seed_demo(engine) -> str:
    for tenant, regions_, estates_, _users in DEMO_GROUPS:
        _seed_group(engine, tenant["id"], regions_, estates_)
        with engine.begin() as conn:  # classification categories and keyword rules: the defaults
            classification_repository.seed_defaults(conn, tenant["id"])
    return f"({sum(len(g[2]) for g in DEMO_GROUPS)} estates in {len(DEMO_GROUPS)} tenants)"


def _seed_group(engine, tid, group_regions, group_estates) -> None:
    with engine.begin() as conn:
        def missing(table, **key):
            q = select(table).where(table.c.tenant_id == tid, *[table.c[k] == v for k, v in key.items()])
            return conn.execute(q).first() is None

        for r in group_regions:
            if missing(regions, code=r["code"]):
                conn.execute(regions.insert().values(tenant_id=tid, **r))
        for e in group_estates:
            if missing(estates, code=e["code"]):
                conn.execute(estates.insert().values(tenant_id=tid, code=e["code"], name=e["name"], kind=e["kind"],
                                                     timezone=e["timezone"], region_code=e["region"],
                                                     created_at=utcnow()))
            for b, unit_codes in e["buildings"].items():
                if missing(buildings, estate_code=e["code"], code=b):
                    conn.execute(buildings.insert().values(tenant_id=tid, estate_code=e["code"], code=b, name=b))
                for u in unit_codes:
                    if missing(units, estate_code=e["code"], building_code=b, code=u):
                        conn.execute(units.insert().values(tenant_id=tid, estate_code=e["code"],
                                                           building_code=b, code=u))
