"""The WeChat channel's use cases on a real database (SQLite, or Postgres via TEST_DATABASE_URL): a callback
becomes a complaint through the same handler as the web, retries are answered from the stored reply, refusals
are recorded, and one tenant's account, messages and complaints are invisible to another."""
import base64
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, update

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.dependencies import DbHandle

from intake import handlers, wechat_intake
from intake import wechat_sim as sim
from intake.seed import seed_demo
from intake.tables import complaint_notes, complaints, reliability, wechat_accounts, wechat_messages, wechat_rejects
from intake.wechat_protocol import WeChatBadRequest, WeChatForbidden, WeChatNotConfigured
from intake.wechat_seed import DEMO_TEMPLATES, DEMO_WECHAT

pytestmark = pytest.mark.integration

TENANT, OTHER = DEMO_TENANT["id"], OTHER_TENANT["id"]
SETTINGS = wechat_intake.Settings()


class MovableClock:
    def __init__(self):
        self.at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def now(self):
        return self.at


@pytest.fixture
def db(intake_engine):
    seed_demo(intake_engine)
    return DbHandle(intake_engine, reliability, MovableClock(), "req-wechat", None)


def send(db, content=None, *, openid=None, aes=False, msg_id=None, tenant=TENANT, msg_type="text", token=None,
         **fields):
    """POST one message as WeChat would; returns (the reply's Content or None for "success", openid)."""
    openid = openid or "o" + uuid.uuid4().hex[:27]
    token = token or DEMO_WECHAT["token"]
    query = sim.signed_query(token, int(db.clock.now().timestamp()), openid=openid)
    if content is not None:
        fields["Content"] = content
    xml = sim.message_xml(openid, msg_type, msg_id or (None if msg_type == "event" else sim.new_msg_id()),
                          create_time=int(db.clock.now().timestamp()), **fields)
    if aes:
        xml, query = sim.encrypt(xml, query, token, DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])
    result = wechat_intake.receive(query, base64.b64encode(xml.encode()).decode(), tenant, db, None, SETTINGS)
    if result["body"] == "success":
        return None
    if aes:
        assert "<Encrypt>" in result["body"]
    return sim.read_reply(result["body"], token, DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])["Content"]


def rows(db, table, **where):
    with db.engine.connect() as conn:
        q = select(table).where(*[table.c[k] == v for k, v in where.items()])
        return list(conn.execute(q).mappings())


def reference_in(reply: str) -> str:
    return next(w for w in reply.replace("，", " ").replace("。", " ").split() if w.startswith("TS"))


def test_a_text_with_a_mobile_number_becomes_a_wechat_complaint_with_its_event(db):
    reply = send(db, "1栋电梯困人，已经半小时了 13812345678", aes=True)
    reference = reference_in(reply)
    [c] = rows(db, complaints, reference=reference)
    assert (c["channel"], c["estate_code"], c["complainant_phone"]) == ("wechat", "DEMO-RES", "13812345678")
    assert c["description"] == "1栋电梯困人，已经半小时了" and c["category"] == "facilities_equipment"
    [m] = rows(db, wechat_messages, complaint_id=c["id"])
    assert m["outcome"] == "complaint" and m["encrypted"] and b"<Encrypt>" in m["envelope"]
    assert "13812345678".encode() in m["raw"] and m["reply"] == reply
    [event] = rows(db, reliability.outbox)
    assert event["body"]["event_type"] == "complaint_received" and event["body"]["payload"]["channel"] == "wechat"
    # where notify replies (customer-service messages): the account and the owner's openid
    wechat = event["body"]["payload"]["complainant"]["wechat"]
    assert wechat == {"app_id": DEMO_WECHAT["app_id"], "openid": m["openid"]}


def test_without_a_phone_the_owner_is_asked_and_the_next_message_registers_everything(db):
    openid = "oAsk" + uuid.uuid4().hex[:20]
    assert "手机号码" in send(db, "小区门口垃圾三天没人清理", openid=openid)
    assert "手机号码" in send(db, msg_type="image", openid=openid, PicUrl="http://mmbiz.qpic.cn/x.jpg",
                              MediaId="media-1")
    assert rows(db, complaints) == []
    reference = reference_in(send(db, "13912345678", openid=openid))
    [c] = rows(db, complaints, reference=reference)
    assert c["description"] == "小区门口垃圾三天没人清理" and c["complainant_phone"] == "13912345678"
    assert {m["outcome"] for m in rows(db, wechat_messages, openid=openid)} == {"complaint"}
    [note] = rows(db, complaint_notes, complaint_id=c["id"])
    assert note["kind"] == "wechat_image" and "media-1" in note["text"] and "mmbiz.qpic.cn" in note["text"]
    # a known OpenID is not asked again
    db.clock.at += dt.timedelta(minutes=30)
    assert "已受理" in send(db, "楼道灯又坏了", openid=openid)


