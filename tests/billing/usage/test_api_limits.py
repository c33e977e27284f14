"""The usage API takes what it promises, gzip included; beyond each endpoint's limit a 413 says the limit.

Django's own DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) stays the limit of everything else.
"""

import gzip
import json

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from billing.usage.api import MAX_BATCH_BYTES, MAX_LITELLM_BYTES
from billing.usage.models import UsageBatch, UsageEvent
from billing.usage.services import MAX_BATCH_EVENTS
from tests.billing.usage.factories import AT, event, source_make

pytestmark = pytest.mark.django_db

BATCHES = "/api/v1/usage/batches"
LITELLM = "/api/v1/usage/litellm"
DJANGO_DEFAULT = 2_621_440


@pytest.fixture
def client():
    _, token = source_make(name="edge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def post(client, path, body: bytes, **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def full_event(i: int) -> dict:
    """A canonical event with every field a gateway fills in and some metadata: ~700 bytes of JSON."""
    return event(
        f"chatcmpl-{i:032x}",
        model="deepseek-chat",
        prompt=123_456,
        completion=4_567,
        upstream_account="deepseek-prod-account-03",
        cache_read_tokens=100_000,
        cache_write_tokens=20_000,
        cache_write_1h_tokens=0,
        reasoning_tokens=1_234,
        batch=False,
        status="success",
        gateway_cost="0.123456789012",
        gateway_cost_currency="USD",
        metadata={
            "user": "team-platform@example.com",
            "trace_id": f"{i:032x}",
            "route": "/v1/chat/completions",
            "region": "ap-southeast-1",
            "latency_ms": 12_345,
            "tags": ["prod", "chat"],
        },
    )


def litellm_payload(i: int) -> dict:
    """A StandardLoggingPayload as LiteLLM's generic logger posts it: the conversation makes it ~13 KB."""
    return {
        "id": f"chatcmpl-{i}",
        "call_type": "acompletion",
        "status": "success",
        "model": "deepseek/deepseek-chat",
        "model_group": "deepseek-chat",
        "custom_llm_provider": "deepseek",
        "prompt_tokens": 3_000,
        "completion_tokens": 500,
        "startTime": AT.timestamp(),
        "endTime": AT.timestamp() + 2.5,
        "response_cost": 0.00042,
        "metadata": {"user_api_key_hash": "key-a"},
        "messages": [{"role": "user", "content": "请总结这份合同的付款条款。" * 300}],
        "response": {"choices": [{"message": {"role": "assistant", "content": "Payment terms: " * 200}}]},
    }


def test_10000_realistic_events_fit_one_batch_far_beyond_djangos_default(client, prepaid):
    # One request id for all keeps the test quick (one event stored); every row is still read and counted.
    rows = [{**full_event(i), "request_id": "same-request"} for i in range(MAX_BATCH_EVENTS)]
    body = json.dumps(rows).encode()
    assert DJANGO_DEFAULT < len(body) < MAX_BATCH_BYTES / 2  # room to spare, pretty-printed too

    response = post(client, BATCHES, body, HTTP_IDEMPOTENCY_KEY="big-1")

    assert response.status_code == 200, response.content[:300]
    assert (response.json()["accepted"], response.json()["duplicates"]) == (1, MAX_BATCH_EVENTS - 1)


def test_litellm_posts_its_default_batch_of_512_full_payloads(client, prepaid):
    body = json.dumps([litellm_payload(i) for i in range(512)]).encode()
    assert len(body) > 6_000_000

    response = post(client, LITELLM, body)

    assert response.status_code == 200, response.content[:300]
    assert (response.json()["accepted"], response.json()["rejected"]) == (512, 0)


@pytest.mark.parametrize(("path", "limit"), [(BATCHES, MAX_BATCH_BYTES), (LITELLM, MAX_LITELLM_BYTES)])
def test_a_body_over_the_endpoints_limit_is_413_saying_the_limit(client, path, limit):
    # Valid JSON that only its size makes unacceptable: one byte over is refused, the limit itself is not.
    at_limit = b"[" + b" " * (limit - 2) + b"]"

    over = post(client, path, at_limit[:-1] + b" ]")
    at = post(client, path, at_limit)

    assert over.status_code == 413
    assert over.json()["limit_bytes"] == limit and over.json()["limit_events"] == MAX_BATCH_EVENTS
    assert str(limit) in over.json()["detail"]
    assert at.status_code == 200 and at.json()["accepted"] == 0
    assert not UsageEvent.objects.exists()


def test_a_declared_length_over_the_limit_is_refused_before_reading(client):
    response = post(client, BATCHES, b"[]", CONTENT_LENGTH=str(MAX_BATCH_BYTES + 1))

    assert response.status_code == 413 and response.json()["limit_bytes"] == MAX_BATCH_BYTES


def test_gzip_is_bounded_inflated_too(client, prepaid):
    """A few KB that inflate past the limit (a zip bomb) are a 413, not a 400, a 500 or a full inflate."""
    bomb = gzip.compress(b"[" + b" " * MAX_BATCH_BYTES + b"]")
    assert len(bomb) < 100_000

    response = post(client, BATCHES, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413
    assert response.json()["limit_bytes"] == MAX_BATCH_BYTES and "inflates" in response.json()["detail"]
    assert not UsageBatch.objects.exists()


def test_gzip_with_several_members_loses_none_and_a_truncated_one_is_refused(client, prepaid):
    first = "".join(json.dumps(event(f"g{i}")) + "\n" for i in range(3))
    second = "".join(json.dumps(event(f"h{i}")) + "\n" for i in range(2))
    members = gzip.compress(first.encode()) + gzip.compress(second.encode())

    truncated = post(client, BATCHES, members[:-8], HTTP_CONTENT_ENCODING="gzip")
    both = post(client, BATCHES, members, HTTP_CONTENT_ENCODING="gzip")

    assert truncated.status_code == 400 and "truncated" in truncated.json()["detail"]
    assert both.status_code == 200 and both.json()["accepted"] == 5
    assert UsageEvent.objects.count() == 5


def test_an_encoding_other_than_gzip_is_415(client):
    response = post(client, BATCHES, b"[]", HTTP_CONTENT_ENCODING="br")

    assert response.status_code == 415 and "Content-Encoding" in response.json()["detail"]
    assert not UsageBatch.objects.exists()


def test_more_than_10000_events_is_413_saying_both_limits(client):
    body = "\n".join(json.dumps({"request_id": str(i)}) for i in range(MAX_BATCH_EVENTS + 1)).encode()

    response = post(client, BATCHES, body)

    assert response.status_code == 413
    assert response.json()["limit_events"] == MAX_BATCH_EVENTS
    assert response.json()["limit_bytes"] == MAX_BATCH_BYTES


@pytest.mark.parametrize("key", ["a\x00b", "batch\x01", "x" * 201], ids=["nul", "control", "long"])
def test_a_bad_idempotency_key_is_400_naming_it_and_stores_nothing(client, prepaid, key):
    response = post(client, BATCHES, json.dumps([event("r1")]).encode(), HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]
    assert not UsageBatch.objects.exists()


def test_other_requests_keep_djangos_default_limit():
    """Only the endpoints that promise more read more: a form post over 2.5 MB is still refused."""
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == DJANGO_DEFAULT

    response = Client().post(
        "/accounts/login/",
        "login=a&password=" + "x" * DJANGO_DEFAULT,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
