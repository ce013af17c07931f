"""Real answers of the app match what ``/api/v1/openapi.json`` declares for them (schemathesis' own response
checks, in-process: status code documented, content type, body schema), for 2xx bodies and for the errors every
operation of a kind can give (``openapi.COMMON_ERRORS``). The e2e run (tests/e2e/test_api_schemathesis.py) applies
the same checks to generated requests against the running system."""
import uuid

import pytest
import schemathesis
from nameko.exceptions import RpcTimeout
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from estatedesk_common.demo import DEMO_ESTATES
from gateway import openapi

from test_gateway_complaints import _complaint, registered, valid_complaint


@pytest.fixture(scope="module")
def document():
    return schemathesis.openapi.from_dict(openapi.build())


CHECKS = (status_code_conformance, content_type_conformance, response_schema_conformance)


def _conforms(document, path, method, response, **path_parameters):
    """The e2e run's response checks on one real answer; raises naming each violation."""
    case = document[path][method.upper()].Case(path_parameters=path_parameters)
    case.validate_response(response, checks=CHECKS)
    return response


def test_2xx_bodies_match_their_declared_schemas(client, auth_headers, fake_rpc, document):
    fake_rpc.reply("intake", "list_estates", [{k: e[k] for k in ("code", "name", "kind", "timezone", "region")}
                                              for e in DEMO_ESTATES])
    fake_rpc.reply("intake", "register_complaint", registered)
    fake_rpc.reply("intake", "get_complaint", _complaint)
    fake_rpc.reply("workflow", "get_case", {"status": "in_progress", "deadlines": [], "timeline": []})
    fake_rpc.reply("notify", "get_timeline", [])
    estates = client.get("/api/v1/estates", headers=auth_headers)
    assert estates.status_code == 200 and isinstance(_conforms(document, "/api/v1/estates", "get", estates).json, list)
    created = client.post("/api/v1/complaints", json=valid_complaint(), headers=auth_headers)
    assert created.status_code == 201
    _conforms(document, "/api/v1/complaints", "post", created)
    complaint_id = str(uuid.uuid4())
    got = client.get(f"/api/v1/complaints/{complaint_id}", headers=auth_headers)
    assert got.status_code == 200
    _conforms(document, "/api/v1/complaints/{complaint_id}", "get", got, complaint_id=complaint_id)


def test_the_errors_any_operation_can_give_are_declared_and_shaped(client, auth_headers, fake_rpc, document):
    answers = [
        ("/api/v1/complaints", "post", client.post("/api/v1/complaints", data="x", headers=auth_headers), 415),
        ("/api/v1/complaints", "post", client.post("/api/v1/complaints", data="{", headers=auth_headers,
                                                   content_type="application/json"), 400),
        ("/api/v1/complaints", "get", client.get("/api/v1/complaints?estate=%00", headers=auth_headers), 400),
        ("/api/v1/estates", "get", client.get("/api/v1/estates"), 401),
    ]
    fake_rpc.reply("intake", "list_estates", RpcTimeout(5))
    answers.append(("/api/v1/estates", "get", client.get("/api/v1/estates", headers=auth_headers), 503))
    for path, method, response, status in answers:
        assert response.status_code == status, (path, response.json)
        _conforms(document, path, method, response)


def test_an_undeclared_answer_is_caught(client, auth_headers, fake_rpc, document):
    """The checks can fail: a list where an object is declared, a status the operation does not declare."""
    fake_rpc.reply("intake", "list_estates", [{"code": "DEMO-RES"}])  # no name: EstateView requires it
    with pytest.raises((Failure, FailureGroup)):
        _conforms(document, "/api/v1/estates", "get", client.get("/api/v1/estates", headers=auth_headers))
    teapot = client.get("/api/v1/estates", headers=auth_headers)
    teapot.status_code = 418
    with pytest.raises((Failure, FailureGroup)):
        _conforms(document, "/api/v1/estates", "get", teapot)


def test_every_operation_declares_the_common_errors_of_its_kind():
    for path, operations in openapi.build()["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert "400" in declared, (path, method)
            if path != "/api/v1/":
                assert "503" in declared, (path, method)
            if operation["security"]:
                assert "401" in declared, (path, method)
            if method in ("post", "put", "patch"):
                assert {"413", "415"} <= declared, (path, method)