def test_a_retry_with_the_same_msgid_gets_the_same_reference_and_changes_nothing(db):
    openid, msg_id = "oRetry" + uuid.uuid4().hex[:10], sim.new_msg_id()
    first = send(db, "空调不制冷 13812345678", openid=openid, msg_id=msg_id)
    again = [send(db, "空调不制冷 13812345678", openid=openid, msg_id=msg_id, aes=True) for _ in range(3)]
    assert again == [first] * 3 and "TS" in first
    assert len(rows(db, complaints)) == 1 and len(rows(db, wechat_messages)) == 1


def test_a_follow_up_soon_after_or_quoting_the_reference_is_a_note_and_a_complaint_updated(db):
    openid = "oFollow" + uuid.uuid4().hex[:10]
    reference = reference_in(send(db, "地下车库漏水 13812345678", openid=openid))
    db.clock.at += dt.timedelta(minutes=2)
    assert reference in send(db, "已经漏了一整天了", openid=openid)
    db.clock.at += dt.timedelta(hours=5)
    assert reference in send(db, f"{reference} 还没人来处理", openid=openid)
    assert reference not in send(db, "新投诉 绿化带的树被砍了", openid=openid)
    [c] = rows(db, complaints, reference=reference)
    notes = rows(db, complaint_notes, complaint_id=c["id"])
    assert sorted(n["text"] for n in notes) == [f"{reference} 还没人来处理", "已经漏了一整天了"]
    view = handlers.get_complaint(c["id"], TENANT, db.engine)
    assert [e["kind"] for e in view["timeline"]][1:] == ["wechat_followup", "wechat_followup"]
    events = [r["body"]["event_type"] for r in rows(db, reliability.outbox)]
    assert events.count("complaint_updated") == 2 and events.count("complaint_received") == 2
    # someone else quoting the reference attaches nothing to it
    assert "手机号码" in send(db, f"{reference} 我也有意见")
    assert len(rows(db, complaint_notes, complaint_id=c["id"])) == 2


def test_events_voice_and_other_kinds(db):
    assert "感谢关注" in send(db, msg_type="event", Event="subscribe")
    assert send(db, msg_type="event", Event="unsubscribe") is None
    assert "未能识别" in send(db, msg_type="voice", MediaId="v1", Format="amr")
    assert "已受理" in send(db, msg_type="voice", MediaId="v2", Format="amr", Recognition="楼上装修太吵了13812345678")
    assert "暂不支持" in send(db, msg_type="location", Location_X="23.1", Location_Y="113.3", Label="x")
    outcomes = sorted(m["outcome"] for m in rows(db, wechat_messages))
    assert outcomes == ["complaint", "ignored", "ignored", "unsupported", "unsupported"]


def test_refusals_are_recorded_for_an_operator_and_create_nothing(db):
    query = sim.signed_query(DEMO_WECHAT["token"], int(db.clock.now().timestamp()))
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>'
    cases = [({}, b"<xml/>", WeChatForbidden, "wechat_signature_invalid"),
             (query, xxe, WeChatBadRequest, "wechat_forbidden_xml"),
             (query, b"<xml><MsgType>text", WeChatBadRequest, "wechat_malformed_xml"),
             (query, b"<xml><MsgType>text</MsgType></xml>", WeChatBadRequest, "wechat_malformed_message"),
             (dict(query, encrypt_type="aes", msg_signature="0" * 40), b"<xml><Encrypt>AAAA</Encrypt></xml>",
              WeChatForbidden, "wechat_signature_invalid")]
    for q, body, error, code in cases:
        with pytest.raises(error) as err:
            wechat_intake.receive(q, base64.b64encode(body).decode(), TENANT, db, None, SETTINGS)
        assert err.value.code == code
    rejects = rows(db, wechat_rejects, tenant_id=TENANT)
    assert sorted(r["reason"] for r in rejects) == sorted(c[3] for c in cases)
    assert any(r["body"] == xxe for r in rejects)
    assert rows(db, complaints) == [] and rows(db, wechat_messages) == []
    log = wechat_intake.wechat_log(TENANT, db.engine)
    assert len(log["rejects"]) == 5 and "body" not in log["rejects"][0]


