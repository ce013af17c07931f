"""The WeChat API client of notify's WeChat channel (``wechat.py``): ``wechatpy``'s ``WeChatClient`` against
``WECHAT_API_BASE_URL``, and the credentials intake hands over.

- **Credentials**: intake owns the accounts; notify asks intake's ``get_wechat_credentials(app_id)`` (RPC, as a
  service: no roles, the row's tenant in the context) the first time it sends for an app in this process, again
  after ``CREDENTIALS_TTL`` (so template ids and a new AppSecret set on the console are seen; intake away then:
  the ones in hand are used) and after WeChat refuses the app id or secret. The answer carries the account's
  template ids too. Why not an event: see ``intake/wechat_credentials.py``.
- **Access token**: one ``WeChatApi`` per (tenant, app) keeps it in memory until 60 s before ``expires_in``;
  40001/40014/42001 drop it, fetch a new one and try the message once more. ``auto_retry`` of wechatpy is off:
  it retries without limit while the token keeps being refused. One notify process per app id is assumed (a
  token fetched elsewhere invalidates ours within 5 minutes; the refresh-on-40001 then heals it).
- **Errors**: ``domain.wechat.classify``; a permanent refusal is ``WeChatRefusal`` with the errcode (45015/45047
  send the channel to the template message), a temporary one ``sms.TemporaryFailure``.
"""
from __future__ import annotations

import logging
import time

import requests
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from estatedesk_common.errors import parse_remote

from .domain.wechat import classify, text_body
from .sms import PermanentFailure, TemporaryFailure

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com/"
CREDENTIALS_TTL = 300.0  # seconds: template ids (and a changed AppSecret) set on the console are seen this soon


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


class WeChatRefusal(PermanentFailure):
    """WeChat refused the message for good; ``code``: its errcode (45015 and 45047 turn to the template)."""

    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.code = code


class WeChatSender:
    """Sends one text or template message; raises ``TemporaryFailure`` / ``PermanentFailure`` like an
    ``SmsProvider``. Credentials (AppSecret and template ids) are asked from intake once per app, again after
    ``CREDENTIALS_TTL`` (intake away then: the ones in hand are used) and after WeChat refuses them."""

    name = "wechat"

    def __init__(self, credentials, base_url: str = DEFAULT_BASE_URL, timeout: float = 10.0, clock=time.monotonic):
        self.credentials, self.base_url, self.timeout, self.clock = credentials, base_url, timeout, clock
        self._clients: dict[tuple[str, str], WeChatApi] = {}
        self._templates: dict[tuple[str, str], dict] = {}
        self._fetched: dict[tuple[str, str], float] = {}

    def _client(self, tenant_id: str, app_id: str) -> WeChatApi:
        key = (tenant_id, app_id)
        if key in self._clients and self.clock() - self._fetched.get(key, 0.0) < CREDENTIALS_TTL:
            return self._clients[key]
        try:
            creds = self.credentials(tenant_id, app_id)
        except TemporaryFailure:
            if key in self._clients:  # intake away: the credentials in hand still work
                return self._clients[key]
            raise
        except PermanentFailure:
            self._forget(tenant_id, app_id)  # account disabled or its secret removed
            raise
        client = self._clients.get(key)
        if client is None or client.secret != creds["app_secret"]:  # same secret: keep the access token
            client = self._clients[key] = WeChatApi(app_id, creds["app_secret"], self.base_url, self.timeout)
        self._templates[key] = dict(creds.get("templates") or {})
        self._fetched[key] = self.clock()
        return client

    def _forget(self, tenant_id: str, app_id: str) -> None:
        for cache in (self._clients, self._templates, self._fetched):
            cache.pop((tenant_id, app_id), None)

    def template_id(self, tenant_id: str, app_id: str, message: str) -> str | None:
        """The tenant's template for ``message`` (``acknowledgement`` / ``progress`` / ...), or None."""
        self._client(tenant_id, app_id)
        return self._templates.get((tenant_id, app_id), {}).get(message) or None

    def send_text(self, tenant_id: str, app_id: str, openid: str, text: str) -> None:
        self._call(tenant_id, app_id, lambda client: client.message.send_text(openid, text_body(text)))

    def send_template(self, tenant_id: str, app_id: str, openid: str, message: str, data: dict,
                      url: str | None = None) -> str | None:
        """The tenant's template for ``message`` with ``data``; WeChat's ``msgid`` (text) or None."""
        template_id = self.template_id(tenant_id, app_id, message)
        if not template_id:
            raise WeChatRefusal(f"no template message configured for {message}")
        try:
            result = self._call(tenant_id, app_id,
                                lambda client: client.message.send_template(openid, template_id, data, url=url))
        except WeChatRefusal as exc:
            if exc.code == 40037:  # read the ids again for the next message: an admin may have fixed it
                self._fetched.pop((tenant_id, app_id), None)
                raise WeChatRefusal(f"WeChat does not know template id {template_id} for {message} (40037)",
                                    40037) from None
            raise
        msgid = (result or {}).get("msgid") if isinstance(result, dict) else None
        return str(msgid) if msgid is not None else None

    def _call(self, tenant_id: str, app_id: str, send):
        client = self._client(tenant_id, app_id)
        for attempt in (1, 2):
            try:
                return send(client)
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
                raise WeChatRefusal(reason, _int(code))
            if code in (40013, 40125):  # the secret may have changed at intake: ask again next time
                self._forget(tenant_id, app_id)
            raise TemporaryFailure(reason)


def _int(code) -> int | None:
    try:
        return int(code)
    except (TypeError, ValueError):
        return None
