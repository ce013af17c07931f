"""``python -m gateway serve``: the API on an eventlet WSGI server at GATEWAY_HOST:GATEWAY_PORT.

eventlet patches the standard library before anything else is imported, so the broker client, the
database driver and the server all cooperate. SIGINT and SIGTERM stop accepting, then exit 0.
"""
import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402

log = logging.getLogger("gateway")


def _stop(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def serve() -> int:
    from .app import create_app

    host = os.environ.get("GATEWAY_HOST") or "127.0.0.1"
    port = int(os.environ.get("GATEWAY_PORT") or 8000)
    try:
        app = create_app()
    except RuntimeError as exc:  # missing configuration: say so without a traceback
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    sock = eventlet.listen((host, port))
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("gateway listening on http://%s:%s", host, port)
    try:
        eventlet.wsgi.server(sock, app, log=logging.getLogger("gateway.access"), log_output=True,
                             socket_timeout=60)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        app.extensions["db"].dispose()
        log.info("gateway stopped")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    parser.add_argument("command", choices=["serve"])
    parser.parse_args(argv)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
