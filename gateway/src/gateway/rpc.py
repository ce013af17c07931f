"""The only place the gateway calls services: a standalone nameko RPC client with a timeout on every call.

``ProxyPool`` (used by the app) keeps started proxies and reuses them; ``ServiceClient`` opens one
``ClusterRpcProxy`` (connection + reply queue) per call and is kept as the baseline of ``bench/gateway.py``,
which measured the pool at 6.6x its requests/s. The call context carries the principal decided by ``auth`` (tenant_id, user_id, roles) and
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
    elif g.get("public_tenant_id"):  # owner pages: tenant from the URL's slug, resolved by the gateway; no user
        data.update(tenant_id=g.public_tenant_id)
    return data


def _gather(pending: list, return_exceptions: bool) -> list:
    """Wait for each reply in order; an exception (already failed, or raised by the reply) takes its place
    with ``return_exceptions``, else it is raised."""
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
            return _gather(pending, return_exceptions)


class ProxyPool:
    """Started ``ClusterRpcProxy`` objects reused across requests (measured in ``bench/gateway.py``).

    Each proxy is used by one green thread at a time; its context data and reply timeout are replaced for
    every call. A proxy that saw a timeout or a broker error is stopped and dropped (a late reply would
    otherwise linger in it); a service's own error (``RemoteError``) leaves it healthy.
    """

    def __init__(self, amqp_uri: str, timeout: float, size: int = 8):
        import eventlet.queue

        self.config = {"AMQP_URI": amqp_uri}
        self.timeout = timeout
        self._idle = eventlet.queue.LightQueue()
        self._slots = eventlet.queue.LightQueue()
        for _ in range(size):
            self._slots.put(None)

    def _acquire(self):
        import eventlet.queue

        try:
            return self._idle.get_nowait()
        except eventlet.queue.Empty:
            pass
        self._slots.get()  # blocks while `size` proxies are in use
        try:
            proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            return proxy, proxy.start()
        except Exception:
            self._slots.put(None)
            raise

    def _run(self, timeout, work):
        from nameko.exceptions import RemoteError

        proxy, cluster = self._acquire()
        proxy._worker_ctx.data = call_context()
        proxy._reply_listener.queue_consumer.timeout = self.timeout if timeout is None else timeout
        healthy = False
        try:
            result = work(cluster)
            healthy = True
            return result
        except RemoteError:
            healthy = True
            raise
        finally:
            if healthy:
                self._idle.put((proxy, cluster))
            else:
                self._discard(proxy)

    def _discard(self, proxy):
        try:
            proxy.stop()
        except Exception:  # pragma: no cover - best effort on a broken connection
            pass
        self._slots.put(None)

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        return self._run(timeout, lambda cluster: getattr(cluster[service], method)(*args, **kwargs))

    def call_many(self, calls, timeout: float | None = None, return_exceptions: bool = False) -> list:
        def work(cluster):
            pending = [getattr(cluster[service], method).call_async(*args) for service, method, args in calls]
            return _gather(pending, return_exceptions)
        return self._run(timeout, work)


def client():
    from . import audit  # audit.SNAPSHOTS: the value before an audited settings write

    return audit.client(current_app.extensions["rpc"])
