"""The WeChat channel of the delivery loop: customer-service text messages (客服消息) through ``wechatpy``'s
``WeChatClient``, with its API base URL from ``WECHAT_API_BASE_URL`` (``scripts/wechat_api_stub.py`` in
development and tests; https://api.weixin.qq.com/ in production). Rules in ``domain/wechat.py``.

- **Credentials**: intake owns the accounts; notify asks intake's ``get_wechat_credentials(app_id)`` (RPC, as a
  service: no roles, the row's tenant in the context) the first time it sends for an app in this process, and
  again after WeChat refuses the app id or secret. Why not an event: see ``intake/wechat_credentials.py``.
- **Access token**: one ``WeChatApi`` per (tenant, app) keeps it in memory until 60 s before ``expires_in``;
  40001/40014/42001 drop it, fetch a new one and try the message once more. ``auto_retry`` of wechatpy is off:
  it retries without limit while the token keeps being refused. One notify process per app id is assumed (a
  token fetched elsewhere invalidates ours within 5 minutes; the refresh-on-40001 then heals it).
- **Outcomes**: sent; temporary (API down, rate limit, our credentials) retried with the loop's backoff;
  permanent (45015 outside the 48-hour window, unfollowed, unknown openid) failed at once. A failed row's
  ``fallback`` SMS is queued in the same transaction (``after_failure``).
"""
from __future__ import annotations

import logging
import secrets
import time

import requests
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from estatedesk_common import i18n
from estatedesk_common.errors import parse_remote

from . import opt_outs, repository
from . import templates
from .domain.messages import ACKNOWLEDGEMENT, Message, acknowledgement_context, pick_locale
from .domain.timeline import DELIVERY_STATES
from .domain.owner_updates import ESSENTIAL_SMS_KINDS, KINDS, OWNER_UPDATE, is_urgent_case, update_context
from .domain.wechat import CHANNEL, classify, mask_openid, prefer_wechat, text_body, wechat_contact, wechat_message
from .outcomes import Failure, Sent
from .sms import PermanentFailure, TemporaryFailure

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com/"


_env = templates.environment()

_WHAT = {"acknowledgement": ("受理回执", "Acknowledgement"), "owner_progress": ("处理进展", "Progress"),
         "owner_resolved": ("办结通知", "Resolution"), "owner_reopened": ("重新处理通知", "Reopening")}
i18n.register({f"notify.{kind}.wechat.{state}": {"zh_CN": f"{zh_what}微信消息{zh}",
                                                  "en": f"{en_what} WeChat message {en}"}
               for kind, (zh_what, en_what) in _WHAT.items() for state, (zh, en) in DELIVERY_STATES.items()})


def render_text(message: str, locale: str, context: dict) -> str:
    """``templates/<locale>/<message>/wechat.txt`` (shipped templates; tenant overrides do not cover WeChat yet)."""
    return _env.get_template(f"{locale}/{message}/wechat.txt").render(context)


def acknowledgement(tenant_id: str, payload: dict, now, messages: list, render=render_text) -> list:
    """``case_opened`` of a WeChat complaint: the acknowledgement by WeChat, the SMS kept as its fallback."""
    reach = wechat_contact(payload.get("complainant"))
    if reach is None:
        return messages
    context = acknowledgement_context(payload, now)
    locale = pick_locale(payload.get("locale"))
    message = wechat_message(tenant_id=tenant_id, complaint_id=str(payload.get("complaint_id")),
                             case_id=payload.get("case_id") or None, kind=ACKNOWLEDGEMENT, locale=locale,
                             reference=context["reference"], created_at=now, app_id=reach[0], openid=reach[1],
                             text=render(ACKNOWLEDGEMENT, locale, context), timezone=context["timezone"])
    return prefer_wechat(messages, message)


def owner_update(contact, event_type: str, payload: dict, now, messages: list, render=render_text) -> list:
    """A progress / resolution / reopening update by WeChat for an owner kept with an openid."""
    if not contact["wechat_openid"] or not contact["wechat_app_id"]:
        return messages
    message = wechat_message(tenant_id=contact["tenant_id"], complaint_id=contact["complaint_id"],
                             case_id=contact["complaint_id"], kind=KINDS[event_type], locale=contact["locale"],
                             reference=contact["reference"], created_at=now, app_id=contact["wechat_app_id"],
                             openid=contact["wechat_openid"],
                             text=render(OWNER_UPDATE, contact["locale"], update_context(contact, event_type, payload)),
                             timezone=contact["timezone"], urgent=is_urgent_case(contact))
    return prefer_wechat(messages, message)


