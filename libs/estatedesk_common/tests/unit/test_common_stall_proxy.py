"""``StallProxy`` (the slow-peer tests' tool) forwards, holds and withholds as told, over real loopback sockets."""
import socket
import threading

import pytest

from estatedesk_common.stall_proxy import StallProxy


@pytest.fixture
def echo():
    """A line server: answers each line with ``ok <line>``."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn):
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                conn.sendall(b"ok " + line)

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def proxy(echo):
    proxy = StallProxy(echo).start()
    yield proxy
    proxy.stop()


def _ask(port, line=b"ping\n", timeout=0.5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(line)
        return conn.recv(100)


def test_forwards_holds_and_resumes(proxy):
    assert _ask(proxy.port) == b"ok ping\n"
    proxy.hold()
    with pytest.raises(TimeoutError):
        _ask(proxy.port)
    assert proxy.stalled == 1
    proxy.resume()
    assert _ask(proxy.port) == b"ok ping\n"


def test_withholds_the_answer_after_the_trigger_keeping_some_bytes(proxy):
    proxy.hold_replies_after(b"FETCH", keep=3)
    assert _ask(proxy.port, b"other\n") == b"ok other\n"  # before the trigger: untouched
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5) as conn:
        conn.sendall(b"uid fetch 1\n")
        assert conn.recv(100) == b"ok "  # 3 bytes, then silence
        with pytest.raises(TimeoutError):
            conn.recv(100)
