"""FX per book (issue #17): a reseller's customers' foreign-currency deposits are revalued in the
reseller's book, against its own FX accounts; the operator's book is not touched."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from billing.fx.revaluation import fx_revaluation_run
from billing.ledger.models import AccountKind, JournalEntry
from catalog.services.fx import fx_rate_set
from tests.billing.factories import topup
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db


def test_a_usd_deposit_in_s_book_is_revalued_in_s_book(settings, monkeypatch):
    settings.BASE_CURRENCY = "CNY"
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 10, 1), rate=Decimal("7.00"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 10, 31), rate=Decimal("7.20"))
    s = SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)
    customer = CustomerFactory(name="Shop US", parent=s)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 10, 5))
        topup(customer, "500.00", "usd-topup", currency="USD")  # S's cash and C's deposit, in S's book

    [row] = fx_revaluation_run(month_end=date(2026, 10, 31))

    assert row.account.book == s and row.difference == Decimal("-100.00")
    for txn in (row.journal_transaction, row.reversal_transaction):
        assert txn.book == s
        assert {e.account.book_id for e in txn.entries.all()} == {s.pk}
    kinds = {e.account.kind for e in row.journal_transaction.entries.all()}
    assert kinds == {AccountKind.FX_REVALUATION_DEPOSITS, AccountKind.FX_UNREALISED}
    assert not JournalEntry.objects.filter(account__book__isnull=True).exists()
