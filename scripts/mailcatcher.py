#!/usr/bin/env python3
"""Tiny development SMTP sink (used by `make run` only; tests start their own).

Listens on $SMTP_HOST:$SMTP_PORT, stores every message as
$ESTATEDESK_VAR/mail/<timestamp>-<n>.eml and prints one line per message.
Stops on SIGINT/SIGTERM.
"""
import datetime
import itertools
import os
import signal
import sys
import threading
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder: Path):
        self.folder = folder
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{n}.eml"
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        subject = message_from_bytes(data, policy=policy.default).get("Subject", "")
        print(
            f"mail #{n} from={envelope.mail_from} to={','.join(envelope.rcpt_tos)} "
            f"subject={subject!r} -> {path}",
            flush=True,
        )
        return "250 Message accepted for delivery"


def main() -> int:
    host = os.environ.get("SMTP_HOST", "127.0.0.1")
    port = int(os.environ.get("SMTP_PORT", "1025"))
    var = Path(os.environ.get("ESTATEDESK_VAR", "var")).resolve()
    folder = var / "mail"
    folder.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    controller = Controller(SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    print(f"mailcatcher listening on {host}:{port}, saving to {folder}", flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        controller.stop()
        print("mailcatcher stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
