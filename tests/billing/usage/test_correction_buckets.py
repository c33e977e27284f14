"""Re-rating prepaid-time usage moves money between the wallet's buckets as the charges did: a lower price
gives back to the lots and buckets the charges drew (newest charge first, paid credit last and never more
than it gave; a lot broken since comes back as credit expiring at once), a higher price is debited from
the lots valid when the usage happened."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import StaffRole
from billing.invoicing.coverage import usage_coverage_problems
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.usage.corrections import usage_correct
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import Bucket, WalletLot
from billing.wallets.selectors import wallet_balance
from billing.wallets.verify import books_problems
from catalog.models import BookKind, PriceTier
from tests.billing.factories import grant, staff, topup
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make, default_plan, priced_model
from tests.billing.wallets.test_lots_by_usage_time import money_grant

pytestmark = pytest.mark.django_db

FORTY = 5_000_000  # completion tokens: 40.00 at 8 per million, 4.00 at the typo's 0.8


@pytest.fixture
def model():
    m = priced_model(sell_input="0", sell_output="8")
    default_plan()
    return m


def _price(model, output: str, **prices) -> None:
    tiers = PriceTier.objects.filter(entry__model=model, entry__book__kind=BookKind.SELL)
    tiers.update(output=Decimal(output), **{k: Decimal(v) for k, v in prices.items()})


def _correct(customer, model, since, until, key="fix"):
    return usage_correct(
        customer=customer,
        model=model,
        since=since,
        until=until,
        reason="Output price typed wrong",
        actor=staff(StaffRole.FINANCE),
        idempotency_key=key,
    )


def _balance(customer):
    return wallet_balance(wallet=wallet_get_or_create(customer=customer, currency="CNY"))


def _breakage() -> Decimal:
    return -account_get(kind=AccountKind.BREAKAGE, currency="CNY").balance


def _books_clean() -> None:
    assert usage_coverage_problems() == []
    assert books_problems() == []


def test_an_overcharge_paid_from_a_free_grant_goes_back_to_the_grant_not_to_paid(source, model):
    customer = customer_make(key="key-a")
    now = timezone.now()
    money_grant(customer, "50", now - timedelta(days=10), now + timedelta(days=20))
    at = now - timedelta(days=1)
    use(source, "key-a", at, prompt=0, completion=FORTY)  # 40 from the 50 grant
    assert (_balance(customer).granted, _balance(customer).paid) == (Decimal(10), 0)

    _price(model, "0.8")
    correction = _correct(customer, model, at - timedelta(hours=1), at + timedelta(hours=1))

    assert correction.deltas == [{"mode": "prepaid", "currency": "CNY", "sell": "-36"}]
    balance = _balance(customer)
    assert (balance.paid, balance.granted) == (0, Decimal(46))  # never refundable money
    assert WalletLot.objects.get().remaining == Decimal(46)
    assert account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY").balance == Decimal(-4)
    posted = JournalTransaction.objects.count()
    assert _correct(customer, model, at - timedelta(hours=1), at + timedelta(hours=1)) == correction
    assert JournalTransaction.objects.count() == posted  # a rerun posts nothing
    _books_clean()


def test_newest_charge_first_and_paid_credit_last_never_more_than_it_gave(source, model):
    customer = customer_make(key="key-a")
    now = timezone.now()
    topup(customer, "100", "bank-1")
    money_grant(customer, "20", now - timedelta(days=10), now + timedelta(days=5))
    money_grant(customer, "50", now - timedelta(days=10), now + timedelta(days=20))
    first, second = now - timedelta(days=2), now - timedelta(days=1)
    use(source, "key-a", first, prompt=0, completion=FORTY)  # early 20, late 20
    use(source, "key-a", second, prompt=0, completion=FORTY)  # late 30, paid 10
    early, late = WalletLot.objects.order_by("expires_at")
    assert (early.remaining, late.remaining, _balance(customer).paid) == (0, 0, Decimal(90))

    _price(model, "1.6")  # 8.00 each: 64 comes back
    _correct(customer, model, first - timedelta(hours=1), second + timedelta(hours=1))

    early.refresh_from_db(), late.refresh_from_db()
    # The newest charge drew the late grant: it is restored in full (50) before the early one (14), and
    # paid credit, which gave 10, gets nothing while the lots can take the difference.
    assert (late.remaining, early.remaining) == (Decimal(50), Decimal(14))
    assert _balance(customer).paid == Decimal(90)
    _books_clean()


def test_paid_credit_gets_back_only_what_it_gave(source, model):
    customer = customer_make(key="key-a")
    now = timezone.now()
    topup(customer, "100", "bank-1")
    money_grant(customer, "10", now - timedelta(days=10), now + timedelta(days=20))
    at = now - timedelta(days=1)
    use(source, "key-a", at, prompt=0, completion=FORTY)  # grant 10, paid 30
    lot = WalletLot.objects.get()

    _price(model, "0.8")  # 4.00: 36 comes back, 10 to the grant, 26 to paid
    _correct(customer, model, at - timedelta(hours=1), at + timedelta(hours=1))

    lot.refresh_from_db()
    assert lot.remaining == Decimal(10)
    assert _balance(customer).paid == Decimal(96)  # 100 − 30 + 26: at most the 30 it gave

    _price(model, "0.4")  # 2.00: 2 more comes back; the grant has had its 10 back, paid 4 is left of 30
    _correct(customer, model, at - timedelta(hours=1), at + timedelta(hours=1), key="fix-2")
    lot.refresh_from_db()
    assert (lot.remaining, _balance(customer).paid) == (Decimal(10), Decimal(98))
    _books_clean()


def test_one_correction_debits_one_stretch_and_gives_back_another(source, model):
    customer = customer_make(key="key-a")
    now = timezone.now()
    topup(customer, "100", "bank-1")
    money_grant(customer, "50", now - timedelta(days=5), now + timedelta(days=20))
    before, after = now - timedelta(days=8), now - timedelta(days=2)
    _price(model, "0.8", input="2")
    use(source, "key-a", before, prompt=5_000_000, completion=0)  # 10.00, before the grant: paid
    use(source, "key-a", after, prompt=0, completion=FORTY)  # 4.00 from the grant

    _price(model, "8", input="0.4")  # the first costs 2 (−8), the second 40 (+36)
    correction = _correct(customer, model, before - timedelta(hours=1), after + timedelta(hours=1))

    assert correction.deltas == [{"mode": "prepaid", "currency": "CNY", "sell": "28"}]
    # −8 goes back to paid credit, which paid for the first; +36 is drawn from the grant valid then.
    assert (WalletLot.objects.get().remaining, _balance(customer).paid) == (Decimal(10), Decimal(98))
    _books_clean()


def test_a_grant_broken_since_gives_back_credit_that_expires_at_once(source, model):
    customer = customer_make(key="key-a")
    now = timezone.now()
    money_grant(customer, "50", now - timedelta(days=10), now - timedelta(hours=1))
    at = now - timedelta(days=2)
    use(source, "key-a", at, prompt=0, completion=FORTY)  # 40 from the grant
    assert wallet_lots_expire_due() == 1
    assert _breakage() == Decimal(10)

    _price(model, "0.8")
    _correct(customer, model, at - timedelta(hours=1), at + timedelta(hours=1))

    # Priced right, 46 of the grant would have lapsed: the 36 goes to breakage, none to the customer.
    assert _breakage() == Decimal(46)
    balance = _balance(customer)
    assert (balance.paid, balance.granted, balance.available) == (0, 0, 0)
    broken, back = WalletLot.objects.order_by("pk")
    assert (broken.remaining, broken.closed_at is not None) == (0, True)  # breakage is final
    assert (back.bucket, back.amount, back.remaining) == (Bucket.GRANTED, Decimal(36), 0)
    _books_clean()


def test_an_undercharge_draws_the_lots_valid_when_the_usage_happened(source, model):
    customer = customer_make(key="key-a")
    now = timezone.now()
    topup(customer, "100", "bank-1")
    money_grant(customer, "50", now - timedelta(days=30), now - timedelta(days=5))  # expired, not broken
    current = grant(customer, "50", "g-now", expires_at=now + timedelta(days=20)).wallet_lot
    at = now - timedelta(days=10)
    _price(model, "0.8")
    use(source, "key-a", at, prompt=0, completion=FORTY)  # 4.00 from the old grant
    old = WalletLot.objects.exclude(pk=current.pk).get()
    assert old.remaining == Decimal(46)

    _price(model, "8")
    correction = _correct(customer, model, at - timedelta(hours=1), at + timedelta(hours=1))

    assert correction.deltas == [{"mode": "prepaid", "currency": "CNY", "sell": "36"}]
    old.refresh_from_db(), current.refresh_from_db()
    # The old grant covered that day: it pays the 36, not today's grant nor paid credit.
    assert (old.remaining, current.remaining, _balance(customer).paid) == (Decimal(10), Decimal(50), 100)
    _books_clean()
