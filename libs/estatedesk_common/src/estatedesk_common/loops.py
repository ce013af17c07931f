"""The background loop every poller here is: run a pass, and if it did not fill a batch, wait a while.

``step()`` returns True when there may be more work at once (a full batch), False to wait ``interval``
seconds (or until ``wake()``). An exception in a pass is logged and the loop goes on: a database or broker
away is a pause, never the end of the loop (nothing is lost: the work stays in its table).
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class PollingLoop:
    def __init__(self, step, interval: float, name: str, on_exit=None):
        self.step, self.interval, self.name, self.on_exit = step, interval, name, on_exit
        self._wake = threading.Event()
        self._running = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._running = False
        self._wake.set()

    def run(self) -> None:
        self._running = True
        while self._running:
            self._wake.clear()
            try:
                more = self.step()
            except Exception:
                log.exception("%s pass failed", self.name)
                more = False
            if not more:
                self._wake.wait(self.interval)
        if self.on_exit:
            self.on_exit()
