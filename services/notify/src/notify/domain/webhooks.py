"""Outgoing webhooks: which events, how a delivery is signed, which URLs may be called, when to retry.

Pure functions (no framework). The signature follows the common ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` form
(Stripe-style): the receiver recomputes ``HMAC(secret, f"{t}.{body}")`` over the raw body and rejects old
timestamps, so a captured delivery cannot be replayed later.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

# case events a tenant can subscribe to (all workflow's): source service, event type
EVENTS = ("case_opened", "case_assigned", "case_contacted", "case_plan_recorded", "case_progress_recorded",
          "case_resolved", "owner_accepted", "case_closed", "case_reopened", "case_cancelled", "sla_warning",
          "sla_breached", "case_escalated", "extension_requested", "extension_decided")
BACKOFF = (dt.timedelta(seconds=30), dt.timedelta(minutes=2), dt.timedelta(minutes=10), dt.timedelta(hours=1),
           dt.timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1  # then the delivery is failed for good (an operator can redeliver it)
MAX_ENDPOINTS = 20
SIGNATURE_HEADER = "X-EstateDesk-Signature"


class InvalidWebhook(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (used by the tests; documented for tenants)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def check_url(url, allow_http: bool) -> str:
    """The URL as given if it may be configured: http(s), a host, no credentials; https unless ``allow_http``."""
    if not isinstance(url, str) or not url.strip() or len(url) > 500:
        raise InvalidWebhook("url", "url is required (at most 500 characters)")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidWebhook("url", "url must be an http(s) URL with a host")
    if parts.scheme == "http" and not allow_http:
        raise InvalidWebhook("url", "url must use https")
    if parts.username or parts.password:
        raise InvalidWebhook("url", "url must not carry credentials (the signature authenticates us)")
    return url.strip()


def address_allowed(ip: str, allow_private: bool) -> bool:
    """A resolved address we may connect to: never link-local/multicast/unspecified (cloud metadata lives
    there); private and loopback only when the operator allows them (on-premises receivers, tests)."""
    address = ipaddress.ip_address(ip)
    if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if address.is_private or address.is_loopback:
        return allow_private
    return True


def check_events(events) -> list[str]:
    if events is None:
        return []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidWebhook("events", "events must be a list of event types")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise InvalidWebhook("events", f"unknown event types: {', '.join(unknown)}")
    return sorted(set(events))


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime | None:
    """After ``attempts`` failed tries: when to try again, or None when it is failed for good."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + BACKOFF[min(attempts, len(BACKOFF)) - 1]
