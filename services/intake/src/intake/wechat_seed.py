"""The demo tenant's WeChat official account (DEMO ONLY; printed by ``make run``). Idempotent: the app id,
token and EncodingAESKey are set to the demo values on every seed."""
from sqlalchemy import select, update

from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_TENANT, demo_id

from .tables import wechat_accounts

DEMO_WECHAT = {"app_id": "wx0123456789abcdef", "token": "demo-wechat-token",
               "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "estate_code": "DEMO-RES"}
DEMO_WECHAT_ID = demo_id("wechat", DEMO_WECHAT["app_id"])


def seed_wechat(engine) -> None:
    key = (wechat_accounts.c.tenant_id == DEMO_TENANT["id"]) & (wechat_accounts.c.id == DEMO_WECHAT_ID)
    with engine.begin() as conn:
        if conn.execute(select(wechat_accounts.c.id).where(key)).first() is None:
            conn.execute(wechat_accounts.insert().values(tenant_id=DEMO_TENANT["id"], id=DEMO_WECHAT_ID,
                                                         enabled=True, created_at=utcnow(), **DEMO_WECHAT))
        else:
            conn.execute(update(wechat_accounts).where(key).values(enabled=True, **DEMO_WECHAT))
