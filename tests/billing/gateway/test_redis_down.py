"""Redis down is not an outage (issue 22): the gateway status answers from the database, saying so, and a
batch that suspends a customer answers what it committed while its webhooks wait in the outbox.

The cache and the broker point at a port where nothing listens (``tests.common.redis_down``). These tests
commit for real (``transaction=True``): an after-commit hook then runs inside the request, where a failure
would be the batch's 500.
"""

import json
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from billing.gateway.models import GatewayHold
from billing.gateway.status import key_cache_key
from billing.wallets.models import BalanceSuspension, Wallet
from common.models import OutboxTask
from common.outbox import outbox_drain
from tests.billing.dunning.conftest import webhook_receiver  # noqa: F401
from tests.billing.factories import topup
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make
from tests.common.redis_down import (  # noqa: F401
    broker_back,
    broker_down,
    broker_real,
    cache_down,
    worker_start,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STATUS = "/api/v1/gateway/status"
WEBHOOK_TASK = "billing.gateway.tasks.notify_gateway_webhook_task"


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _suspending_batch_sent(url: str, *, wallet_webhook: bool = False):
    """A prepaid customer with 10 CNY (its wallet's webhooks to ``url`` too when ``wallet_webhook``), and a
    batch of 30M input tokens at 2 CNY per million (60 CNY against a floor of 0) sent through a gateway
    source whose webhooks go to ``url``: the customer, the gateway's client and the batch's answer."""
    _source, token = source_make(name="edge", webhook_url=url, webhook_secret="gw-secret")
    priced_model()
    default_plan()
    customer = customer_make(key="key-a")
    topup(customer, "10", "t1")
    if wallet_webhook:
        Wallet.objects.filter(customer=customer).update(webhook_url=url)
    client = _client(token)
    response = client.generic(
        "POST",
        "/api/v1/usage/batches",
        json.dumps([event("r1", prompt=30_000_000, completion=0)]),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="b1",
    )
    return customer, client, response


@pytest.fixture
def source():
    cache.clear()
    source, token = source_make(name="edge")
    return source, _client(token)


def test_the_status_comes_from_the_cache_normally_and_says_so(source):
    gateway_source, client = source
    customer_make(key="key-a")

    first = client.get(STATUS, {"key": "key-a"})
    second = client.get(STATUS, {"key": "key-a"})

    assert first.status_code == second.status_code == 200
    assert first["X-Status-Source"] == "database"  # a miss: computed now, and cached
    assert second["X-Status-Source"] == "cache"
    assert second.json() == first.json()
    assert cache.get(key_cache_key(source_id=gateway_source.pk, key="key-a"))


def test_the_schema_documents_the_source_header(source):
    _source, client = source

    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    answer = schema["paths"]["/api/v1/gateway/status"]["get"]["responses"]["200"]
    header = answer["headers"]["X-Status-Source"]
    assert header["schema"]["enum"] == ["cache", "database"]
    assert "could not be reached" in header["description"]


def test_with_the_cache_down_the_status_answers_from_the_database(source, cache_down, caplog):  # noqa: F811
    _source, client = source
    customer = customer_make(key="key-a")

    active = client.get(STATUS, {"key": "key-a"})
    GatewayHold.objects.create(customer=customer, reason="fraud review")
    held = client.get(STATUS, {"key": "key-a"})
    unknown = client.get(STATUS, {"key": "nobody"})

    assert active.status_code == 200 and active["X-Status-Source"] == "database"
    assert active.json()["status"] == "active"
    # Nothing was cached: the hold shows at once, read from the database.
    assert held.status_code == 200 and held["X-Status-Source"] == "database"
    assert held.json()["status"] == "suspended"
    assert [r["code"] for r in held.json()["reasons"]] == ["manual_hold"]
    assert unknown.status_code == 404
    assert "cache is unreachable" in caplog.text


def test_a_suspending_batch_answers_200_with_the_broker_down_and_its_webhook_goes_out_once_it_is_back(
    cache_down,  # noqa: F811
    broker_down,  # noqa: F811
    webhook_receiver,  # noqa: F811
    settings,
):
    url, received = webhook_receiver
    settings.WALLET_WEBHOOK_SECRET = "wallet-secret"
    customer, client, response = _suspending_batch_sent(url, wallet_webhook=True)
    wallet = Wallet.objects.get(customer=customer)

    assert response.status_code == 200 and response.json()["accepted"] == 1
    suspension = BalanceSuspension.objects.get(wallet=wallet, ended_at__isnull=True)
    assert suspension.balance_at_start == Decimal("-50")
    kept = OutboxTask.objects.filter(task=WEBHOOK_TASK)
    [suspended] = [row for row in kept if row.args[1]["type"] == "customer.suspended"]
    assert suspended.args[1]["customer"] == customer.code and suspended.sent_at is None
    assert received == []
    # The status, read from the database, already says so.
    status = client.get(STATUS, {"key": "key-a"})
    assert status.status_code == 200 and status["X-Status-Source"] == "database"
    assert status.json()["status"] == "suspended"

    broker_back(broker_down)
    drained = outbox_drain()
    outbox_drain()  # a second drain (the next beat minute) sends nothing again

    told = [r["json"] for r in received if r["json"]["type"] == "customer.suspended"]
    assert [t["id"] for t in told] == [suspended.args[1]["id"]]
    assert told[0]["reason"] == "balance_at_floor"
    # The wallet's own webhooks were kept and sent alike, each once.
    assert [r["json"]["type"] for r in received].count("wallet.suspended") == 1
    assert len({r["json"]["id"] for r in received}) == len(received)
    assert drained.kept == 0 and not OutboxTask.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.redis
def test_once_redis_is_back_a_real_worker_started_after_the_outage_delivers_what_was_kept(
    cache_down,  # noqa: F811
    broker_down,  # noqa: F811
    webhook_receiver,  # noqa: F811
    settings,
):
    url, received = webhook_receiver
    _customer, _gateway, response = _suspending_batch_sent(url)
    assert response.status_code == 200
    kept = OutboxTask.objects.get(task=WEBHOOK_TASK, sent_at__isnull=True)

    # Redis is back: the worker that starts drains the outbox itself (worker_ready), publishing for real.
    broker_real(broker_down, settings)
    worker = worker_start(connection.settings_dict, WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    try:
        deadline = time.monotonic() + 60
        while not received and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert [r["json"]["id"] for r in received] == [kept.args[1]["id"]]
    assert received[0]["json"]["type"] == "customer.suspended"
    kept.refresh_from_db()
    assert kept.sent_at is not None
    assert outbox_drain().sent == 0  # the next beat minute finds nothing left


def test_a_restore_after_the_outage_reaches_the_gateway_after_the_suspension_kept_during_it(
    cache_down,  # noqa: F811
    broker_down,  # noqa: F811
    webhook_receiver,  # noqa: F811
    settings,
):
    url, received = webhook_receiver
    settings.WALLET_WEBHOOK_SECRET = "wallet-secret"
    customer, _gateway, response = _suspending_batch_sent(url)
    assert response.status_code == 200
    assert OutboxTask.objects.filter(task=WEBHOOK_TASK, sent_at__isnull=True).exists()

    # Redis is back, before the next beat drain; the customer pays at once.
    broker_back(broker_down)
    topup(customer, "1000", "t2")

    told = [r["json"] for r in received if r["json"]["type"].startswith("customer.")]
    # The kept suspension went first, the restore right after it: the gateway's last word is "restored".
    assert [t["type"] for t in told] == ["customer.suspended", "customer.restored"]
    # Each carries when it was made (Unix seconds), for a receiver to drop an event older than its last.
    assert told[0]["created"] <= told[1]["created"]
    assert not OutboxTask.objects.filter(sent_at__isnull=True).exists()
    assert outbox_drain().sent == 0  # the next beat minute has nothing left to send out of order
