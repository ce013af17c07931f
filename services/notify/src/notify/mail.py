"""The e-mail channel of the delivery loop: a batch of rows over one SMTP session."""
from __future__ import annotations

import logging
import smtplib

from .outcomes import Failure, Sent
from .smtp import build_email, classify

log = logging.getLogger(__name__)


class EmailChannel:
    name = "email"

    def __init__(self, transport, sender: str):
        self.transport, self.sender = transport, sender

    def send_all(self, rows, now=None) -> list:
        """Send each row over one SMTP session; (row, Sent()) when accepted, else (row, Failure)."""
        if not rows:
            return []
        try:
            smtp = self.transport.open()
        except Exception as exc:
            failure = classify(exc)
            log.warning("SMTP unavailable, %d message(s) wait: %s", len(rows), failure.reason)
            return [(row, failure) for row in rows]
        outcomes = []
        try:
            for i, row in enumerate(rows):
                try:
                    msg = email_for(row, self.sender)
                except Exception as exc:  # an address or header the MIME layer refuses: retrying will not help
                    outcomes.append((row, Failure(True, f"{type(exc).__name__}: {exc}"[:2000])))
                    continue
                try:
                    self.transport.send(smtp, msg)
                except Exception as exc:
                    failure = classify(exc)
                    outcomes.append((row, failure))
                    if not failure.permanent and not _session_usable(exc):
                        outcomes.extend((rest, failure) for rest in rows[i + 1:])
                        break
                    continue
                outcomes.append((row, Sent()))
        finally:
            self.transport.close(smtp)
        return outcomes

    @staticmethod
    def sent_fields(row, outcome: Sent) -> dict:
        return {"smtp_message_id": row["smtp_message_id"]}


def _session_usable(exc) -> bool:
    """smtplib resets the session after a refused recipient or message; a dropped connection (or 421) is gone."""
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def email_for(row, sender: str):
    return build_email(sender=sender, recipient=row["recipient"], subject=row["subject"],
                       body_text=row["body_text"], body_html=row["body_html"],
                       message_id=row["smtp_message_id"], reference=row["reference"])
