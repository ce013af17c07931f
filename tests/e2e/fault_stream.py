"""The client side of the fault run (tests/e2e/test_zz_fault_run.py): a stream of complaints sent as a real
client sends them, from a background thread, while the faults are injected.

- Web complaints go through ``POST /api/v1/complaints`` with a client-chosen ``external_id``: a request that
  failed with a 5xx, a 429 or a connection error / timeout is sent again, unchanged, after ``Retry-After`` (or a
  short backoff), so a retry after a lost answer is answered with the first complaint (200, ``duplicate``)
  instead of a second one. 2xx = accepted; any other 4xx is recorded as refused (a bug in a fault run).
- Every ``mail_every``-th complaint is a mail put into the demo IMAP mailbox (``complaints@demo``) with its own
  Message-ID and sender: accepted once the IMAP server took it.
- ``gates``: index -> Event. Before sending complaint ``index`` the stream waits for the event, which the
  fault driver sets once it has injected the next fault, so every fault hits a stream still running.
"""
from __future__ import annotations

import imaplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import requests

RETRYABLE = {429, 500, 502, 503, 504}
TEXTS = ("电梯停运，老人上下楼很困难", "楼道灯坏了一周没人修", "地下车库漏水积水严重", "垃圾站异味很大，夏天更明显",
         "夜间装修噪音扰民", "小区门禁经常失灵", "绿化带长期无人修剪", "消防通道被车辆占用")


@dataclass
class Submission:
    index: int
    kind: str  # web | email
    key: str  # external_id (web) or Message-ID (email)
    phone: str = ""
    email: str = ""
    status: int | None = None  # the final HTTP status (web); 250 for an IMAP APPEND that succeeded
    accepted: bool = False
    duplicate_answer: bool = False  # a 2xx saying "the same complaint again" (a retry after a lost answer)
    complaint_id: str | None = None
    reference: str | None = None
    attempts: int = 0
    failures: list = field(default_factory=list)  # what each failed attempt got: status code or error name
    error: str | None = None


