"""Property-based fuzzing of every API route of the real gateway app (issue 9, Security 1, until the OpenAPI
spec exists: then schemathesis over ``/api/v1/openapi.json`` replaces this; see docs/security.md).

Random JSON to every POST route and random query strings to every GET route, with a valid token (a group
admin, so role checks let the input through to validation); services are a fake that answers like an empty
tenant. The property: the gateway never answers 5xx and always answers its JSON error shape on 4xx.
"""
from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings, strategies as st

from estatedesk_common.demo import DEMO_PASSWORD

from .conftest import FakeRpc, make_app

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25)
# bodies that look like ours: the real field names with random values, so validation goes deeper than "unknown"
FIELDS = ["estate", "channel", "description", "complainant", "category", "severity", "urgent", "text", "policy",
          "received_at", "action", "note", "assignee", "cause", "remedy", "loss_amount", "reason", "username",
          "password", "name", "phone", "email", "unit", "outcome", "valid", "attempts", "answers", "score"]
shaped = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)
bodies = st.one_of(json_values, shaped)
query_values = st.text(max_size=30) | st.sampled_from(["' OR 1=1--", "-1", "0", "99999999999999999999", "2026-13-45",
                                                       "DEMO-RES", "OTHER-RES", "\x00", "1e9", "csv"])
QUERY_KEYS = ["estate", "status", "channel", "limit", "offset", "from", "to", "metric", "category", "sort", "region",
              "report", "at", "page", "overdue", "q"]
queries = st.dictionaries(st.sampled_from(QUERY_KEYS) | st.text(max_size=8), query_values, max_size=6)
path_values = st.sampled_from([str(uuid.uuid4()), "not-a-uuid", "0", "csv", "xlsx", "demo", "contact", "%00",
                               "a" * 300]) | st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                                           blacklist_characters="/?#%"),
                                                   min_size=1, max_size=20)


def _api_rules(app):
    return sorted({(rule.rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


def _path(rule: str, draw) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: draw(path_values), rule)


def _check(response):
    assert response.status_code < 500, (response.status_code, response.get_data()[:500])
    if response.status_code >= 400 and response.is_json:
        body = response.get_json()
        assert set(body) == {"error", "message", "details"}, body


def test_fuzz_every_api_route(seeded_db, tmp_path):
    rpc = FakeRpc()
    for service in ("intake", "workflow", "notify", "reporting"):  # healthy services: /health must answer 200
        rpc.replies[(service, "health")] = {"status": "ok", "service": service}
    app = make_app(seeded_db, tmp_path, rpc)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "admin@demo", "password": DEMO_PASSWORD})
    headers = {"Authorization": "Bearer " + token.get_json()["access_token"]}
    rules = _api_rules(app)
    assert rules

    @SETTINGS
    @given(data=st.data())
    def fuzz(data):
        rule, method = data.draw(st.sampled_from(rules))
        path = _path(rule, data.draw)
        if method == "GET":
            r = client.get(path, query_string=data.draw(queries), headers=headers)
        else:
            extra = {"If-Match": data.draw(st.sampled_from(['"1"', "*", "", '"x"', 'W/"3"']))}
            r = client.open(path, method=method, json=data.draw(bodies), headers=headers | extra)
        _check(r)

    fuzz()
    app.extensions["db"].dispose()


def test_fuzz_each_post_route_with_random_json(seeded_db, tmp_path):
    """Every POST route gets its own examples (the mixed test above may favour some)."""
    rpc = FakeRpc()
    for service in ("intake", "workflow", "notify", "reporting"):  # healthy services: /health must answer 200
        rpc.replies[(service, "health")] = {"status": "ok", "service": service}
    app = make_app(seeded_db, tmp_path, rpc)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "admin@demo", "password": DEMO_PASSWORD})
    headers = {"Authorization": "Bearer " + token.get_json()["access_token"], "If-Match": '"1"'}
    for rule, method in _api_rules(app):
        if method != "POST":
            continue

        @settings(max_examples=25, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
        @given(body=bodies, data=st.data())
        def fuzz(body, data):
            _check(client.post(_path(rule, data.draw), json=body, headers=headers))

        fuzz()
    app.extensions["db"].dispose()
