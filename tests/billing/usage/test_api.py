"""The HTTP ways in and out: batch delivery and gateway status."""

import gzip
import io
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from billing.gateway.services import gateway_hold_place, gateway_hold_release
from billing.usage.models import UsageEvent
from billing.wallets.models import Wallet
from billing.wallets.status import wallet_settings_update
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event, source_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway():
    source, token = source_make(name="edge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return source, client


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def post(client, body: bytes, **headers):
    return client.generic("POST", "/api/v1/usage/batches", body, content_type="application/json", **headers)


def test_bad_or_missing_token_is_401(prepaid):
    body = json.dumps([event("r1")]).encode()
    anonymous = APIClient()
    assert post(anonymous, body).status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer gws_wrong")
    assert post(anonymous, body).status_code == 401
    assert anonymous.get("/api/v1/gateway/status", {"key": "key-a"}).status_code == 401
    assert not UsageEvent.objects.exists()


def test_json_array_with_bad_rows_answers_counts_and_errors(gateway, prepaid):
    _, client = gateway
    body = json.dumps([event("r1"), event("r2", completion="lots"), event("r1")]).encode()

    response = post(client, body, HTTP_IDEMPOTENCY_KEY="batch-1")

    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["duplicates"], data["rejected"]) == (1, 1, 1)
    assert data["errors"] == [
        {"index": 1, "field": "completion_tokens", "reason": "must be a whole number of tokens"}
    ]


def test_gzip_ndjson_is_accepted_and_key_replay_and_conflict(gateway, prepaid):
    _, client = gateway
    ndjson = "\n".join(json.dumps(event(f"r{i}")) for i in range(3)).encode()
    body = gzip.compress(ndjson)

    first = post(client, body, HTTP_CONTENT_ENCODING="gzip", HTTP_IDEMPOTENCY_KEY="k1")
    again = post(client, body, HTTP_CONTENT_ENCODING="gzip", HTTP_IDEMPOTENCY_KEY="k1")
    other = post(client, json.dumps([event("zzz")]).encode(), HTTP_IDEMPOTENCY_KEY="k1")

    assert first.json()["accepted"] == 3
    assert again.status_code == 200 and again.json() == first.json()
    assert other.status_code == 409 and "different batch" in other.json()["detail"]
    assert UsageEvent.objects.count() == 3


def test_a_number_sent_again_as_a_string_under_the_same_key_is_409(gateway, prepaid):
    """1.5 and "1.5" are different bodies: the second is no replay of the first, whichever came first."""
    _, client = gateway
    number = b'[{"request_id": "r1", "occurred_at": "%s", "key": "key-a", "model": "deepseek-chat", '
    number += b'"prompt_tokens": 10, "gateway_cost": 1.5, "gateway_cost_currency": "USD"}]'
    number %= event("r1")["occurred_at"].encode()
    text = number.replace(b"1.5", b'"1.5"')

    first = post(client, number, HTTP_IDEMPOTENCY_KEY="k1")
    again = post(client, number, HTTP_IDEMPOTENCY_KEY="k1")
    other = post(client, text, HTTP_IDEMPOTENCY_KEY="k1")
    text_first = post(client, text, HTTP_IDEMPOTENCY_KEY="k2")
    number_then = post(client, number, HTTP_IDEMPOTENCY_KEY="k2")

    assert first.status_code == again.status_code == text_first.status_code == 200
    assert again.json() == first.json() and first.json()["accepted"] == 1
    assert other.status_code == number_then.status_code == 409
    assert UsageEvent.objects.count() == 1


def test_more_than_10000_events_is_413(gateway, prepaid):
    _, client = gateway
    body = "\n".join(json.dumps({"request_id": str(i)}) for i in range(10_001)).encode()
    assert post(client, body).status_code == 413


def test_status_flips_when_balance_reaches_the_floor(gateway, prepaid, django_capture_on_commit_callbacks):
    _, client = gateway
    top_up(prepaid, Decimal("0.01"))
    wallet = Wallet.objects.get(customer=prepaid)
    wallet_settings_update(wallet=wallet, floor=Decimal("0"), low_balance_threshold=None)

    before = client.get("/api/v1/gateway/status", {"key": "key-a"}).json()
    assert before["status"] == "active" and Decimal(before["balance"]) == Decimal("0.01")

    # 0.006 each: the second request takes the wallet below its floor; the cache is invalidated on commit.
    with django_capture_on_commit_callbacks(execute=True):
        post(client, json.dumps([event("r1"), event("r2")]).encode())

    after = client.get("/api/v1/gateway/status", {"key": "key-a"}).json()
    assert after["status"] == "suspended"
    assert [r["code"] for r in after["reasons"]] == ["balance_at_floor"]
    assert Decimal(after["balance"]) == Decimal("-0.002")

    with django_capture_on_commit_callbacks(execute=True):
        top_up(prepaid, Decimal("1"), key="t2")
    assert client.get("/api/v1/gateway/status", {"key": "key-a"}).json()["status"] == "active"


