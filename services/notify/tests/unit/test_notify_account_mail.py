"""``queue_password_reset``: the reset e-mail a user asked for on the gateway (zh-CN and English), refused for
signed-in callers and bad input, never logging the link, its bodies blanked once sent or failed."""
import logging
import uuid

import pytest
from sqlalchemy import select

from notify import account_mail, repository
from notify.exceptions import Forbidden, ValidationFailed
from notify.tables import messages

TENANT = str(uuid.uuid4())
LINK = "https://desk.example.cn/reset-password/Zm9vYmFyLXNlY3JldC10b2tlbi0xMjM0NTY3ODkw"
EXPIRES = "2026-11-24T07:30:00+00:00"


def queue(new_uow, locale="zh_CN", roles=None, **overrides):
    args = {"recipient": "agent@demo.example", "locale": locale, "link": LINK, "expires_at": EXPIRES} | overrides
    return account_mail.queue_password_reset(TENANT, roles, args["recipient"], args["locale"], args["link"],
                                             args["expires_at"], new_uow())


def stored(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.tenant_id == TENANT)).mappings().all()


def test_password_reset_mail_is_queued_in_chinese_with_the_link_and_china_time(new_uow, engine):
    result = queue(new_uow)
    [row] = stored(engine)
    assert result == {"message_id": row["id"], "status": "queued"}
    assert (row["kind"], row["channel"], row["recipient"], row["status"]) == (
        "password_reset", "email", "agent@demo.example", "queued")
    assert row["subject"] == "EstateDesk 重置密码"
    assert LINK in row["body_text"] and f'href="{LINK}"' in row["body_html"]
    assert "2026-11-24 15:30（北京时间）" in row["body_text"], "expiry shown in China time"
    assert row["smtp_message_id"] and row["complaint_id"]


def test_password_reset_mail_in_english_and_unknown_locales_fall_back_to_chinese(new_uow, engine):
    queue(new_uow, "en")
    queue(new_uow, "fr")
    subjects = sorted(r["subject"] for r in stored(engine))
    assert subjects == ["EstateDesk password reset", "EstateDesk 重置密码"]
    english = next(r for r in stored(engine) if r["locale"] == "en")
    assert "until 2026-11-24 15:30 (China time)" in english["body_text"]


def test_password_reset_mail_only_for_a_trusted_call(new_uow, engine):
    with pytest.raises(Forbidden):
        queue(new_uow, roles=[["group_admin", None]])
    with pytest.raises(Forbidden):
        queue(new_uow, roles=[])
    assert stored(engine) == []


@pytest.mark.parametrize("field,value", [
    ("recipient", "not-an-address"), ("recipient", "a@b.cn\r\nBcc: x@y.cn"), ("recipient", None),
    ("link", "javascript:alert(1)"), ("link", "/reset-password/relative"), ("link", LINK + "\nX"),
    ("link", "https://x.cn/" + "a" * 2000), ("expires_at", "tomorrow"), ("expires_at", "2026-11-24T07:30:00"),
])
def test_password_reset_mail_refuses_bad_input(new_uow, engine, field, value):
    with pytest.raises(ValidationFailed) as refused:
        queue(new_uow, **{field: value})
    assert refused.value.field == field and stored(engine) == []


def test_password_reset_link_is_not_logged(new_uow, caplog):
    caplog.set_level(logging.DEBUG)
    queue(new_uow)
    assert "password reset e-mail" in caplog.text
    assert LINK.rsplit("/", 1)[1] not in caplog.text and "agent@demo.example" not in caplog.text


@pytest.mark.parametrize("mark", ["sent", "failed"])
def test_password_reset_bodies_are_blanked_once_settled_other_kinds_kept(new_uow, engine, fake_clock, mark):
    queue(new_uow)
    [row] = stored(engine)
    other = dict(row, kind="periodic_report")
    with engine.begin() as conn:
        if mark == "sent":
            assert repository.mark_sent(conn, row, fake_clock.now())
        else:
            assert repository.mark_failed(conn, row, 8, "550 no such user", fake_clock.now())
    [after] = stored(engine)
    assert after["status"] == mark and after["body_text"] == "" and after["body_html"] == ""
    assert repository._scrub(other) == {}, "only secret kinds are blanked"
