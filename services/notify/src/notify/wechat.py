"""The WeChat channel of the delivery loop: customer-service text messages (客服消息) and template messages
(模板消息) through ``wechatpy`` (the client and the credentials in ``wechat_api.py``), with its API base URL from
``WECHAT_API_BASE_URL`` (``scripts/wechat_api_stub.py`` in development and tests; https://api.weixin.qq.com/ in
production). Rules in ``domain/wechat.py`` and ``domain/wechat_templates.py``.

- **Queueing**: ``acknowledgement``, ``owner_update`` and ``callback_survey`` build a WeChat row instead of the
  SMS, which becomes its ``fallback``; the row also keeps its template message as planned
  (``fallback["template"]``).
- **Outcomes**: sent; temporary (API down, rate limit, our credentials) retried with the loop's backoff;
  permanent (45015 outside the 48-hour window, unfollowed, unknown openid) failed at once. A failed row's
  ``fallback`` SMS is queued in the same transaction (``after_failure``).
- **Template messages**: when the customer-service text meets 45015/45047, or the window is known to be closed,
  and the tenant configured a template for the message (intake hands the ids over with the AppSecret), the
  row's planned template message is sent instead (``message/template/send``) before any SMS; 43004
  (unfollowed) and 40037 (unknown template id) fail the row for good with both reasons, so the SMS follows.
  The way a row went is kept in ``fallback["via"]`` (``customer_service`` | ``template``), shown on the timeline
  and in ``notification_sent``.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets

from sqlalchemy import func, select

from estatedesk_common import i18n

from . import opt_outs, repository
from . import templates
from .domain import wechat_templates as tpl
from .domain.messages import ACKNOWLEDGEMENT, Message, acknowledgement_context, pick_locale
from .domain.timeline import DELIVERY_STATES
from .domain.owner_updates import ESSENTIAL_SMS_KINDS, KINDS, OWNER_UPDATE, is_urgent_case, update_context
from .domain.wechat import (CHANNEL, mask_openid, prefer_wechat, wechat_contact, wechat_message,
                            with_fallback)
from .outcomes import Failure, Sent
from .sms import PermanentFailure, TemporaryFailure
from .tables import owner_contacts
from .wechat_api import (CREDENTIALS_TTL, DEFAULT_BASE_URL, IntakeCredentials, WeChatApi,  # noqa: F401 - re-exported
                         WeChatRefusal, WeChatSender)

log = logging.getLogger(__name__)


_env = templates.environment()

_WHAT = {"acknowledgement": ("受理回执", "Acknowledgement"), "owner_progress": ("处理进展", "Progress"),
         "owner_resolved": ("办结通知", "Resolution"), "owner_reopened": ("重新处理通知", "Reopening"),
         "callback_survey": ("回访问卷", "Callback survey")}
i18n.register({f"notify.{kind}.wechat.{state}": {"zh_CN": f"{zh_what}微信消息{zh}",
                                                  "en": f"{en_what} WeChat message {en}"}
               for kind, (zh_what, en_what) in _WHAT.items() for state, (zh, en) in DELIVERY_STATES.items()})
i18n.register({f"notify.{kind}.wechat.sent_template": {
    "zh_CN": f"{zh_what}微信模板消息已发送至 {{recipient}}（客服消息 48 小时窗口已关闭）",
    "en": f"{en_what} WeChat template message sent to {{recipient}} (48-hour customer-service window closed)"}
    for kind, (zh_what, en_what) in _WHAT.items()})

VIA_TEXT, VIA_TEMPLATE = "customer_service", "template"
WINDOW_PASSED = "the owner's 48-hour customer-service window has passed"


def render_text(message: str, locale: str, context: dict) -> str:
    """``templates/<locale>/<message>/wechat.txt`` (shipped templates; tenant overrides do not cover WeChat yet)."""
    return _env.get_template(f"{locale}/{message}/wechat.txt").render(context)


def _received_at(payload: dict, now):
    try:
        at = dt.datetime.fromisoformat(payload.get("received_at"))
    except (TypeError, ValueError):
        return now
    return at if at.tzinfo is not None and at <= now else now


def acknowledgement(tenant_id: str, payload: dict, now, messages: list, render=render_text,
                    status_url: str | None = None) -> list:
    """``case_opened`` of a WeChat complaint: the acknowledgement by WeChat (its template message planned, the
    window counted from the complaint's receipt), the SMS kept as its fallback. ``status_url``: the owner's
    status page pattern (``WeChatPolicy.status_url``)."""
    reach = wechat_contact(payload.get("complainant"))
    if reach is None:
        return messages
    context = acknowledgement_context(payload, now)
    locale = pick_locale(payload.get("locale"))
    template = tpl.plan(ACKNOWLEDGEMENT, locale, context, now, context["timezone"],
                        tpl.status_url(status_url, tenant_id), _received_at(payload, now))
    message = wechat_message(tenant_id=tenant_id, complaint_id=str(payload.get("complaint_id")),
                             case_id=payload.get("case_id") or None, kind=ACKNOWLEDGEMENT, locale=locale,
                             reference=context["reference"], created_at=now, app_id=reach[0], openid=reach[1],
                             text=render(ACKNOWLEDGEMENT, locale, context), timezone=context["timezone"],
                             template=template)
    return prefer_wechat(messages, message)


def last_inbound(conn, tenant_id: str, app_id: str, openid: str):
    """When the owner last wrote to the account, as far as notify knows: the latest of their WeChat complaints
    (``owner_contacts.created_at``, kept when the case opened), or None."""
    c = owner_contacts
    return conn.execute(select(func.max(c.c.created_at)).where(
        c.c.tenant_id == tenant_id, c.c.wechat_app_id == app_id, c.c.wechat_openid == openid)).scalar()


def owner_update(contact, event_type: str, payload: dict, now, messages: list, render=render_text,
                 status_url: str | None = None, inbound_at=None) -> list:
    """A progress / resolution / reopening update by WeChat for an owner kept with an openid; ``inbound_at``
    (``last_inbound``) dates the 48-hour window of its template message."""
    if not contact["wechat_openid"] or not contact["wechat_app_id"]:
        return messages
    kind, context = KINDS[event_type], update_context(contact, event_type, payload)
    template = tpl.plan(kind, contact["locale"], context, now, contact["timezone"],
                        tpl.status_url(status_url, contact["tenant_id"]), inbound_at)
    message = wechat_message(tenant_id=contact["tenant_id"], complaint_id=contact["complaint_id"],
                             case_id=contact["complaint_id"], kind=kind, locale=contact["locale"],
                             reference=contact["reference"], created_at=now, app_id=contact["wechat_app_id"],
                             openid=contact["wechat_openid"], text=render(OWNER_UPDATE, contact["locale"], context),
                             timezone=contact["timezone"], urgent=is_urgent_case(contact), template=template)
    return prefer_wechat(messages, message)


def callback_survey(contact, url: str, now, sms: Message | None, inbound_at=None, render=render_text) -> Message:
    """The callback survey link (回访问卷) by WeChat for an owner kept with an openid: the text, its template
    message (linking to the survey itself) and ``sms`` (queued, or None) as the fallback."""
    context = {"reference": contact["reference"], "estate_name": contact["estate_name"], "url": url}
    template = tpl.plan("callback_survey", contact["locale"], context, now, contact["timezone"], url, inbound_at)
    message = wechat_message(tenant_id=contact["tenant_id"], complaint_id=contact["complaint_id"],
                             case_id=contact["complaint_id"], kind="callback_survey", locale=contact["locale"],
                             reference=contact["reference"], created_at=now, app_id=contact["wechat_app_id"],
                             openid=contact["wechat_openid"], timezone=contact["timezone"], template=template,
                             text=render("callback_survey", contact["locale"], context))
    return with_fallback(message, sms)


class WeChatChannel:
    """The delivery loop's strategy for channel ``wechat`` (rows: recipient = openid, ``wechat_app_id``)."""

    name = CHANNEL

    def __init__(self, sender: WeChatSender):
        self.sender = sender

    def send_all(self, rows, now=None) -> list:
        now = now or dt.datetime.now(dt.timezone.utc)
        outcomes = []
        for i, row in enumerate(rows):
            try:
                sent = self._deliver(row, now)
            except PermanentFailure as exc:
                outcomes.append((row, Failure(True, str(exc))))
                continue
            except TemporaryFailure as exc:
                failure = Failure(False, str(exc))
                outcomes.append((row, failure))
                if exc.unreachable:
                    log.warning("WeChat API unavailable, %d message(s) wait: %s", len(rows) - i, exc)
                    outcomes.extend((rest, failure) for rest in rows[i + 1:])
                    break
                continue
            outcomes.append((row, sent))
        return outcomes

    def _deliver(self, row, now) -> Sent:
        """The customer-service text, or the template message when the window is (known to be) closed."""
        template = (row.get("fallback") or {}).get("template")
        tenant_id, app_id = row["tenant_id"], row["wechat_app_id"]
        if template and tpl.window_closed(template, now) and self.sender.template_id(tenant_id, app_id,
                                                                                    template["message"]):
            return self._template(row, template, WINDOW_PASSED)
        try:
            self.sender.send_text(tenant_id, app_id, row["recipient"], row["body_text"])
        except WeChatRefusal as exc:
            if (exc.code in tpl.WINDOW_CLOSED and template
                    and self.sender.template_id(tenant_id, app_id, template["message"])):
                return self._template(row, template, str(exc))
            raise
        return Sent(via=VIA_TEXT)

    def _template(self, row, template: dict, why: str) -> Sent:
        try:
            msgid = self.sender.send_template(row["tenant_id"], row["wechat_app_id"], row["recipient"],
                                              template["message"], template.get("data") or {}, template.get("url"))
        except PermanentFailure as exc:
            raise WeChatRefusal(f"{why}; template message: {exc}"[:500]) from None
        log.info("WeChat %s for %s sent as a template message (%s)", row["kind"], row["reference"], why)
        return Sent(provider_message_id=msgid, via=VIA_TEMPLATE)

    def sent_fields(self, row, outcome: Sent) -> dict:
        return {"provider": "wechat", "app_id": row["wechat_app_id"], "via": outcome.via or VIA_TEXT}

    def after_failure(self, uow, row, now) -> Message | None:
        """WeChat failed for good: queue the row's fallback SMS (same transaction as the failed mark), unless
        the owner opted out of SMS and the message is not essential. Returns the queued SMS, if any."""
        fallback = row.get("fallback") or None
        if not fallback or not fallback.get("to"):  # none kept: SMS was off or the number unusable at queue time
            return None
        if row["kind"] not in ESSENTIAL_SMS_KINDS and opt_outs.is_opted_out(uow.conn, row["tenant_id"],
                                                                             fallback["to"]):
            return None
        sms = Message(tenant_id=row["tenant_id"], complaint_id=row["complaint_id"], case_id=row["case_id"],
                      kind=row["kind"], channel="sms", recipient=fallback["to"], locale=row["locale"],
                      reference=row["reference"], subject="", body_text=fallback.get("text") or "", body_html="",
                      status="queued", created_at=now, timezone=row["timezone"],
                      urgent=bool(fallback.get("urgent")), dlr_token=secrets.token_hex(16))
        repository.add_message(uow.conn, sms)
        log.info("WeChat %s to %s failed: SMS fallback queued for %s", row["kind"], mask_openid(row["recipient"]),
                 row["reference"])
        return sms
