"""The hard prepaid limit at the gateway (issue 16, item 10): the audit's −50 floor that ended at −84.496.

Usage is charged after it happened, so the gateway status is all that can stop a prepaid customer. Each
batch here goes through the usage API and the status is read from the real status cache (Redis): soft
stops after the floor is crossed, as before; hard stops while balance − reserve ≤ floor, before it.
"""

import json
from decimal import Decimal

import pytest

from billing.wallets.models import BalanceSuspension, FloorOvershoot, Wallet
from billing.wallets.status import wallet_settings_update
from tests.billing.dunning.conftest import gateway, webhook_receiver  # noqa: F401
from tests.billing.factories import topup
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

STATUS = "/api/v1/gateway/status"
FLOOR = Decimal("-50")
# Input tokens at 2 CNY per million: 30M tokens = 60 CNY, 32.248M = 64.496 CNY.
BATCHES = {1: 30_000_000, 2: 30_000_000, 3: 32_248_000}


@pytest.fixture
def prepaid(gateway, webhook_receiver, settings, mailoutbox):  # noqa: F811
    """A prepaid customer with 100 CNY, a −50 floor, its wallet webhook and e-mail on the test receiver."""
    settings.WALLET_WEBHOOK_SECRET = "wallet-secret"
    priced_model()
    default_plan()
    customer = customer_make(key="key-a")
    customer.contact_email = "ops@example.com"
    customer.save(update_fields=["contact_email"])
    topup(customer, "100", "t1")
    wallet = Wallet.objects.get(customer=customer)
    wallet.webhook_url = webhook_receiver[0]
    wallet.save(update_fields=["webhook_url"])
    return customer, wallet


def _limit(wallet, mode, minutes=None):
    wallet.refresh_from_db()
    return wallet_settings_update(
        wallet=wallet,
        floor=FLOOR,
        low_balance_threshold=None,
        webhook_url=wallet.webhook_url,
        limit_mode=mode,
        reserve_minutes=minutes,
    )


def _send(client, capture, number: int, tokens: int | None = None):
    body = json.dumps([event(f"r{number}", prompt=tokens or BATCHES[number], completion=0)])
    with capture(execute=True):
        response = client.generic(
            "POST",
            "/api/v1/usage/batches",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"b{number}",
        )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    return client.get(STATUS, {"key": "key-a"}).json()


def _types(received, prefix):
    return [r["json"]["type"] for r in received if r["json"]["type"].startswith(prefix)]


