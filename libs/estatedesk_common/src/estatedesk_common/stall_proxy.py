"""A TCP proxy that makes a real peer slow on command, for the "slow peer" tests (SMTP, Kannel, IMAP).

It listens on a free loopback port and forwards every connection to ``upstream`` byte for byte until told to:
- ``hold()``: from now on nothing is forwarded, either way. A new connection is accepted and never answered (an
  SMTP server that never greets); data a live connection sends stays with the proxy (a request Kannel never
  sees, so nothing is half-done upstream);
- ``hold_replies_after(trigger, keep=0)``: a connection whose client sends ``trigger`` (case-insensitive; e.g.
  ``b"UID FETCH"``, ``b"RCPT TO"``) gets at most ``keep`` more bytes of the upstream's answer, then silence (an
  IMAP server that stalls mid-FETCH): the command reached the upstream, its answer did not come back;
- ``delay_replies(seconds)``: every chunk of the upstream's answer waits ``seconds`` (a slow but living peer);
- ``resume()``: forward normally again; every connection held so far is closed (its client has given up).

No mocks: the client and the upstream are the real programs; only the wire between them is slowed.
Plain threads and blocking sockets, so it also runs under eventlet's monkey patching (nameko's test plugin).
"""
from __future__ import annotations

import socket
import threading
import time

CHUNK = 65536
GONE = (OSError, EOFError)  # EOFError: eventlet's green socket closed under a blocked recv


class StallProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._mode, self._trigger, self._keep, self._delay = "pass", b"", 0, 0.0
        self._release = threading.Event()
        self._held: list[socket.socket] = []
        self.connections = 0  # accepted so far
        self.stalled = 0      # connections that met a hold
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._running = False

    def start(self) -> "StallProxy":
        self._listener.listen(64)
        self._running = True
        threading.Thread(target=self._accept, name=f"stall-proxy-{self.port}", daemon=True).start()
        return self

    def stop(self) -> None:
        self._running = False
        self.resume()
        try:
            self._listener.close()
        except OSError:
            pass

    def hold(self) -> None:
        with self._lock:
            self._mode = "hold"

    def hold_replies_after(self, trigger: bytes, keep: int = 0) -> None:
        with self._lock:
            self._mode, self._trigger, self._keep = "trigger", trigger.lower(), keep

    def delay_replies(self, seconds: float) -> None:
        with self._lock:
            self._delay = seconds

    def resume(self) -> None:
        with self._lock:
            self._mode, self._trigger, self._keep, self._delay = "pass", b"", 0, 0.0
            release, self._release = self._release, threading.Event()
            held, self._held = self._held, []
        release.set()
        for sock in held:
            _shutdown(sock)

    # --- internals -------------------------------------------------------------------------------------------
    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _freeze(self, *socks) -> None:
        """Forward nothing more on this connection; shut it down at ``resume()``/``stop()``."""
        with self._lock:
            self.stalled += 1
            release = self._release
            self._held.extend(socks)
        release.wait()
        for sock in socks:
            _shutdown(sock)

    def _serve(self, client: socket.socket) -> None:
        """Sockets are shut down by whichever side ends first (that wakes the other pump's recv) and closed only
        here, once no thread reads them: under eventlet a closed descriptor with a reader still waiting on it
        breaks whoever gets the descriptor number next."""
        if self._mode == "hold":
            self._freeze(client)
            client.close()
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        state = {"triggered": False, "left": 0}
        pump = threading.Thread(target=self._client_to_upstream, args=(client, upstream, state), daemon=True)
        pump.start()
        self._upstream_to_client(client, upstream, state)
        pump.join()
        client.close()
        upstream.close()

    def _client_to_upstream(self, client, upstream, state) -> None:
        while True:
            data = _recv(client)
            if not data:
                _shutdown(upstream)
                return
            if self._mode == "hold":
                self._freeze(client, upstream)
                return
            if self._mode == "trigger" and self._trigger in data.lower() and not state["triggered"]:
                state["left"], state["triggered"] = self._keep, True
            try:
                upstream.sendall(data)
            except GONE:
                _shutdown(client)
                return

    def _upstream_to_client(self, client, upstream, state) -> None:
        while True:
            data = _recv(upstream)
            if not data:
                _shutdown(client)
                return
            if self._delay:
                time.sleep(self._delay)
            if state["triggered"]:
                data, state["left"] = data[: state["left"]], max(0, state["left"] - len(data))
            try:
                if data:
                    client.sendall(data)
            except GONE:
                _shutdown(upstream)
                return
            if state["triggered"] and state["left"] == 0:
                self._freeze(client, upstream)
                return


def _recv(sock) -> bytes:
    try:
        return sock.recv(CHUNK)
    except GONE:
        return b""


def _shutdown(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except GONE:
        pass