def test_url_verification_echoes_only_for_a_signed_request(db):
    query = sim.signed_query(DEMO_WECHAT["token"], int(db.clock.now().timestamp()), echostr="4711")
    assert wechat_intake.verify_url(query, TENANT, db, SETTINGS) == "4711"
    with pytest.raises(WeChatForbidden):
        wechat_intake.verify_url(dict(query, signature="0" * 40), TENANT, db, SETTINGS)


def test_tenants_are_isolated(db):
    with pytest.raises(WeChatNotConfigured):  # the other tenant has no account: demo's token opens nothing
        send(db, "电梯坏了 13812345678", tenant=OTHER)
    with db.engine.begin() as conn:
        conn.execute(wechat_accounts.insert().values(
            tenant_id=OTHER, id=str(uuid.uuid4()), app_id="wx1111111111111111", token="env:OTHER_WX_TOKEN",
            aes_key=None, estate_code="OTHER-RES", enabled=True, created_at=db.clock.now()))
    settings = wechat_intake.Settings(environ={"OTHER_WX_TOKEN": "other-token"})
    query = sim.signed_query(DEMO_WECHAT["token"], int(db.clock.now().timestamp()))
    with pytest.raises(WeChatForbidden):
        wechat_intake.receive(query, base64.b64encode(b"<xml/>").decode(), OTHER, db, None, settings)
    openid, msg_id = "oShared" + uuid.uuid4().hex[:8], sim.new_msg_id()
    demo_ref = reference_in(send(db, "电梯坏了 13812345678", openid=openid, msg_id=msg_id))
    query = sim.signed_query("other-token", int(db.clock.now().timestamp()), openid=openid)
    xml = sim.message_xml(openid, "text", msg_id, Content=f"{demo_ref} 也坏了 13812345678")
    result = wechat_intake.receive(query, base64.b64encode(xml.encode()).decode(), OTHER, db, None, settings)
    other_ref = reference_in(sim.read_reply(result["body"])["Content"])
    assert other_ref != demo_ref  # same MsgId and OpenID, another tenant: its own complaint, no follow-up
    [c] = rows(db, complaints, tenant_id=OTHER)
    assert c["estate_code"] == "OTHER-RES" and c["reference"] == other_ref
    assert wechat_intake.wechat_log(OTHER, db.engine)["messages"][0]["complaint_id"] == c["id"]
    assert all(m["complaint_id"] != c["id"] for m in wechat_intake.wechat_log(TENANT, db.engine)["messages"])


def test_a_disabled_account_answers_not_configured(db):
    with db.engine.begin() as conn:
        conn.execute(update(wechat_accounts).values(enabled=False))
    with pytest.raises(WeChatNotConfigured):
        send(db, "电梯坏了 13812345678")
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(wechat_rejects)).scalar_one() == 1


def test_the_app_secret_goes_to_services_only_and_per_tenant(db):
    import os

    from estatedesk_common.errors import Forbidden, ValidationFailed
    from intake.wechat_credentials import get_credentials

    app_id = DEMO_WECHAT["app_id"]
    with db.engine.connect() as conn:
        stored = conn.execute(select(wechat_accounts.c.app_secret).where(wechat_accounts.c.tenant_id == TENANT)
                              ).scalar_one()
    assert stored.startswith("enc:v1:") or not os.environ.get("ESTATEDESK_SECRETS_KEY")  # sealed at rest
    assert get_credentials(app_id, TENANT, None, db.engine, {}) == {
        "app_id": app_id, "app_secret": DEMO_WECHAT["app_secret"], "templates": DEMO_TEMPLATES}
    with pytest.raises(Forbidden):  # a person's call (the gateway always sends roles)
        get_credentials(app_id, TENANT, [["group_admin", None]], db.engine, {})
    with pytest.raises(WeChatNotConfigured):  # another tenant's account is invisible
        get_credentials(app_id, OTHER, None, db.engine, {})
    with pytest.raises(ValidationFailed):
        get_credentials(None, TENANT, None, db.engine, {})
    with db.engine.begin() as conn:
        conn.execute(update(wechat_accounts).where(wechat_accounts.c.tenant_id == TENANT).values(app_secret=None))
    with pytest.raises(WeChatNotConfigured):
        get_credentials(app_id, TENANT, None, db.engine, {})
