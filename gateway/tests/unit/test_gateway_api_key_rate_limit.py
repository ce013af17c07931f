"""Open311 and CTI are rate limited per API key (not per address): one integration cannot starve another."""
import pytest

from gateway.app import create_app

from conftest import SECRET, FakeRpc


@pytest.fixture
def limited(db_url):
    rpc = FakeRpc()
    rpc.reply("intake", "list_categories", [])
    app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url, "RPC": rpc, "CONFIGURE_LOGGING": False,
                      "API_KEY_RATE_LIMIT": "3 per minute", "TESTING": True})
    return app.test_client()


def test_each_key_has_its_own_budget_and_the_excess_is_429(limited):
    statuses = [limited.get("/open311/v2/services.json", headers={"X-Api-Key": "demo-api-key"}).status_code
                for _ in range(4)]
    assert statuses[:3] != [429] * 3 and statuses[3] == 429
    other = limited.get("/open311/v2/services.json", headers={"X-Api-Key": "other-api-key"})
    assert other.status_code != 429  # another key, same address: its own budget
