"""Factories shared by notify's unit and integration tests."""
import datetime as dt
import uuid

import pytest


class FakeClock:
    def __init__(self, now=None):
        self.now_value = now or dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)

    def now(self):
        return self.now_value

    def advance(self, **kwargs):
        self.now_value += dt.timedelta(**kwargs)


@pytest.fixture
def make_case_opened():
    """``make_case_opened(**overrides)`` -> a ``case_opened`` v1 payload with random ids."""

    def make(**overrides):
        received = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)
        payload = {
            "case_id": str(uuid.uuid4()), "complaint_id": str(uuid.uuid4()),
            "reference": f"TS20261124-{uuid.uuid4().hex[:6].upper()}",
            "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                       "region": "EAST"},
            "channel": "web", "description": "3号电梯停运两天了，老人上下楼很困难。",
            "complainant": {"name": "张三", "phone": "13800138000", "email": "zhang@example.com", "unit": "1栋101"},
            "category": "facilities", "severity": "normal",
            "opened_at": received.isoformat(), "received_at": received.isoformat(),
            "deadlines": [{"stage": "first_contact", "due_at": (received + dt.timedelta(hours=1)).isoformat()}],
        }
        for key, value in overrides.items():
            if key in ("estate", "complainant") and isinstance(value, dict):
                payload[key] = payload[key] | value
            else:
                payload[key] = value
        return payload

    return make


@pytest.fixture
def fake_clock():
    return FakeClock()