def test_audit_hard_limit_stops_before_the_floor_and_reports_the_overshoot(
    gateway,  # noqa: F811
    prepaid,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client, received = gateway
    _customer, wallet = prepaid
    with django_capture_on_commit_callbacks(execute=True):
        _limit(wallet, "hard", minutes=15)
    assert client.get(STATUS, {"key": "key-a"}).json()["limit"] == "hard"

    # 60 charged in the last hour: reserve 60 × 15 ÷ 60 = 15; 40 − 15 is well above −50.
    first = _send(client, django_capture_on_commit_callbacks, 1)
    assert first["status"] == "active"
    assert (Decimal(first["balance"]), Decimal(first["reserve"])) == (Decimal("40"), Decimal("15"))

    # 120 in the hour: reserve 30; −20 − 30 = −50 ≤ −50, so the gateway stops with the floor not yet crossed.
    second = _send(client, django_capture_on_commit_callbacks, 2)
    assert second["status"] == "suspended"
    assert [r["code"] for r in second["reasons"]] == ["balance_reserve"]
    assert (Decimal(second["balance"]), Decimal(second["reserve"])) == (Decimal("-20"), Decimal("30"))
    assert Decimal(second["balance"]) > FLOOR
    suspension = BalanceSuspension.objects.get(wallet=wallet)
    assert suspension.reason == "balance_reserve" and suspension.reserve_at_start == Decimal("30")
    told = [r["json"] for r in received if r["json"]["type"] == "customer.suspended"]
    assert [(t["reason"], t["reserve"]) for t in told] == [("balance_reserve", "30.000000000000")]

    # Requests already under way when the gateway stopped still land: 64.496 more, to −84.496.
    third = _send(client, django_capture_on_commit_callbacks, 3)
    assert third["status"] == "suspended" and Decimal(third["balance"]) == Decimal("-84.496")
    crossing = FloorOvershoot.objects.get(wallet=wallet)
    assert (crossing.floor, crossing.lowest_balance, crossing.excess) == (
        FLOOR,
        Decimal("-84.496"),
        Decimal("34.496"),
    )
    assert crossing.ended_at is None
    overshoot_hooks = [r["json"] for r in received if r["json"]["type"].endswith("floor_overshoot")]
    assert sorted(h["type"] for h in overshoot_hooks) == [
        "customer.floor_overshoot",
        "wallet.floor_overshoot",
    ]
    assert {Decimal(h["excess"]) for h in overshoot_hooks} == {Decimal("34.496")}
    overshoot_mails = [m for m in mailoutbox if "Hard limit exceeded" in m.subject]
    assert (
        len(overshoot_mails) == 1
        # People read cents (the webhook above keeps the exact excess).
        and "balance to -84.50, 34.50 below its limit of -50.00" in overshoot_mails[0].body
    )

    # One more straggler deepens the same crossing; nobody is told twice.
    _send(client, django_capture_on_commit_callbacks, 4, tokens=252_000)  # 0.504
    crossing.refresh_from_db()
    assert crossing.lowest_balance == Decimal("-85") and crossing.excess == Decimal("35")
    assert len([r for r in received if r["json"]["type"].endswith("floor_overshoot")]) == 2
    assert len([m for m in mailoutbox if "Hard limit exceeded" in m.subject]) == 1

    # A top-up that covers floor and reserve restores service and closes the crossing (it stays listed).
    with django_capture_on_commit_callbacks(execute=True):
        topup(prepaid[0], "200", "t2")  # 115 − reserve (184.496 + 0.504) × 15 ÷ 60 = 68.75 > −50
    restored = client.get(STATUS, {"key": "key-a"}).json()
    assert restored["status"] == "active" and Decimal(restored["reserve"]) == Decimal("46.25")
    crossing.refresh_from_db()
    assert crossing.ended_at is not None
    assert _types(received, "customer.")[-1] == "customer.restored"


def test_audit_soft_limit_is_unchanged_suspended_only_after_crossing_at_minus_84_496(
    gateway,  # noqa: F811
    prepaid,
    django_capture_on_commit_callbacks,
):
    client, _received = gateway
    _customer, wallet = prepaid
    _limit(wallet, "soft")

    assert _send(client, django_capture_on_commit_callbacks, 1)["status"] == "active"
    second = _send(client, django_capture_on_commit_callbacks, 2)
    assert second["status"] == "active" and Decimal(second["balance"]) == Decimal("-20")
    assert second["limit"] == "soft" and second["reserve"] is None
    third = _send(client, django_capture_on_commit_callbacks, 3)

    assert third["status"] == "suspended" and Decimal(third["balance"]) == Decimal("-84.496")
    assert [r["code"] for r in third["reasons"]] == ["balance_at_floor"]
    assert BalanceSuspension.objects.get(wallet=wallet).reason == "balance_at_floor"
    assert not FloorOvershoot.objects.exists()  # a soft floor is meant to be crossed: nothing to report


def test_changing_the_limit_refreshes_the_cached_status_at_once(
    gateway,  # noqa: F811
    prepaid,
    django_capture_on_commit_callbacks,
):
    client, _received = gateway
    _customer, wallet = prepaid
    _send(client, django_capture_on_commit_callbacks, 1)  # 40 left, 60 spent in the hour
    cached = client.get(STATUS, {"key": "key-a"}).json()
    assert cached["limit"] == "soft" and cached["reserve"] is None

    # Hard with a 15-minute reserve suspends nothing (40 − 15 > −50) but the answer must show it now,
    # not when the 30-second cache entry expires.
    with django_capture_on_commit_callbacks(execute=True):
        _limit(wallet, "hard", minutes=15)
    hard = client.get(STATUS, {"key": "key-a"}).json()
    assert (
        hard["status"] == "active" and hard["limit"] == "hard" and Decimal(hard["reserve"]) == Decimal("15")
    )

    # A 90-minute reserve (90 ahead) trips it: 40 − 90 ≤ −50.
    with django_capture_on_commit_callbacks(execute=True):
        _limit(wallet, "hard", minutes=90)
    tripped = client.get(STATUS, {"key": "key-a"}).json()
    assert tripped["status"] == "suspended" and [r["code"] for r in tripped["reasons"]] == ["balance_reserve"]

    # Back to soft: 40 is above the floor, so the gateway serves again.
    with django_capture_on_commit_callbacks(execute=True):
        _limit(wallet, "soft")
    soft = client.get(STATUS, {"key": "key-a"}).json()
    assert soft["status"] == "active" and soft["limit"] == "soft" and soft["reserve"] is None
