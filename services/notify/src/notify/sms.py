"""SMS: a small provider interface, Kannel's HTTP ``sendsms`` behind it, and the SMS channel of the delivery loop.

An operator can add another HTTP provider (Aliyun/Tencent style) by implementing ``SmsProvider.send``: return
the provider's message id (or None) when the message is accepted, raise ``TemporaryFailure`` (retried with
backoff) or ``PermanentFailure`` (the row fails with the reason).

Kannel (1.4, ``sendsms`` of smsbox): ``202 "0: Accepted for delivery"`` / ``"3: Queued for later delivery"``
are accepted; it returns no message id, so delivery reports are matched by our own message id and a
per-message token carried in the ``dlr-url`` (``%d`` type, ``%A`` SMSC reply, ``%p`` receiver, ``%T`` time).
Chinese text goes as ``coding=2`` (UCS-2) with ``charset=UTF-8`` (Kannel converts); pure ASCII as ``coding=0``
(GSM 7-bit: 160 characters a part instead of 70).

A read timeout or a connection dropped after the request went out (``AnswerLost``) is not a failure: Kannel may
have queued the SMS, so the row becomes ``unknown`` and waits ``dlr_wait`` for a delivery report before it is sent
again (``domain.lost_answers``). A connection refused or a connect timeout never reached Kannel: a normal retry.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, Protocol
from urllib.parse import urlencode

import requests
from urllib3.exceptions import ProtocolError

from .domain.lost_answers import DEFAULT_DLR_WAIT
from .domain.messages import is_urgent
from .domain.phones import InvalidPhone, e164, mask_phones_in
from .outcomes import Deferred, Failure, Sent, Unknown

log = logging.getLogger(__name__)

DLR_MASK_ALL = 31  # 1 delivered, 2 undelivered, 4 buffered, 8 SMSC submit, 16 SMSC reject
DLR_PATH = "/kannel/dlr"
DEFAULT_TIMEZONE = "Asia/Shanghai"


class TemporaryFailure(Exception):
    """Try again later. ``unreachable``: the provider itself is away, so the rest of the batch waits too."""

    def __init__(self, reason: str, unreachable: bool = False):
        super().__init__(reason)
        self.unreachable = unreachable


class AnswerLost(TemporaryFailure):
    """The request reached the provider but its answer never came back (read timeout, connection dropped after
    sending): it may have taken the message. ``unreachable``: the rest of the batch waits too."""


class PermanentFailure(Exception):
    """The provider refused this message for good (bad number, bad text)."""


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, text: str, dlr_url: str | None = None) -> str | None: ...


def kannel_params(*, username: str, password: str, to: str, text: str, dlr_url: str | None,
                  sender: str | None = None, dlr_mask: int = DLR_MASK_ALL) -> dict:
    """The query of ``GET /cgi-bin/sendsms`` (``requests`` URL-encodes it, the dlr-url included)."""
    params = {"username": username, "password": password, "to": to, "text": text, "charset": "UTF-8",
              "coding": 0 if text.isascii() else 2}
    if sender:
        params["from"] = sender
    if dlr_url:
        params["dlr-mask"] = dlr_mask
        params["dlr-url"] = dlr_url
    return params


def classify_kannel(status: int, body: str) -> None:
    """None when Kannel took the message; raises ``PermanentFailure`` / ``TemporaryFailure`` otherwise.

    401/403 (wrong sendsms user/password, IP not allowed) are our configuration, not the message: temporary,
    so rows wait for an operator instead of all failing (as with a failed SMTP login).
    """
    reply = f"{status} {(body or '').strip()}"[:500]
    if status in (200, 202):
        return None
    if status in (401, 403):
        raise TemporaryFailure(f"Kannel refused our credentials: {reply}")
    if 400 <= status < 500:
        raise PermanentFailure(f"Kannel refused the message: {reply}")
    raise TemporaryFailure(f"Kannel unavailable: {reply}")


class KannelProvider:
    name = "kannel"

    def __init__(self, url: str, username: str, password: str, sender: str | None = None,
                 timeout: float = 10.0, dlr_mask: int = DLR_MASK_ALL, session=None):
        self.url, self.username, self.password, self.sender = url, username, password, sender
        self.timeout, self.dlr_mask = timeout, dlr_mask
        self.session = session or requests.Session()

    def send(self, to: str, text: str, dlr_url: str | None = None) -> str | None:
        params = kannel_params(username=self.username, password=self.password, to=to, text=text,
                               dlr_url=dlr_url, sender=self.sender, dlr_mask=self.dlr_mask)
        try:
            response = self.session.get(self.url, params=params, timeout=self.timeout)
            body = response.text
        except requests.RequestException as exc:
            if answer_lost(exc):
                raise AnswerLost(f"Kannel did not answer (the request was sent): {type(exc).__name__}: {exc}"[:500],
                                 unreachable=True) from exc
            raise TemporaryFailure(f"Kannel unreachable: {type(exc).__name__}: {exc}"[:500], unreachable=True) from exc
        classify_kannel(response.status_code, body)
        return None


def answer_lost(exc: requests.RequestException) -> bool:
    """True when the request had gone out before ``exc``: a read timeout, a connection dropped while we waited
    for the answer (``Connection aborted``), an answer cut short. False for a refused connection, a connect
    timeout or a bad URL: nothing reached the provider."""
    if isinstance(exc, (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(exc, requests.ConnectTimeout):
        return False
    cause = exc.args[0] if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(cause, ProtocolError)


def dlr_url(base_url: str, row) -> str:
    """Our callback for Kannel: the message's key and token (the same for every attempt, so the report of an
    earlier attempt still finds the row), the attempt it is sent with, then Kannel's placeholders (unescaped)."""
    ours = urlencode({"t": row["tenant_id"], "m": row["id"], "k": row["dlr_token"],
                      "a": (row.get("attempts") or 0) + 1})
    return f"{base_url.rstrip('/')}{DLR_PATH}?{ours}&type=%d&reply=%A&to=%p&ts=%T"


