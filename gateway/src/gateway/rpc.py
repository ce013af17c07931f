"""The only place the gateway calls services: a standalone nameko RPC client with a timeout on every call.

One ``ClusterRpcProxy`` (one broker connection and reply queue) per ``call``/``call_many``, which is fine
until measured. The call context carries the principal decided by ``auth`` (tenant_id, user_id, roles) and
the request id. ``call_many`` publishes every request before waiting for any reply (``call_async``), so the
calls run concurrently on the services without sharing a connection between green threads. The timeout
applies to each wait for a reply: with several silent services the worst case is one timeout per call.

``create_app`` stores the client as ``app.extensions["rpc"]``; unit tests put a fake with the same
``call``/``call_many`` there.
"""
from __future__ import annotations

from flask import current_app, g
from nameko.standalone.rpc import ClusterRpcProxy


def call_context() -> dict:
    """nameko context data for the current request: who is calling, and the request id."""
    principal = g.get("principal")
    data = {"request_id": g.get("request_id")}
    if principal is not None:
        data.update(tenant_id=principal.tenant_id, user_id=principal.user_id,
                    roles=[[role, estate] for role, estate in principal.roles])
    return data


class ServiceClient:
    def __init__(self, amqp_uri: str, timeout: float):
        self.config = {"AMQP_URI": amqp_uri}
        self.timeout = timeout

    def _proxy(self, timeout):
        return ClusterRpcProxy(self.config, context_data=call_context(),
                               timeout=self.timeout if timeout is None else timeout)

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        with self._proxy(timeout) as proxy:
            return getattr(proxy[service], method)(*args, **kwargs)

    def call_many(self, calls, timeout: float | None = None, return_exceptions: bool = False) -> list:
        """Results of ``[(service, method, args), ...]`` in order; with ``return_exceptions`` a failed call's
        exception takes its place instead of being raised."""
        with self._proxy(timeout) as proxy:
            pending = []
            for service, method, args in calls:
                try:
                    pending.append(getattr(proxy[service], method).call_async(*args))
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    pending.append(exc)
            results = []
            for reply in pending:
                if isinstance(reply, Exception):
                    results.append(reply)
                    continue
                try:
                    results.append(reply.result())
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    results.append(exc)
            return results


def client():
    return current_app.extensions["rpc"]
