"""Gateway RPC client: a new standalone proxy per request vs. a pool of started proxies, against a bare Flask
endpoint, measured in the same run on the same broker.

    AMQP_URI=amqp://guest:guest@127.0.0.1:5672/ .venv/bin/python bench/gateway.py [--n 500]

1. bare: a Flask endpoint that returns a small dict, through the WSGI test client (the floor of what the
   gateway's own code costs per request);
2. per-request: the same endpoint making one RPC to an echo service with a fresh ``ClusterRpcProxy``
   (connection + exclusive reply queue declared each time): what ``gateway.rpc.ServiceClient`` does now;
3. pooled: the same RPC through ``gateway.rpc.ProxyPool`` (proxies started once, context data set per call).

Prints requests/s and the ratios to the bare endpoint. Absolute figures depend on the machine; compare ratios.
The echo service runs in this process on a throwaway vhost-free name and is stopped on exit.
"""
from __future__ import annotations

import os
import sys

import eventlet

eventlet.monkey_patch()  # noqa: E402  (nameko needs it before anything else)
# this file is called gateway.py: keep its folder from shadowing the gateway package
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402

from flask import Flask, g  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.rpc import rpc  # noqa: E402

from gateway.rpc import ProxyPool, ServiceClient  # noqa: E402

warnings.filterwarnings("ignore")
SERVICE = f"bench_echo_{uuid.uuid4().hex[:8]}"


class Echo:
    name = SERVICE

    @rpc
    def echo(self, value):
        return {"value": value}


def make_app(mode: str, amqp_uri: str) -> Flask:
    app = Flask(__name__)
    client = ServiceClient(amqp_uri, timeout=10) if mode == "per-request" else ProxyPool(amqp_uri, timeout=10)
    app.extensions["rpc"] = client

    @app.get("/x")
    def endpoint():
        g.request_id = "bench"
        if mode == "bare":
            return {"value": 1}
        return client.call(SERVICE, "echo", 1)

    return app


def rate(app: Flask, n: int) -> float:
    with app.test_client() as http:
        assert http.get("/x").status_code == 200  # warm-up (and the pool's first proxy)
        started = time.perf_counter()
        for _ in range(n):
            assert http.get("/x").status_code == 200
        return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    container = ServiceContainer(Echo, {"AMQP_URI": amqp_uri})
    container.start()
    try:
        figures = {mode: rate(make_app(mode, amqp_uri), args.n) for mode in ("bare", "per-request", "pooled")}
    finally:
        container.stop()
    print(f"n={args.n} broker={amqp_uri.rsplit('@', 1)[-1]}")
    for mode, value in figures.items():
        print(f"{mode:12s} {value:8.0f} req/s   ratio to bare = {value / figures['bare']:.3f}")
    print(f"pooled / per-request = {figures['pooled'] / figures['per-request']:.1f}x")


if __name__ == "__main__":
    main()