class SmsChannel:
    name = "sms"

    def __init__(self, provider: SmsProvider, quiet_hours, callback: Callable[[dict], str | None], throttle=None,
                 dlr_wait: dt.timedelta = DEFAULT_DLR_WAIT):
        """``throttle`` (``opt_outs.SmsThrottle``): per-number hourly limit; the excess is deferred. ``dlr_wait``:
        how long an SMS whose answer was lost waits for a delivery report before it is sent again."""
        self.provider, self.quiet_hours, self.callback, self.throttle = provider, quiet_hours, callback, throttle
        self.dlr_wait = dlr_wait

    def send_all(self, rows, now) -> list:
        outcomes = []
        sent: dict[str, list] = {}  # this batch's sends per number, for the throttle
        for i, row in enumerate(rows):
            urgent = is_urgent(row["kind"]) or bool(row.get("urgent"))
            until = None if urgent else self.quiet_hours.deferred_until(now, row["timezone"] or DEFAULT_TIMEZONE)
            if until:
                outcomes.append((row, Deferred(until)))
                continue
            if not urgent and self.throttle is not None:
                until = self.throttle.until(row["recipient"], now, sent.get(row["recipient"], []))
                if until:
                    outcomes.append((row, Deferred(until, self.throttle.reason)))
                    continue
            try:
                provider_id = self.provider.send(e164(row["recipient"]), row["body_text"], self.callback(row))
            except (InvalidPhone, PermanentFailure) as exc:
                outcomes.append((row, Failure(True, str(exc))))
                continue
            except TemporaryFailure as exc:
                failure = Failure(False, str(exc))
                if isinstance(exc, AnswerLost):
                    outcomes.append((row, Unknown(str(exc), self.dlr_wait)))
                    failure = Failure(False, f"not sent: Kannel did not answer the SMS before it ({exc})"[:500])
                else:
                    outcomes.append((row, failure))
                if exc.unreachable:
                    log.warning("SMS provider unavailable, %d message(s) wait: %s", len(rows) - i,
                                mask_phones_in(str(exc)))
                    outcomes.extend((rest, failure) for rest in rows[i + 1:])
                    break
                continue
            outcomes.append((row, Sent(provider_id)))
            sent.setdefault(row["recipient"], []).append(now)
        return outcomes

    def sent_fields(self, row, outcome: Sent) -> dict:
        return {"provider": self.provider.name, "provider_message_id": outcome.provider_message_id}
