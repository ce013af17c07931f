"""The demo tenant's WeChat official account (DEMO ONLY; printed by ``make run``). Idempotent: the app id,
token, EncodingAESKey and AppSecret are set to the demo values on every seed (stored encrypted when
ESTATEDESK_SECRETS_KEY is set: ``estatedesk_common.secrets``)."""
import os

from sqlalchemy import select, update

from estatedesk_common import secrets
from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_TENANT, demo_id

from .tables import wechat_accounts

DEMO_WECHAT = {"app_id": "wx0123456789abcdef", "token": "demo-wechat-token",
               "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "estate_code": "DEMO-RES",
               "app_secret": "demo-wechat-app-secret"}  # the AppSecret scripts/wechat_api_stub.py accepts
DEMO_WECHAT_ID = demo_id("wechat", DEMO_WECHAT["app_id"])


def seed_wechat(engine, environ=None) -> None:
    env = os.environ if environ is None else environ
    values = dict(DEMO_WECHAT, token=secrets.seal(DEMO_WECHAT["token"], env),
                  aes_key=secrets.seal(DEMO_WECHAT["aes_key"], env),
                  app_secret=secrets.seal(DEMO_WECHAT["app_secret"], env))
    key = (wechat_accounts.c.tenant_id == DEMO_TENANT["id"]) & (wechat_accounts.c.id == DEMO_WECHAT_ID)
    with engine.begin() as conn:
        if conn.execute(select(wechat_accounts.c.id).where(key)).first() is None:
            conn.execute(wechat_accounts.insert().values(tenant_id=DEMO_TENANT["id"], id=DEMO_WECHAT_ID,
                                                         enabled=True, created_at=utcnow(), **values))
        else:
            conn.execute(update(wechat_accounts).where(key).values(enabled=True, **values))
