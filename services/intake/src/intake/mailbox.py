"""IMAP polling for the mailbox channel (stdlib ``imaplib``; no extra dependency for the few commands needed).

Per enabled mailbox and pass: SELECT the folder, compare UIDVALIDITY with the stored one (changed: start over
at UID 0, Message-ID dedupe keeps old mail from repeating), list UIDs above ``last_uid``, check each size,
fetch the source with ``BODY.PEEK[]`` (which does not set \\Seen), hand it to ``mail_intake.ingest`` (one
transaction) and only after that commit STORE ``\\Seen`` plus a keyword: ``$EstateDesk`` (handled) or
``$EstateDeskRejected`` (see ``mail_rejects``).

A message whose processing raises (database away, a bug) stops that mailbox's pass with nothing committed and
nothing flagged, so the next pass retries it; after ``max_attempts`` failures in a row it is rejected with the
error as the reason, so one poison message cannot block a mailbox forever (the count is per process).
The first pass on a new mailbox (no stored UIDVALIDITY) takes every message in the folder, ``batch`` at a time
(polling again at once while there is more); set ``uidvalidity``/``last_uid`` first to skip old mail.
With ``idle`` on (``MAILBOX_IDLE``, default on), ``mail_idle.IdleWatchers`` holds an IMAP IDLE connection per
mailbox that offers it and wakes this loop as soon as mail arrives; the poll every ``MAILBOX_POLL_SECONDS`` stays
as the safety net (and the only way for servers without IDLE).
"""
from __future__ import annotations

import imaplib
import ipaddress
import logging
import re
import ssl
import threading
from dataclasses import dataclass

from prometheus_client import Counter

from estatedesk_common import secrets as stored_secrets

from . import mail_intake
from . import mail_repository as repo
from .domain.mail import MAX_ATTACHMENT_BYTES
from .mail_repository import MailboxConfig

log = logging.getLogger(__name__)

MAIL_MESSAGES = Counter("estatedesk_mail_messages_total", "Mails taken from mailboxes, by outcome", ["outcome"])
MAIL_POLLS = Counter("estatedesk_mail_polls_total", "Mailbox polls", ["outcome"])
HANDLED_FLAGS = r"(\Seen $EstateDesk)"
REJECTED_FLAGS = r"(\Seen $EstateDeskRejected)"


class ImapError(Exception):
    pass


def resolve_password(value: str, environ) -> str:
    """The stored password read (``estatedesk_common.secrets``): ``enc:v1:`` decrypted with
    ``ESTATEDESK_SECRETS_KEY``, ``env:NAME`` from the service's environment, else a legacy plain value."""
    try:
        return stored_secrets.reveal(value, environ, "mailbox password")
    except stored_secrets.SecretError as exc:
        raise ImapError(str(exc)) from None


def needs_starttls(host: str) -> bool:
    """Plain IMAP (``use_ssl`` off) is upgraded with STARTTLS unless the server is on this machine."""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() != "localhost"


