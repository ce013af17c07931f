"""``queue_password_reset`` on a real container, broker, database and SMTP server: the gateway's call (tenant in
the context, no person) is mailed by the mail loop, the stored bodies are blanked once sent; a signed-in caller
or a call without a tenant is refused."""
import email
import email.policy
import uuid

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from notify.service import NotifyService
from notify_helpers import rows

pytestmark = pytest.mark.integration

LINK = "http://127.0.0.1:8000/reset-password/aW50ZWdyYXRpb24tc2VjcmV0LXRva2VuLTk4NzY1"


def test_password_reset_is_mailed_and_its_link_not_kept(container_factory, notify_config, smtp_sink, engine,
                                                        wait_until):
    smtp_sink.start()
    container_factory(NotifyService, notify_config).start()
    tenant = str(uuid.uuid4())
    with ServiceRpcProxy("notify", notify_config, context_data={"tenant_id": tenant}) as notify:
        queued = notify.queue_password_reset("agent@demo.example", "en", LINK, "2026-11-24T07:30:00+00:00")
    assert queued["status"] == "queued"
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["agent@demo.example"]
    mail = email.message_from_bytes(received.original_content, policy=email.policy.default)
    assert mail["Subject"] == "EstateDesk password reset"
    assert LINK in mail.get_body(("plain",)).get_content() and LINK in mail.get_body(("html",)).get_content()
    sent = wait_until(lambda: [r for r in rows(engine, "email") if r.status == "sent"] or None)
    assert [(r.tenant_id, r.kind, r.body_text, r.body_html) for r in sent] == [(tenant, "password_reset", "", "")]


def test_password_reset_refused_for_people_and_without_tenant(container_factory, notify_config, engine):
    container_factory(NotifyService, notify_config).start()
    contexts = [{"tenant_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "roles": [["group_admin", None]]},
                {}]
    for context in contexts:
        with ServiceRpcProxy("notify", notify_config, context_data=context) as notify:
            with pytest.raises(RemoteError) as refused:
                notify.queue_password_reset("x@example.cn", "zh_CN", LINK, "2026-11-24T07:30:00+00:00")
        assert "forbidden" in str(refused.value) or "tenant_required" in str(refused.value)
    assert rows(engine, "email") == []
