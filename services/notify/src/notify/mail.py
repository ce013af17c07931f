"""The e-mail channel of the delivery loop: a batch of rows over one SMTP session per mail server.

Rows of tenants with their own outgoing server (``mail_settings``, ``tenant_smtp.TenantRoutes``) go over a
session of their own, From the tenant's sender; every other row over the platform's server (``SMTP_*``). One
server down or refusing the login fails only its own rows: each route's outcome is its own, and a tenant's
reasons name the server (``smtp.example.com:587: 535 ...``) for the delivery log. Routes are served one after
the other, the platform's first: a tenant's server that does not answer at all delays the routes after it by up
to ``SMTP_TIMEOUT`` per step, while its rows are due (then they back off).
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass

from .outcomes import Failure, Sent
from .smtp import build_email, classify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """Where a group of rows goes: ``transport`` and ``sender``; ``label`` (a tenant's ``host:port``) prefixes
    the reasons; ``tenant``: classify as a tenant's server; ``failure``: the settings cannot be used at all
    (a password no key decrypts), so every row gets it without a connection."""
    key: str
    transport: object
    sender: str
    label: str | None = None
    tenant: bool = False
    failure: Failure | None = None


class EmailChannel:
    name = "email"

    def __init__(self, transport, sender: str, routes=None):
        """``routes(tenant_ids) -> {tenant_id: Route}`` for tenants with their own server (None: all platform)."""
        self.transport, self.sender, self.routes = transport, sender, routes

    def send_all(self, rows, now=None) -> list:
        """Send each row over one SMTP session per route; (row, Sent()) when accepted, else (row, Failure), in the
        order of ``rows``."""
        if not rows:
            return []
        platform = Route("platform", self.transport, self.sender)
        found = self.routes({row.get("tenant_id") for row in rows}) if self.routes else {}
        groups: dict[str, tuple[Route, list]] = {"platform": (platform, [])}  # first: most tenants' mail
        for row in rows:
            route = found.get(row.get("tenant_id")) or platform
            groups.setdefault(route.key, (route, []))[1].append(row)
        outcomes = {}
        for route, batch in groups.values():
            if not batch:
                continue
            for i, outcome in enumerate(_send_batch(route, batch)):
                outcomes[id(batch[i])] = outcome
        return [(row, outcomes[id(row)]) for row in rows]

    @staticmethod
    def sent_fields(row, outcome: Sent) -> dict:
        return {"smtp_message_id": row["smtp_message_id"]}


def _send_batch(route: Route, rows: list) -> list:
    """The outcome of each row of one route, in order."""
    if route.failure is not None:
        return [route.failure] * len(rows)

    def failed(exc) -> Failure:
        failure = classify(exc, route.tenant)
        return Failure(failure.permanent, f"{route.label}: {failure.reason}") if route.label else failure

    try:
        smtp = route.transport.open()
    except Exception as exc:
        failure = failed(exc)
        log.warning("SMTP %s unavailable, %d message(s) wait: %s", route.label or "server", len(rows), failure.reason)
        return [failure] * len(rows)
    outcomes = []
    try:
        for i, row in enumerate(rows):
            try:
                msg = email_for(row, route.sender)
            except Exception as exc:  # an address or header the MIME layer refuses: retrying will not help
                outcomes.append(Failure(True, f"{type(exc).__name__}: {exc}"[:2000]))
                continue
            try:
                route.transport.send(smtp, msg)
            except Exception as exc:
                failure = failed(exc)
                outcomes.append(failure)
                if not failure.permanent and not _session_usable(exc):
                    outcomes.extend([failure] * (len(rows) - i - 1))
                    break
                continue
            outcomes.append(Sent())
    finally:
        route.transport.close(smtp)
    return outcomes


def _session_usable(exc) -> bool:
    """smtplib resets the session after a refused recipient or message; a dropped connection (or 421) is gone."""
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def email_for(row, sender: str):
    return build_email(sender=sender, recipient=row["recipient"], subject=row["subject"],
                       body_text=row["body_text"], body_html=row["body_html"],
                       message_id=row["smtp_message_id"], reference=row["reference"])