class ImapSession:
    """The few IMAP commands the poller needs, by UID."""

    def __init__(self, box: MailboxConfig, password: str, timeout: float = 30.0):
        if box.use_ssl:  # imaplib's own default context does not verify certificates: pass a verifying one
            self.imap = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(),
                                          timeout=timeout)
        else:
            self.imap = imaplib.IMAP4(box.host, box.port, timeout=timeout)
            if needs_starttls(box.host):  # never send a password in clear over a network
                try:
                    self.imap.starttls(ssl_context=ssl.create_default_context())
                except (imaplib.IMAP4.error, ssl.SSLError, OSError) as exc:
                    self.close()
                    raise ImapError(f"STARTTLS to {box.host} failed (plain IMAP is only for loopback): {exc}") from None
        try:
            self._ok(self.imap.login(box.username, password), "LOGIN")
        except imaplib.IMAP4.error as exc:
            self.close()
            raise ImapError(f"login failed for {box.username}: {exc}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.imap.logout()
        except Exception:  # already gone
            pass

    @staticmethod
    def _ok(result, what):
        typ, data = result
        if typ != "OK":
            raise ImapError(f"{what}: {typ} {data!r}")
        return data

    def select(self, folder: str) -> int:
        """SELECT (read-write, to store flags); returns UIDVALIDITY."""
        self._ok(self.imap.select(_quote(folder)), f"SELECT {folder}")
        value = self.imap.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
        return int(value)

    def uids_after(self, last_uid: int) -> list[int]:
        data = self._ok(self.imap.uid("SEARCH", None, f"UID {last_uid + 1}:*"), "UID SEARCH")
        uids = [int(x) for x in b" ".join(d for d in data if d).split()]
        return sorted(u for u in uids if u > last_uid)  # "n:*" always matches the highest UID, even below n

    def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        data = self._ok(self.imap.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)"), "UID FETCH SIZE")
        found = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            m = re.search(rb"UID (\d+)", line or b""), re.search(rb"RFC822\.SIZE (\d+)", line or b"")
            if m[0] and m[1]:
                found[int(m[0].group(1))] = int(m[1].group(1))
        return found

    def fetch(self, uid: int, part: str = "BODY.PEEK[]") -> bytes:
        data = self._ok(self.imap.uid("FETCH", str(uid), f"({part})"), "UID FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        raise ImapError(f"UID {uid} not returned by FETCH")

    def flag(self, uid: int, flags: str) -> None:
        self._ok(self.imap.uid("STORE", str(uid), "+FLAGS.SILENT", flags), "UID STORE")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Limits:
    max_message: int = mail_intake.MAX_MESSAGE_BYTES
    max_attachment: int = MAX_ATTACHMENT_BYTES
    batch: int = 50            # messages per mailbox and pass
    max_attempts: int = 3      # failed passes on one message before it is rejected


class MailPoller:
    """Polls every enabled mailbox; ``poll_once`` is one pass (tests call it directly), ``run`` the loop."""

    def __init__(self, engine, uow_factory, classifiers=None, limits: Limits | None = None, environ=None,
                 interval: float = 30.0, timeout: float = 30.0, session_factory=ImapSession, idle: bool = False):
        self.engine, self.uow_factory, self.classifiers = engine, uow_factory, classifiers
        self.limits, self.environ = limits or Limits(), environ or {}
        self.interval, self.timeout, self.session_factory = interval, timeout, session_factory
        self.failures: dict[tuple[str, str, int, int], int] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop() and by IDLE watchers: new mail, poll now
        self._backlog = False  # a mailbox had more than one batch: poll again at once
        self.watchers = None
        if idle:
            from .mail_idle import IdleWatchers

            self.watchers = IdleWatchers(self.wake, lambda box: resolve_password(box.password, self.environ),
                                         timeout=timeout)

    def wake(self):
        self._wake.set()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self.watchers is not None:
            self.watchers.stop_all()

    def run(self):
        while not self._stop.is_set():
            self._backlog = False
            self._wake.clear()
            try:
                self.poll_once()
            except Exception:  # database away: keep looping; nothing was flagged, the next pass retries
                log.exception("mailbox pass failed")
            if not self._backlog and not self._stop.is_set():
                self._wake.wait(self.interval)

    def poll_once(self) -> list[mail_intake.Outcome]:
        with self.engine.connect() as conn:
            boxes = repo.enabled_mailboxes(conn)
        if self.watchers is not None and not self._stop.is_set():
            self.watchers.sync(boxes)
        outcomes = []
        for box in boxes:
            error = None
            try:
                outcomes += self.poll_mailbox(box)
            except Exception as exc:  # one mailbox down must not stop the others
                error = f"{type(exc).__name__}: {exc}"[:2000]
                self._backlog = False
                log.warning("mailbox %s (tenant %s) poll failed: %s", box.id, box.tenant_id, error)
            MAIL_POLLS.labels("error" if error else "ok").inc()
            with self.uow_factory() as uow:
                repo.set_poll_result(uow.conn, box.tenant_id, box.id, uow.clock.now(), error)
                uow.commit()
        return outcomes

    def poll_mailbox(self, box: MailboxConfig) -> list[mail_intake.Outcome]:
        password = resolve_password(box.password, self.environ)
        with self.session_factory(box, password, self.timeout) as imap:
            uidvalidity = imap.select(box.folder)
            last_uid = box.last_uid
            if box.uidvalidity != uidvalidity:
                if box.uidvalidity is not None:
                    log.warning("mailbox %s: UIDVALIDITY changed %s -> %s, rescanning (Message-ID dedupe)",
                                box.id, box.uidvalidity, uidvalidity)
                with self.uow_factory() as uow:
                    repo.reset_position(uow.conn, box.tenant_id, box.id, uidvalidity)
                    uow.commit()
                last_uid = 0
            uids = imap.uids_after(last_uid)
            if len(uids) > self.limits.batch:
                self._backlog, uids = True, uids[: self.limits.batch]
            sizes = imap.sizes(uids)
            outcomes = []
            for uid in uids:
                outcome = self._one(imap, box, uidvalidity, uid, sizes.get(uid))
                if outcome is None:  # failed before commit: leave it (unseen) for the next pass
                    self._backlog = False
                    break
                MAIL_MESSAGES.labels(outcome.kind).inc()
                imap.flag(uid, REJECTED_FLAGS if outcome.kind == "rejected" else HANDLED_FLAGS)
                outcomes.append(outcome)
            return outcomes

    def _one(self, imap, box, uidvalidity, uid, size) -> mail_intake.Outcome | None:
        if size is not None and size > self.limits.max_message:
            headers = imap.fetch(uid, "BODY.PEEK[HEADER]")
            return mail_intake.reject(box, uidvalidity, uid, f"too large: {size} bytes > {self.limits.max_message}",
                                      self.uow_factory(), size=size, headers=headers)
        key = (box.tenant_id, box.id, uidvalidity, uid)
        raw = imap.fetch(uid)  # an IMAP error here is the mailbox's, not the message's: the pass stops
        try:
            outcome = mail_intake.ingest(box, uidvalidity, uid, raw, self.uow_factory(), self.classifiers,
                                         self.limits.max_attachment)
        except Exception as exc:
            attempts = self.failures.get(key, 0) + 1
            self.failures[key] = attempts
            log.exception("mail uid %s in mailbox %s failed (attempt %d)", uid, box.id, attempts)
            if attempts < self.limits.max_attempts:
                return None
            self.failures.pop(key, None)
            return mail_intake.reject(box, uidvalidity, uid, f"failed {attempts} times: {type(exc).__name__}: {exc}",
                                      self.uow_factory(), raw=raw, size=len(raw))
        self.failures.pop(key, None)
        return outcome