def test_manual_hold_suspends_and_unknown_key_is_404(gateway, prepaid, django_capture_on_commit_callbacks):
    _, client = gateway
    assert client.get("/api/v1/gateway/status", {"key": "nope"}).status_code == 404
    assert client.get("/api/v1/gateway/status", {"key": "key-a"}).json()["status"] == "active"

    with django_capture_on_commit_callbacks(execute=True):
        gateway_hold_place(customer=prepaid, reason="KYC review")

    answer = client.get("/api/v1/gateway/status", {"key": "key-a"}).json()
    assert answer["status"] == "suspended" and answer["reasons"][0]["code"] == "manual_hold"


def test_schema_documents_the_canonical_event():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert {"/api/v1/usage/batches", "/api/v1/gateway/status"} <= set(schema["paths"])
    event_schema = schema["components"]["schemas"]["CanonicalEvent"]["properties"]
    assert {"request_id", "occurred_at", "key", "model", "cache_write_1h_tokens", "gateway_cost"} <= set(
        event_schema
    )


def test_decimal_metadata_is_kept_exactly_and_an_odd_status_is_a_row_error(gateway, prepaid):
    _, client = gateway
    with_float = {**event("m1"), "metadata": {"latency_s": 0.1234567890123456789, "tags": [1.5, "x"]}}
    odd_status = {**event("m2"), "status": ["success"]}
    body = b"[" + json.dumps(with_float).encode().replace(b"0.12345678901234568", b"0.1234567890123456789")
    body += b"," + json.dumps(odd_status).encode() + b"]"

    response = post(client, body)

    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert data["errors"] == [
        {"index": 1, "field": "status", "reason": "must be success, failed or adjustment"}
    ]
    stored = UsageEvent.objects.get(request_id="m1").metadata
    assert stored == {"latency_s": "0.1234567890123456789", "tags": ["1.5", "x"]}


def test_customers_of_a_suspended_sub_distributor_are_suspended_with_it(
    gateway, model, django_capture_on_commit_callbacks
):
    from accounts.models import Customer

    _, client = gateway
    sub = customer_make(key="key-sub", mode="monthly")
    # Direct: the operator bills the end customer (its wallet is in the operator's book).
    Customer.objects.filter(pk=sub.pk).update(
        kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.DIRECT
    )
    sub.refresh_from_db()
    end = customer_make(key="key-end", parent=sub)
    top_up(end, Decimal("50"), key="t-end")
    assert client.get("/api/v1/gateway/status", {"key": "key-end"}).json()["status"] == "active"

    with django_capture_on_commit_callbacks(execute=True):
        hold = gateway_hold_place(customer=sub, reason="Overdue wholesale invoice")

    # the end customer's own wallet is fine, but the sub-distributor we bill for it is not
    answer = client.get("/api/v1/gateway/status", {"key": "key-end"}).json()
    assert answer["status"] == "suspended"
    assert [r["code"] for r in answer["reasons"]] == ["parent_suspended"]
    assert "manual_hold" in answer["reasons"][0]["detail"]

    with django_capture_on_commit_callbacks(execute=True):
        gateway_hold_release(hold=hold)
    assert client.get("/api/v1/gateway/status", {"key": "key-end"}).json()["status"] == "active"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'[{"request_id": "r1", "prompt_tokens": ' + b"9" * 5000 + b"}]", "number too long"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'[{"request_id": "r1", "gateway_cost": 1e9999999999999999999999}]', "too large"),
        (b'{"n": ' + b"9" * 5000 + b"}", "line 1: holds a number too long"),
    ],
    ids=["huge-int", "deep", "huge-exponent", "ndjson-huge-int"],
)
def test_json_beyond_the_decoders_limits_is_a_400_not_a_crash(gateway, prepaid, body, says):
    _, client = gateway

    response = post(client, body)

    assert response.status_code == 400 and says in response.json()["detail"]
    assert not UsageEvent.objects.exists()


def test_a_bulk_file_refreshes_the_gateway_status_of_its_customers(
    gateway, prepaid, django_capture_on_commit_callbacks
):
    """Files take the bulk path on PostgreSQL: like an API batch, it drops the cached status of the
    customers it charged, so the balance and the floor suspension show at once."""
    from billing.usage.files import file_ingest, records_iter

    source, client = gateway
    top_up(prepaid, Decimal("0.01"))
    wallet_settings_update(
        wallet=Wallet.objects.get(customer=prepaid), floor=Decimal("0"), low_balance_threshold=None
    )
    assert client.get("/api/v1/gateway/status", {"key": "key-a"}).json()["status"] == "active"
    body = "\n".join(json.dumps(event(f"f{i}")) for i in range(2)).encode()

    with django_capture_on_commit_callbacks(execute=True):
        file_ingest(source=source, records=records_iter(io.BytesIO(body)), fmt="generic", key_prefix="up:1")

    after = client.get("/api/v1/gateway/status", {"key": "key-a"}).json()
    assert after["status"] == "suspended" and Decimal(after["balance"]) == Decimal("-0.002")
    source.refresh_from_db()
    assert source.last_used_at is not None
