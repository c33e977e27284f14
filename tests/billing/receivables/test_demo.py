"""The receivables demo loader: one payment and one credit note on the demo invoices, once."""

from decimal import Decimal

import pytest

from billing.receivables.models import CreditNote, CustomerPayment, Receipt
from demo import receivables as demo
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN
from tests.billing.receivables.helpers import books_agree

pytestmark = pytest.mark.django_db


def test_nothing_happens_without_invoices():
    assert demo.load() == []
    assert not CustomerPayment.objects.exists()


def test_the_demo_pays_half_the_oldest_invoice_and_credits_the_next_once(acme):
    oldest = issued_invoice(acme, "300.00", issue_date=JAN)
    newer = issued_invoice(acme, "120.00", issue_date=FEB)

    demo.load()
    demo.load()

    oldest.refresh_from_db()
    newer.refresh_from_db()
    assert (oldest.status, oldest.amount_paid) == ("partially_paid", Decimal("150.00"))
    assert CreditNote.objects.get().invoice_id == newer.pk
    assert newer.amount_credited == Decimal("12.00")
    assert (CustomerPayment.objects.count(), Receipt.objects.count()) == (1, 1)
    ledger, documents = books_agree(acme)
    assert ledger == documents == Decimal("258.00")
