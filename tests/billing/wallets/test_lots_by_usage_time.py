"""Money grants reach the wallet, and usage draws the wallet lots valid when it *happened*, whenever it
arrives; breakage keeps only what usage up to the expiry did not use (the audit's figures)."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.services import usage_batch_ingest
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import Bucket, WalletLot
from billing.wallets.selectors import customer_suspended_for_balance, wallet_balance
from catalog.models import AllowanceUnit, FreeGrant
from tests.billing.factories import grant, topup
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
NOV_9 = datetime(2026, 11, 9, 12, tzinfo=UTC)
NOV_10 = datetime(2026, 11, 10, tzinfo=UTC)
# Sell 2 per million prompt tokens, 8 per million completion tokens (tests.billing.usage.factories).
SIZE_6_48 = {"prompt": 1_000_000, "completion": 560_000}  # 2.00 + 4.48
SIZE_1_296 = {"prompt": 200_000, "completion": 112_000}  # 0.40 + 0.896


@pytest.fixture
def source():
    priced_model()
    default_plan()
    return source_make()[0]


@contextmanager
def clock(at: datetime):
    """Run as if it were ``at``: postings, lots and the wallet services read this time."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def ingest_api(source, records, key):
    return usage_batch_ingest(source=source, records=records, idempotency_key=key, now=timezone.now())


def ingest_bulk(source, records, key):
    return bulk_ingest(source=source, records=records, key_prefix=key)


PATHS = pytest.mark.parametrize("ingest", [ingest_api, ingest_bulk], ids=["per-batch", "bulk"])


def balance(customer):
    return wallet_balance(wallet=wallet_get_or_create(customer=customer, currency="CNY"))


def lot(bucket) -> WalletLot:
    return WalletLot.objects.get(bucket=bucket)


def breakage() -> Decimal:
    return -account_get(kind=AccountKind.BREAKAGE, currency="CNY").balance


def money_grant(customer, amount: str, granted_at: datetime, expires_at: datetime) -> FreeGrant:
    return FreeGrant.objects.create(
        customer=customer,
        unit=AllowanceUnit.CREDIT,
        amount=Decimal(amount),
        currency="CNY",
        granted_at=granted_at,
        expires_at=expires_at,
        reason="Welcome grant",
    )


@PATHS
def test_a_money_grant_covers_usage_and_paid_credit_is_untouched(source, ingest):
    customer = customer_make(key="key-a")
    topup(customer, "100", "t1")
    now = timezone.now()
    money_grant(customer, "50", now - timedelta(days=10), now + timedelta(days=20))

    # 12.96 of usage while the grant is valid (the audit: paid from the top-up)
    records = [event(f"r{i}", at=now - timedelta(days=1, hours=i), **SIZE_6_48) for i in range(2)]
    ingest(source, records, "b1")

    after = balance(customer)
    assert (after.paid, after.granted) == (Decimal("100"), Decimal("37.04"))
    assert lot(Bucket.GRANTED).remaining == Decimal("37.04")
    assert lot(Bucket.GRANTED).expires_at == now + timedelta(days=20)
    promo = account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency="CNY")
    assert promo.balance == Decimal("50")  # the grant is an expense, posted once
    assert JournalTransaction.objects.filter(kind="wallet.grant").count() == 1


def test_usage_from_before_a_money_grant_does_not_draw_it(source):
    customer = customer_make(key="key-a")
    topup(customer, "100", "t1")
    now = timezone.now()
    money_grant(customer, "50", now - timedelta(days=1), now + timedelta(days=20))

    ingest_api(source, [event("r1", at=now - timedelta(days=2), **SIZE_6_48)], "b1")

    after = balance(customer)
    assert (after.paid, after.granted) == (Decimal("93.52"), Decimal("50"))


def test_the_expiry_job_credits_a_grant_nobody_used_and_it_ends_in_breakage():
    customer = customer_make(key="key-a")
    money_grant(customer, "50", NOV_1, NOV_10)

    with clock(NOV_1 + timedelta(hours=1)):
        assert wallet_lots_expire_due() == 0
    assert balance(customer).granted == Decimal("50")
    with clock(NOV_10 + timedelta(hours=1)):
        assert wallet_lots_expire_due() == 1
        assert wallet_lots_expire_due() == 0
    assert breakage() == Decimal("50")
    assert JournalTransaction.objects.filter(kind="wallet.grant").count() == 1


