"""A wallet's hard limit in the wallet services: the reserve, the early suspension, the overshoot record."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.wallets.debits import wallet_debit
from billing.wallets.exceptions import WalletError
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import BalanceSuspension, FloorOvershoot
from billing.wallets.selectors import wallet_recent_spend, wallet_reserve
from billing.wallets.status import wallet_reserves_refresh, wallet_settings_update
from billing.wallets.tasks import wallet_reserves_refresh_task
from tests.billing.factories import revenue, topup
from tests.billing.wallets.hard_limit_helpers import prepaid_customer, usage_charge, usage_setup
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def source():
    return usage_setup()


def _hard_wallet(*, minutes=None, floor="-50", **fields):
    customer = prepaid_customer(f"key-{uuid.uuid4().hex[:8]}", **fields)
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet = wallet_settings_update(
        wallet=wallet,
        floor=Decimal(floor),
        low_balance_threshold=None,
        limit_mode="hard",
        reserve_minutes=minutes,
    )
    return customer, wallet


def test_the_reserve_is_the_trailing_hours_usage_scaled_to_the_reserve_minutes(settings, source):
    settings.WALLET_RESERVE_MINUTES = 20
    customer, wallet = _hard_wallet()
    topup(customer, "500", "t1")
    usage_charge(source, customer, "30", "u1")
    usage_charge(source, customer, "60", "u2")
    # A pack bought with wallet money is no usage rate.
    wallet_debit(
        customer=customer,
        currency="CNY",
        amount=Decimal("45"),
        idempotency_key="pack-1",
        target_account=revenue(),
        kind="allowance.pack",
        memo="pack",
    )

    assert wallet_recent_spend(wallet=wallet) == Decimal("90")
    assert wallet_reserve(wallet=wallet) == Decimal("30")  # 90 × 20 ÷ 60, the settings default
    wallet = wallet_settings_update(
        wallet=wallet, floor=Decimal("-50"), low_balance_threshold=None, limit_mode="hard", reserve_minutes=7
    )
    assert wallet_reserve(wallet=wallet) == Decimal("10.5")  # the wallet's own 7 minutes
    # An hour later that spend is no longer recent.
    assert wallet_reserve(wallet=wallet, now=timezone.now() + timedelta(minutes=61)) == 0


def test_a_soft_wallet_holds_no_reserve(source):
    customer = prepaid_customer("key-soft")
    topup(customer, "500", "t1")
    usage_charge(source, customer, "90", "u1")
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    assert wallet_reserve(wallet=wallet) == 0


def test_hard_limit_suspends_before_the_floor_and_records_the_crossing_once(source):
    customer, _wallet = _hard_wallet(minutes=15)
    topup(customer, "100", "t1")
    usage_charge(source, customer, "60", "u1")
    assert not BalanceSuspension.objects.exists()

    usage_charge(source, customer, "60", "u2")  # −20, reserve 30: −20 − 30 ≤ −50
    suspension = BalanceSuspension.objects.get()
    assert (suspension.reason, suspension.balance_at_start, suspension.reserve_at_start) == (
        "balance_reserve",
        Decimal("-20"),
        Decimal("30"),
    )
    assert not FloorOvershoot.objects.exists()

    usage_charge(source, customer, "64.496", "u3")
    usage_charge(source, customer, "0.504", "u4")
    crossing = FloorOvershoot.objects.get()
    assert (crossing.floor, crossing.lowest_balance, crossing.excess) == (
        Decimal("-50"),
        Decimal("-85"),
        Decimal("35"),
    )
    assert BalanceSuspension.objects.count() == 1  # still the one opened before the floor


def test_leaving_the_hard_limit_ends_the_crossing_and_keeps_it_listed(source):
    customer, wallet = _hard_wallet(minutes=15)
    topup(customer, "10", "t1")
    usage_charge(source, customer, "70", "u1")  # −60: suspended and 10 below the floor at once
    assert FloorOvershoot.objects.get().ended_at is None

    wallet_settings_update(wallet=wallet, floor=Decimal("-50"), low_balance_threshold=None, limit_mode="soft")

    crossing = FloorOvershoot.objects.get()
    assert crossing.ended_at is not None and crossing.excess == Decimal("10")
    assert BalanceSuspension.objects.get().ended_at is None  # −60 is still at or below the floor: soft too


@pytest.mark.parametrize(
    ("mode", "minutes", "says"),
    [
        ("firm", None, "Unknown limit"),
        ("hard", 1441, "between 0 and 1440"),
        ("hard", -1, "between 0 and 1440"),
    ],
)
def test_a_bad_limit_is_refused_with_its_reason(mode, minutes, says):
    wallet = wallet_get_or_create(customer=CustomerFactory(), currency="CNY")
    with pytest.raises(WalletError, match=says):
        wallet_settings_update(
            wallet=wallet,
            floor=Decimal("0"),
            low_balance_threshold=None,
            limit_mode=mode,
            reserve_minutes=minutes,
        )
    wallet.refresh_from_db()
    assert wallet.limit_mode == "soft"


def test_the_reserve_suspension_email_says_why_in_the_customers_language(
    source, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    customer, _wallet = _hard_wallet(minutes=30, contact_email="ops@example.com", language="zh-hans")
    topup(customer, "100", "t1")
    with django_capture_on_commit_callbacks(execute=True):
        usage_charge(source, customer, "90", "u1")  # 10 − reserve 45 = −35 > −50: still served
    assert not [m for m in mailoutbox if "暂停" in m.subject or "suspended" in m.subject]
    with django_capture_on_commit_callbacks(execute=True):
        usage_charge(source, customer, "20", "u2")  # −10 − 55 = −65 ≤ −50
    mail = [m for m in mailoutbox if "暂停" in m.subject]
    assert len(mail) == 1 and "55.00" in mail[0].body and "-10.00" in mail[0].body


def test_a_reserve_that_ran_down_restores_the_customer_on_the_next_refresh(
    source, eager_celery, django_capture_on_commit_callbacks
):
    customer, _wallet = _hard_wallet(minutes=15)
    topup(customer, "100", "t1")
    usage_charge(source, customer, "60", "u1")
    usage_charge(source, customer, "60", "u2")  # −20 − 30 ≤ −50: suspended for the reserve
    assert BalanceSuspension.objects.get().reason == "balance_reserve"

    # Ten minutes on, the hour's spend still holds the reserve: nothing changes.
    assert wallet_reserves_refresh(now=timezone.now() + timedelta(minutes=10)) == 0
    assert BalanceSuspension.objects.get().ended_at is None
    # Once the spend is more than an hour old the reserve is 0 and −20 is above −50: served again.
    with django_capture_on_commit_callbacks(execute=True):
        assert wallet_reserves_refresh(now=timezone.now() + timedelta(minutes=61)) == 1
    assert BalanceSuspension.objects.get().ended_at is not None
    assert wallet_reserves_refresh_task.delay().get() == 0  # nothing left suspended for its reserve


def test_the_refresh_leaves_a_wallet_that_overshot_its_floor_suspended(source):
    customer, _wallet = _hard_wallet(minutes=15)
    topup(customer, "100", "t1")
    usage_charge(source, customer, "60", "u1")
    usage_charge(source, customer, "60", "u2")  # suspended for the reserve at −20
    usage_charge(source, customer, "64.496", "u3")  # in flight: −84.496

    assert wallet_reserves_refresh(now=timezone.now() + timedelta(hours=2)) == 0
    suspension = BalanceSuspension.objects.get()
    assert suspension.reason == "balance_reserve" and suspension.ended_at is None
