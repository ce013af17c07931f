"""The gateway's pooled RPC client on a real broker: context per call, errors, timeouts."""
import uuid

import pytest
from flask import Flask, g
from nameko.exceptions import RemoteError, RpcTimeout
from nameko.rpc import rpc

from estatedesk_common.errors import NotFound
from estatedesk_common.tenant import Tenant
from gateway.accounts import Principal
from gateway.rpc import ProxyPool

pytestmark = pytest.mark.integration


class Echo:
    name = "gateway_pool_echo"
    tenant = Tenant()

    @rpc
    def whoami(self):
        return self.tenant.id

    @rpc(expected_exceptions=NotFound)
    def missing(self):
        raise NotFound("nothing here", code="thing_not_found")

    @rpc
    def slow(self):
        import eventlet
        eventlet.sleep(2)
        return "late"


@pytest.fixture
def pool(container_factory, rabbit_config):
    container_factory(Echo, rabbit_config).start()
    return ProxyPool(rabbit_config["AMQP_URI"], timeout=5, size=2)


def as_tenant(tenant_id):
    g.principal = Principal(tenant_id=tenant_id, user_id="u", roles=())
    g.request_id = "r"


def test_each_call_carries_its_own_tenant_even_on_a_reused_proxy(pool):
    app = Flask(__name__)
    tenants = [str(uuid.uuid4()) for _ in range(4)]
    for tenant in tenants:
        with app.app_context():
            as_tenant(tenant)
            assert pool.call("gateway_pool_echo", "whoami") == tenant
    assert pool._idle.qsize() == 1  # one proxy served all four calls


def test_service_errors_keep_the_proxy_and_timeouts_drop_it(pool):
    app = Flask(__name__)
    with app.app_context():
        as_tenant(str(uuid.uuid4()))
        with pytest.raises(RemoteError, match="thing_not_found"):
            pool.call("gateway_pool_echo", "missing")
        assert pool._idle.qsize() == 1
        with pytest.raises(RpcTimeout):
            pool.call("gateway_pool_echo", "slow", timeout=0.5)
        assert pool._idle.qsize() == 0  # the proxy that timed out (the only one) was dropped...
        assert pool.call("gateway_pool_echo", "whoami") == g.principal.tenant_id  # ...and a fresh one serves
        results = pool.call_many([("gateway_pool_echo", "whoami", ()), ("gateway_pool_echo", "missing", ())],
                                 return_exceptions=True)
        assert results[0] == g.principal.tenant_id and isinstance(results[1], RemoteError)
