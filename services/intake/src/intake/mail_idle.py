"""IMAP IDLE for the mailbox channel: new mail wakes the poller at once instead of at its next interval.

The poller (``mailbox.MailPoller``) stays the only thing that reads, ingests and flags messages: its rules (one
transaction per message, flags only after the commit, poison messages rejected) hold whatever wakes it. IDLE
only shortens the wait. Per enabled mailbox that offers IDLE, a watcher holds one read-only connection
(``IMAPClient``: EXAMINE + IDLE, re-issued every ``renew`` seconds, well inside the 29 minutes RFC 2177 allows)
and calls ``wake()`` when the server reports EXISTS or RECENT. A server without IDLE keeps plain polling; a
watcher that loses its connection reconnects with backoff, and the poller's interval is the safety net
meanwhile. ``sync`` (called by the poller after each pass with the enabled mailboxes) starts watchers for new
mailboxes and stops those disabled, removed or changed.
"""
from __future__ import annotations

import logging
import ssl
import threading

from imapclient import IMAPClient
from prometheus_client import Counter

from .mailbox import needs_starttls

log = logging.getLogger(__name__)

IDLE_WAKES = Counter("estatedesk_mail_idle_wakes_total", "Poller wake-ups by IMAP IDLE (new mail reported)")
SLICE = 5.0  # seconds per idle_check, so a stop is noticed quickly


def _key(box) -> tuple:
    return (box.tenant_id, box.id, box.host, box.port, box.username, box.folder, box.use_ssl, box.password)


class Watcher:
    def __init__(self, box, password_for, wake, timeout: float, renew: float):
        self.box, self.password_for, self.wake = box, password_for, wake
        self.timeout, self.renew = timeout, renew
        self.stopped = threading.Event()
        self.unsupported = False
        self.thread = threading.Thread(target=self.run, name=f"imap-idle-{box.id}", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopped.set()

    def run(self):
        backoff = 1.0
        while not self.stopped.is_set():
            try:
                self._session()
                if self.unsupported:
                    return
                backoff = 1.0
            except Exception as exc:  # connection lost, login refused...: polling goes on; try again later
                log.info("mailbox %s: IDLE connection ended (%s); retrying in %.0f s", self.box.id, exc, backoff)
                self.stopped.wait(backoff)
                backoff = min(backoff * 2, 300.0)

    def _session(self):
        box = self.box
        context = ssl.create_default_context() if box.use_ssl else None
        client = IMAPClient(box.host, port=box.port, ssl=box.use_ssl, ssl_context=context, timeout=self.timeout)
        try:
            if not box.use_ssl and needs_starttls(box.host):
                client.starttls(ssl.create_default_context())
            client.login(box.username, self.password_for(box))
            if b"IDLE" not in client.capabilities():
                log.info("mailbox %s: the server offers no IDLE; polling only", box.id)
                self.unsupported = True
                return
            client.select_folder(box.folder, readonly=True)
            while not self.stopped.is_set():
                self._idle_once(client)
        finally:
            try:
                client.logout()
            except Exception:
                pass

    def _idle_once(self, client):
        client.idle()
        waited, news = 0.0, False
        try:
            while waited < self.renew and not self.stopped.is_set() and not news:
                responses = client.idle_check(timeout=SLICE)
                waited += SLICE
                news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        finally:
            client.idle_done()
        if news:
            IDLE_WAKES.inc()
            self.wake()


class IdleWatchers:
    """The watchers of one poller, kept in step with the enabled mailboxes."""

    def __init__(self, wake, password_for, timeout: float = 30.0, renew: float = 600.0):
        self.wake, self.password_for = wake, password_for
        self.timeout, self.renew = timeout, renew
        self.watchers: dict[tuple, Watcher] = {}

    def sync(self, boxes) -> None:
        wanted = {_key(b): b for b in boxes}
        for key in list(self.watchers):
            watcher = self.watchers[key]
            if key not in wanted or not (watcher.thread.is_alive() or watcher.unsupported):
                self.watchers.pop(key).stop()
        for key, box in wanted.items():
            if key not in self.watchers:
                watcher = Watcher(box, self.password_for, self.wake, self.timeout, self.renew)
                self.watchers[key] = watcher
                watcher.start()

    def stop_all(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()
        self.watchers.clear()
