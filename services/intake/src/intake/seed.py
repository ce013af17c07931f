"""Demo estate directory and demo mailbox (DEMO ONLY). Idempotent."""
import os

from sqlalchemy import select, update

from estatedesk_common import secrets
from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_GROUPS, DEMO_TENANT, demo_id

from . import classification_repository
from . import wechat_seed
from .tables import buildings, estates, mailboxes, regions, units

DEMO_MAILBOX_ID = demo_id("mailbox", "complaints@demo")


def seed_demo(engine) -> str:
    for tenant, regions_, estates_, _users in DEMO_GROUPS:
        _seed_group(engine, tenant["id"], regions_, estates_)
        with engine.begin() as conn:  # classification categories and keyword rules: the defaults
            classification_repository.seed_defaults(conn, tenant["id"])
    _seed_mailbox(engine, os.environ)
    wechat_seed.seed_wechat(engine)  # the demo WeChat official account
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


def _seed_mailbox(engine, env) -> None:
    """The demo tenant's mailbox ``complaints@demo`` (dev password). Enabled only when IMAP_HOST/IMAP_PORT
    name a server (scripts/run.sh starts a private Dovecot); host, port and password follow the environment
    on every seed, the UID position is kept. The password is stored encrypted when ESTATEDESK_SECRETS_KEY is set."""
    host, port = env.get("IMAP_HOST", ""), env.get("IMAP_PORT", "")
    values = dict(host=host or "127.0.0.1", port=int(port) if port.isdigit() else 143,
                  username=env.get("IMAP_DEMO_USER", "complaints@demo"),
                  password=secrets.seal(env.get("IMAP_DEMO_PASSWORD", "demo-mail-password"), env), use_ssl=False,
                  enabled=bool(host and port.isdigit()))
    key = (mailboxes.c.tenant_id == DEMO_TENANT["id"]) & (mailboxes.c.id == DEMO_MAILBOX_ID)
    with engine.begin() as conn:
        if conn.execute(select(mailboxes.c.id).where(key)).first() is None:
            conn.execute(mailboxes.insert().values(tenant_id=DEMO_TENANT["id"], id=DEMO_MAILBOX_ID,
                                                   estate_code="DEMO-RES", folder="INBOX", last_uid=0, **values))
        else:
            conn.execute(update(mailboxes).where(key).values(**values))
