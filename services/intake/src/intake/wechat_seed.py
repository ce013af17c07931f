"""The demo tenant's WeChat official account (DEMO ONLY; printed by ``make run``). Idempotent: the app id,
token, EncodingAESKey and AppSecret are set to the demo values on every seed (stored encrypted when
ESTATEDESK_SECRETS_KEY is set: ``estatedesk_common.secrets``), and the demo template message ids (the ones
scripts/wechat_api_stub.py knows) are added when the account has none for that message."""
import os

from sqlalchemy import select, update

from estatedesk_common import secrets
from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_TENANT, demo_id

from .tables import wechat_accounts, wechat_templates

DEMO_WECHAT = {"app_id": "wx0123456789abcdef", "token": "demo-wechat-token",
               "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "estate_code": "DEMO-RES",
               "app_secret": "demo-wechat-app-secret"}  # the AppSecret scripts/wechat_api_stub.py accepts
DEMO_WECHAT_ID = demo_id("wechat", DEMO_WECHAT["app_id"])
DEMO_TEMPLATES = {"acknowledgement": "demoTplAcknowledgement00000000000000000001",
                  "progress": "demoTplProgress000000000000000000000000001",
                  "resolved": "demoTplResolved000000000000000000000000001",
                  "callback_survey": "demoTplCallbackSurvey000000000000000000001"}


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
        t = wechat_templates
        have = set(conn.execute(select(t.c.message).where(t.c.tenant_id == DEMO_TENANT["id"],
                                                          t.c.account_id == DEMO_WECHAT_ID)).scalars())
        for message, template_id in DEMO_TEMPLATES.items():
            if message not in have:  # an admin's own choice on the console survives a re-seed
                conn.execute(t.insert().values(tenant_id=DEMO_TENANT["id"], account_id=DEMO_WECHAT_ID,
                                               message=message, template_id=template_id, updated_at=utcnow()))
