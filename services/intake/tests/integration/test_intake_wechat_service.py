"""The WeChat RPCs in a real nameko container on a real broker: a signed encrypted message becomes a complaint
whose ``complaint_received`` leaves through the outbox; concurrent retries of one MsgId get one reference; the
tenant comes from the call context only, and a call without one is refused."""
import base64
import os
import uuid

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config

from intake import wechat_sim as sim
from intake.seed import seed_demo
from intake.service import IntakeService
from intake.wechat_seed import DEMO_TEMPLATES, DEMO_WECHAT

pytestmark = pytest.mark.integration

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))

CONTEXT = {"tenant_id": DEMO_TENANT["id"], "request_id": "req-wechat-svc"}
KEYS = (DEMO_WECHAT["token"], DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])


def _message(openid, msg_id, text):
    xml = sim.message_xml(openid, "text", msg_id, Content=text)
    body, query = sim.encrypt(xml, sim.signed_query(DEMO_WECHAT["token"], openid=openid), *KEYS)
    return query, base64.b64encode(body.encode()).decode()


def test_intake_wechat_rpc_registers_announces_and_dedupes(container_factory, rabbit_config):
    with migrated_test_db("intake", MIGRATIONS) as target:
        engine = make_engine(target)
        seed_demo(engine)
        engine.dispose()
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            Queue("test-wechat-received", Exchange("intake.events", type="topic", durable=True),
                  routing_key="complaint_received", durable=True)(conn.default_channel).declare()
        container = container_factory(IntakeService, service_config(rabbit_config, target))
        container.start()

        openid, msg_id = "o" + uuid.uuid4().hex[:20], sim.new_msg_id()
        query, body = _message(openid, msg_id, "2栋楼道灯全坏了 13812345678")

        def call():
            with ServiceRpcProxy("intake", rabbit_config, context_data=CONTEXT, timeout=15) as intake:
                return intake.receive_wechat(query, body)

        replies = [t.wait() for t in [eventlet.spawn(call) for _ in range(3)]]  # WeChat's retries, racing
        contents = {sim.read_reply(r["body"], *KEYS)["Content"] for r in replies}
        assert len(contents) == 1 and "TS" in contents.pop()
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            queue = conn.SimpleQueue("test-wechat-received")
            message = queue.get(timeout=20)
            event = message.payload
            message.ack()
            queue.close()
        assert event["payload"]["channel"] == "wechat" and event["tenant_id"] == DEMO_TENANT["id"]
        assert event["payload"]["complainant"]["phone"] == "13812345678"
        assert event["payload"]["complainant"]["wechat"] == {"app_id": DEMO_WECHAT["app_id"], "openid": openid}

        # notify's customer-service replies: the AppSecret, to a service call only (no person's roles)
        with ServiceRpcProxy("intake", rabbit_config, context_data=CONTEXT, timeout=15) as intake:
            assert intake.get_wechat_credentials(DEMO_WECHAT["app_id"]) == {
                "app_id": DEMO_WECHAT["app_id"], "app_secret": DEMO_WECHAT["app_secret"], "templates": DEMO_TEMPLATES}
            with pytest.raises(RemoteError) as err:
                intake.get_wechat_credentials("wx00000000000000ff")
            assert "wechat_not_configured" in str(err.value.value)
        person = dict(CONTEXT, user_id="u1", roles=[["group_admin", None]])
        with ServiceRpcProxy("intake", rabbit_config, context_data=person, timeout=15) as intake:
            with pytest.raises(RemoteError) as err:
                intake.get_wechat_credentials(DEMO_WECHAT["app_id"])
            assert '"forbidden"' in str(err.value.value)
            # the console's WeChat section: a group admin sees whether a secret is set, never the secret
            [account] = intake.list_wechat_accounts()
            assert account["app_secret_set"] and DEMO_WECHAT["app_secret"] not in str(account)
            saved = intake.update_wechat_account(account["id"], {"templates": {"progress": "tplProgressNew01"}})
            assert saved["templates"]["progress"] == "tplProgressNew01"
            assert saved["changed"] == {"app_secret": False, "templates": ["progress"]}
        agent = dict(CONTEXT, user_id="u2", roles=[["agent", "DEMO-RES"]])
        with ServiceRpcProxy("intake", rabbit_config, context_data=agent, timeout=15) as intake:
            with pytest.raises(RemoteError) as err:
                intake.list_wechat_accounts()
            assert '"forbidden"' in str(err.value.value)
        with ServiceRpcProxy("intake", rabbit_config, context_data=CONTEXT, timeout=15) as intake:
            assert intake.get_wechat_credentials(DEMO_WECHAT["app_id"])["templates"]["progress"] == "tplProgressNew01"

        with ServiceRpcProxy("intake", rabbit_config, context_data=CONTEXT, timeout=15) as intake:
            log = intake.list_wechat_log()
            assert [m["outcome"] for m in log["messages"]] == ["complaint"]
            assert "raw" not in log["messages"][0]
            echo = intake.verify_wechat(sim.signed_query(DEMO_WECHAT["token"], echostr="abc123"))
            assert echo == "abc123"
            with pytest.raises(RemoteError) as err:
                intake.receive_wechat({}, base64.b64encode(b"<xml/>").decode())
            assert "wechat_signature_invalid" in str(err.value.value)
        with ServiceRpcProxy("intake", rabbit_config, context_data={"request_id": "x"}, timeout=15) as intake:
            with pytest.raises(RemoteError) as err:
                intake.receive_wechat(query, body)
            assert "tenant_required" in str(err.value.value)
