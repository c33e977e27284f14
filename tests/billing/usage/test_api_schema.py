"""The OpenAPI schema documents every status each operation answers, with its body and its limits."""

import gzip
import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import StaffRole
from billing.usage.api import MAX_BATCH_BYTES, MAX_LITELLM_BYTES
from catalog.api import MAX_QUOTE_BYTES
from tests.billing.usage.factories import event, source_make
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/api/v1/gateway/status"): {"200", "400", "401", "403", "404", "406"},
    ("post", "/api/v1/usage/batches"): {"200", "400", "401", "403", "406", "409", "413", "415"},
    ("post", "/api/v1/usage/litellm"): {"200", "400", "401", "403", "406", "409", "413", "415"},
    ("post", "/api/v1/quotes"): {"200", "400", "403", "404", "406", "409", "413", "415"},
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def responses(schema, method, path) -> dict:
    return schema["paths"][path][method]["responses"]


def test_every_operation_documents_its_statuses_each_with_a_json_body(schema):
    for (method, path), statuses in OPERATIONS.items():
        documented = responses(schema, method, path)
        assert set(documented) == statuses, (method, path)
        for status, response in documented.items():
            assert "application/json" in response.get("content", {}), (method, path, status)


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("post", "/api/v1/usage/batches", MAX_BATCH_BYTES),
        ("post", "/api/v1/usage/litellm", MAX_LITELLM_BYTES),
        ("post", "/api/v1/quotes", MAX_QUOTE_BYTES),
    ],
)
def test_the_limits_are_stated_and_the_413_body_carries_them(schema, method, path, limit):
    operation = schema["paths"][path][method]
    body = operation["responses"]["413"]["content"]["application/json"]["schema"]

    assert str(limit) in operation["description"]
    assert str(limit) in operation["responses"]["413"]["description"]
    assert body == {"$ref": "#/components/schemas/BodyTooLarge"}
    assert "limit_bytes" in schema["components"]["schemas"]["BodyTooLarge"]["required"]


def test_the_body_of_each_usage_endpoint_is_required(schema):
    for path in ("/api/v1/usage/batches", "/api/v1/usage/litellm"):
        assert schema["paths"][path]["post"]["requestBody"]["required"] is True


def _with_token(client: APIClient, token: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _json(client, path, body, **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def test_what_the_api_answers_is_documented(schema, prepaid):
    """Provoke the statuses each operation answers: every one is in the schema, every body is JSON."""
    _, token = source_make(name="edge")
    gateway = _with_token(APIClient(), token)
    anonymous = APIClient()
    auditor = _with_token(APIClient(), token)  # a signed-in auditor's session sent along with the token
    auditor.force_login(StaffFactory(staff_role=StaffRole.AUDITOR))
    staff = APIClient()
    staff.force_login(StaffFactory(staff_role=StaffRole.SALES))
    batch = json.dumps([event("r1")]).encode()
    bomb = gzip.compress(b" " * (MAX_BATCH_BYTES + 1))
    quote = json.dumps({"plan": "standard-CNY", "model": "deepseek-chat"})
    answered = {
        ("get", "/api/v1/gateway/status"): [
            gateway.get("/api/v1/gateway/status", {"key": "key-a"}),
            gateway.get("/api/v1/gateway/status?key=%00"),
            anonymous.get("/api/v1/gateway/status", {"key": "key-a"}),
            gateway.get("/api/v1/gateway/status", {"key": "nobody"}),
            gateway.get("/api/v1/gateway/status", {"key": "key-a"}, HTTP_ACCEPT="text/html"),
        ],
        ("post", "/api/v1/usage/batches"): [
            _json(gateway, "/api/v1/usage/batches", batch, HTTP_IDEMPOTENCY_KEY="k1"),
            _json(gateway, "/api/v1/usage/batches", b"not json"),
            _json(anonymous, "/api/v1/usage/batches", batch),
            _json(auditor, "/api/v1/usage/batches", batch),
            _json(gateway, "/api/v1/usage/batches", b"[]", HTTP_IDEMPOTENCY_KEY="k1"),
            _json(gateway, "/api/v1/usage/batches", bomb, HTTP_CONTENT_ENCODING="gzip"),
            _json(gateway, "/api/v1/usage/batches", batch, HTTP_CONTENT_ENCODING="br"),
            _json(gateway, "/api/v1/usage/batches", batch, HTTP_ACCEPT="text/html"),
        ],
        ("post", "/api/v1/quotes"): [
            _json(staff, "/api/v1/quotes", quote),
            _json(staff, "/api/v1/quotes", b"{"),
            _json(anonymous, "/api/v1/quotes", quote),
            _json(staff, "/api/v1/quotes", json.dumps({"plan": "standard-CNY", "model": "nope"})),
            _json(staff, "/api/v1/quotes", b" " * (MAX_QUOTE_BYTES + 1)),
            staff.post("/api/v1/quotes", "model=x", content_type="application/x-www-form-urlencoded"),
        ],
    }

    for (method, path), answers in answered.items():
        statuses = {str(answer.status_code) for answer in answers}
        assert statuses <= set(responses(schema, method, path)), (path, statuses)
        assert all(answer["Content-Type"] == "application/json" for answer in answers), path
    assert {str(a.status_code) for a in answered[("post", "/api/v1/usage/batches")]} == OPERATIONS[
        ("post", "/api/v1/usage/batches")
    ]