class Stream:
    def __init__(self, system, total: int, run_id: str, headers: dict, mail_every: int = 10,
                 gates: dict | None = None, give_up_after: float = 240.0):
        self.system, self.total, self.run_id, self.headers = system, total, run_id, headers
        self.mail_every, self.gates, self.give_up_after = mail_every, gates or {}, give_up_after
        self.submissions: list[Submission] = []
        self.thread = threading.Thread(target=self._run, name="fault-stream", daemon=True)
        self.started_at = self.finished_at = None
        self.crash: BaseException | None = None
        self.attempts = 0  # every request / APPEND tried so far (the fault driver watches it)

    # --- running -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"the complaint stream did not finish within {timeout}s "
                                 f"({len(self.submissions)}/{self.total} sent)")
        if self.crash is not None:
            raise AssertionError(f"the complaint stream crashed: {self.crash!r}") from self.crash

    @property
    def sent(self) -> int:
        return len(self.submissions)

    def _run(self) -> None:
        try:
            for index in range(self.total):
                gate = self.gates.get(index)
                if gate is not None:
                    gate.wait()
                is_mail = self.mail_every and index % self.mail_every == self.mail_every - 1
                self.submissions.append(self._mail(index) if is_mail else self._web(index))
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.crash = exc
        finally:
            self.finished_at = time.monotonic()

    # --- one web complaint ----------------------------------------------------------------------------------
    def phone(self, index: int) -> str:
        return f"139{(int(self.run_id, 16) * 100_000 + index) % 10**8:08d}"

    def _web(self, index: int) -> Submission:
        sub = Submission(index, "web", f"fault-{self.run_id}-{index}", phone=self.phone(index),
                         email=f"owner{index}@fault.example.com")
        body = {"estate": "DEMO-RES", "channel": "web", "external_id": sub.key,
                "description": f"故障演练 {self.run_id}-{index}：{TEXTS[index % len(TEXTS)]}",
                "complainant": {"name": "演练业主", "phone": sub.phone, "email": sub.email,
                                "unit": f"{index % 30 + 1}栋{index % 6 + 1}01"}}
        deadline, pause = time.monotonic() + self.give_up_after, 0.5
        while True:
            sub.attempts += 1
            self.attempts += 1
            wait = pause
            try:
                r = requests.post(f"{self.system.api}/complaints", json=body, headers=self.headers, timeout=30)
            except requests.RequestException as exc:  # refused while the gateway is down, reset, timed out
                sub.failures.append(type(exc).__name__)
            else:
                sub.status = r.status_code
                if 200 <= r.status_code < 300:
                    data = r.json()
                    sub.accepted, sub.duplicate_answer = True, bool(data.get("duplicate"))
                    sub.complaint_id, sub.reference = data["id"], data["reference"]
                    return sub
                if r.status_code not in RETRYABLE:
                    sub.error = r.text[:500]
                    return sub
                sub.failures.append(r.status_code)
                wait = _retry_after(r, pause)
            if time.monotonic() + wait > deadline:
                sub.error = f"gave up after {sub.attempts} attempts: {sub.failures[-3:]}"
                return sub
            time.sleep(wait)
            pause = min(pause * 2, 5.0)

    # --- one mail into the demo mailbox ----------------------------------------------------------------------
    def _mail(self, index: int) -> Submission:
        sub = Submission(index, "email", make_msgid(f"fault-{self.run_id}-{index}", "fault.example.com"),
                         email=f"owner{index}@fault.example.com")
        message = EmailMessage()
        message["From"] = f"演练业主 <{sub.email}>"
        message["To"] = self.system.env.get("IMAP_DEMO_USER", "complaints@demo")
        message["Subject"] = f"[DEMO-RES] 故障演练 {self.run_id}-{index}"
        message["Message-ID"] = sub.key
        message.set_content(f"{TEXTS[index % len(TEXTS)]}（邮件 {self.run_id}-{index}）")
        deadline, pause = time.monotonic() + self.give_up_after, 0.5
        while True:
            sub.attempts += 1
            self.attempts += 1
            try:
                with Mailbox(self.system.env) as box:
                    box.append("INBOX", None, None, message.as_bytes())
                sub.status, sub.accepted = 250, True
                return sub
            except (OSError, imaplib.IMAP4.error) as exc:
                sub.failures.append(type(exc).__name__)
            if time.monotonic() + pause > deadline:
                sub.error = f"IMAP append failed {sub.attempts} times: {sub.failures[-3:]}"
                return sub
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _retry_after(response, default: float) -> float:
    try:
        return max(0.2, min(float(response.headers.get("Retry-After", default)), 10.0))
    except ValueError:
        return default


class Mailbox:
    """The demo mailbox as its user sees it (the Dovecot run.sh started)."""

    def __init__(self, env: dict):
        self.env = env

    def __enter__(self) -> imaplib.IMAP4:
        self.imap = imaplib.IMAP4(self.env.get("IMAP_HOST", "127.0.0.1"), int(self.env.get("IMAP_PORT", 10143)),
                                  timeout=20)
        self.imap.login(self.env.get("IMAP_DEMO_USER", "complaints@demo"),
                        self.env.get("IMAP_DEMO_PASSWORD", "demo-mail-password"))
        return self.imap

    def __exit__(self, *exc) -> None:
        try:
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def delete_run_mail(env: dict, run_id: str = "") -> int:
    """Remove this run's mails (all fault runs' with ``run_id=""``, e.g. an aborted one's) from the demo mailbox:
    the next run's fresh database would take them again."""
    with Mailbox(env) as box:
        box.select("INBOX")
        _, found = box.uid("SEARCH", None, "HEADER", "Message-ID", f"fault-{run_id}-" if run_id else "fault-")
        uids = found[0].split() if found and found[0] else []
        for uid in uids:
            box.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
        box.expunge()
    return len(uids)
