import pytest

from estatedesk_common.envelope import Envelope, EnvelopeError


def test_round_trip_keeps_every_field():
    env = Envelope("complaint_received", "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70", {"a": 1}, request_id="r1")
    again = Envelope.from_dict(env.to_dict(), "complaint_received")
    assert again == env
    assert set(env.to_dict()) == {"event_id", "event_type", "tenant_id", "occurred_at", "schema_version",
                                  "request_id", "payload"}


@pytest.mark.parametrize("mutate, reason", [
    (lambda b: b.pop("tenant_id"), "missing fields: tenant_id"),
    (lambda b: b.update(schema_version=99), "unknown schema_version 99"),
    (lambda b: b.update(payload=[1]), "payload is not an object"),
    (lambda b: b.update(event_id="nope"), "bad event_id"),
    (lambda b: b.update(event_type="other"), "event_type 'other'"),
    (lambda b: b.update(tenant_id=""), "tenant_id is empty"),
])
def test_invalid_envelopes_say_why(mutate, reason):
    body = Envelope("complaint_received", "t1", {}).to_dict()
    mutate(body)
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.from_dict(body, "complaint_received")


def test_non_object_body_is_rejected():
    with pytest.raises(EnvelopeError, match="body is list"):
        Envelope.from_dict([1, 2])