@PATHS
def test_late_usage_draws_the_grant_valid_when_it_happened_and_breakage_keeps_the_rest(source, ingest):
    customer = customer_make(key="key-a")
    with clock(NOV_1):
        topup(customer, "100", "t1")
        grant(customer, "2.60", "g1", expires_at=NOV_10)
        grant(customer, "100", "p1", bucket="pack", expires_at=datetime(2026, 12, 31, tzinfo=UTC))

    # usage of 9 Nov delivered on 10 Nov, after the grant expired but before breakage ran
    with clock(NOV_10 + timedelta(hours=8)):
        ingest(source, [event("r1", at=NOV_9, **SIZE_1_296)], "b1")
    assert lot(Bucket.GRANTED).remaining == Decimal("1.304")
    assert lot(Bucket.PACK).remaining == Decimal("100")  # the audit: charged to the pack
    with clock(NOV_10 + timedelta(hours=8)):
        assert balance(customer).available == Decimal("200")  # the expired grant was never available

    with clock(NOV_10 + timedelta(days=1)):
        assert wallet_lots_expire_due() == 1
    assert breakage() == Decimal("1.304")  # the audit: 2.60

    # usage of 9 Nov arriving after breakage cannot reopen the grant: the lots valid then, then paid
    with clock(NOV_10 + timedelta(days=2)):
        ingest(source, [event("r2", at=NOV_9, **SIZE_1_296)], "b2")
    assert breakage() == Decimal("1.304")
    assert lot(Bucket.PACK).remaining == Decimal("98.704")
    assert balance(customer).paid == Decimal("100")


@PATHS
def test_one_batch_across_a_lot_expiry_splits_its_debit_at_the_expiry(source, ingest):
    customer = customer_make(key="key-a")
    with clock(NOV_1):
        topup(customer, "100", "t1")
        grant(customer, "50", "g1", expires_at=NOV_10)

    # one batch: two events before the grant's expiry, one at it and one after (paid credit)
    times = [NOV_9, NOV_10 - timedelta(seconds=1), NOV_10, NOV_10 + timedelta(hours=1)]
    with clock(NOV_10 + timedelta(hours=2)):
        ingest(source, [event(f"r{i}", at=at, **SIZE_6_48) for i, at in enumerate(times)], "b1")

    assert lot(Bucket.GRANTED).remaining == Decimal("50") - Decimal("12.96")
    assert balance(customer).paid == Decimal("100") - Decimal("12.96")
    (debit,) = JournalTransaction.objects.filter(kind="usage.prepaid")  # still one debit per batch × wallet
    assert sum(u.amount for u in debit.wallet_lot_uses.all()) == Decimal("12.96")


def test_a_lot_credited_after_the_usage_does_not_cover_it(source):
    customer = customer_make(key="key-a")
    with clock(NOV_1):
        topup(customer, "100", "t1")
    with clock(NOV_10):
        grant(customer, "50", "p1", bucket="pack", expires_at=datetime(2026, 12, 31, tzinfo=UTC))
        ingest_api(source, [event("r1", at=NOV_9, **SIZE_6_48)], "b1")

    assert lot(Bucket.PACK).remaining == Decimal("50")
    assert balance(customer).paid == Decimal("93.52")


def test_usage_drawn_from_an_expired_lot_does_not_suspend_the_wallet(source):
    customer = customer_make(key="key-a")
    with clock(NOV_1):
        topup(customer, "1", "t1")
        grant(customer, "2.60", "g1", expires_at=NOV_10)

    with clock(NOV_10 + timedelta(hours=8)):
        ingest_api(source, [event("r1", at=NOV_9, **SIZE_1_296)], "b1")
        assert balance(customer).available == Decimal("1")  # the paid credit, untouched

    assert not customer_suspended_for_balance(customer=customer)