class WeChatApi(WeChatClient):
    """``WeChatClient`` against ``base_url`` (wechatpy hard-codes the token URL and sets no timeout on it)."""

    def __init__(self, appid: str, secret: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 10.0):
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url.rstrip("/") + "/cgi-bin/"

    def fetch_access_token(self):
        res = self._http.get(self.API_BASE_URL + "token", timeout=self.timeout, params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
        try:
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(None, f"token endpoint: {exc}"[:300], client=self) from exc
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self)
        expires_in = int(result.get("expires_in") or 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def forget_token(self):
        self.session.delete(self.access_token_key)
        self.expires_at = None


class IntakeCredentials:
    """``(tenant_id, app_id) -> {"app_id", "app_secret"}`` from intake's ``get_wechat_credentials``."""

    def __init__(self, config: dict, timeout: float = 10.0):
        self.config, self.timeout = {"AMQP_URI": config["AMQP_URI"]}, timeout

    def __call__(self, tenant_id: str, app_id: str) -> dict:
        try:
            with ClusterRpcProxy(self.config, context_data={"tenant_id": tenant_id}, timeout=self.timeout) as rpc:
                return rpc.intake.get_wechat_credentials(app_id)
        except RemoteError as exc:
            data = parse_remote(exc.value)
            if data and data.get("error") == "wechat_not_configured":
                raise PermanentFailure(f"WeChat account {app_id} is not configured for replies: "
                                       f"{data.get('message')}") from None
            raise TemporaryFailure(f"intake refused the WeChat credentials: {exc.exc_type}") from None
        except Exception as exc:  # broker away, intake down or slow (RpcTimeout): try again later
            raise TemporaryFailure(f"WeChat credentials unavailable: {type(exc).__name__}", unreachable=True) from None


class WeChatSender:
    """Sends one text; raises ``TemporaryFailure`` / ``PermanentFailure`` like an ``SmsProvider``."""

    name = "wechat"

    def __init__(self, credentials, base_url: str = DEFAULT_BASE_URL, timeout: float = 10.0):
        self.credentials, self.base_url, self.timeout = credentials, base_url, timeout
        self._clients: dict[tuple[str, str], WeChatApi] = {}

    def _client(self, tenant_id: str, app_id: str) -> WeChatApi:
        key = (tenant_id, app_id)
        if key not in self._clients:
            creds = self.credentials(tenant_id, app_id)
            self._clients[key] = WeChatApi(app_id, creds["app_secret"], self.base_url, self.timeout)
        return self._clients[key]

    def send_text(self, tenant_id: str, app_id: str, openid: str, text: str) -> None:
        client = self._client(tenant_id, app_id)
        for attempt in (1, 2):
            try:
                client.message.send_text(openid, text_body(text))
                return
            except WeChatClientException as exc:
                if exc.errcode is None:
                    raise TemporaryFailure(f"WeChat API error: {exc.errmsg or exc}"[:500], unreachable=True) from None
                code = exc.errcode
                outcome, reason = classify(code, exc.errmsg)
            except requests.RequestException as exc:
                raise TemporaryFailure(f"WeChat API unreachable: {type(exc).__name__}", unreachable=True) from None
            if outcome == "token" and attempt == 1:
                log.info("WeChat access token of %s refused, fetching a new one", app_id)
                client.forget_token()
                continue
            if outcome == "permanent":
                raise PermanentFailure(reason)
            if code in (40013, 40125):  # the secret may have changed at intake: ask again next time
                self._clients.pop((tenant_id, app_id), None)
            raise TemporaryFailure(reason)


class WeChatChannel:
    """The delivery loop's strategy for channel ``wechat`` (rows: recipient = openid, ``wechat_app_id``)."""

    name = CHANNEL

    def __init__(self, sender: WeChatSender):
        self.sender = sender

    def send_all(self, rows, now=None) -> list:
        outcomes = []
        for i, row in enumerate(rows):
            try:
                self.sender.send_text(row["tenant_id"], row["wechat_app_id"], row["recipient"], row["body_text"])
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
            outcomes.append((row, Sent()))
        return outcomes

    def sent_fields(self, row, outcome: Sent) -> dict:
        return {"provider": "wechat", "app_id": row["wechat_app_id"]}

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
