"""The API description: complete (every /api/v1 route), valid OpenAPI 3.1, served with a local Swagger UI."""
from openapi_spec_validator import validate

from gateway import openapi

UNDESCRIBED = {"/api/v1/openapi.json"}  # the description itself


def _api_routes(app) -> set:
    return {(openapi.openapi_path(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}
            if rule.rule.startswith("/api/v1") and rule.rule not in UNDESCRIBED}


def test_every_api_route_is_described_and_nothing_else(app):
    document = openapi.build()
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert _api_routes(app) - described == set(), "add the operation to gateway/openapi.py OPERATIONS"
    assert described - _api_routes(app) == set(), "OPERATIONS names a route the app does not have"


def test_the_document_is_valid_openapi_and_uses_the_views_schemas():
    document = openapi.build()
    validate(document)
    body = document["paths"]["/api/v1/complaints"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][ref]["required"]) == {"estate", "description", "complainant"}
    params = {p["name"] for p in document["paths"]["/api/v1/reports/kpis"]["get"]["parameters"]}
    assert {"from", "to", "estate"} <= params
    assert document["paths"]["/api/v1/health"]["get"]["security"] == []


def test_served_without_a_token_with_a_local_swagger_ui(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.json["openapi"] == "3.1.0"
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in page.data
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/assets/index.html").status_code == 404
