"""Accountant exports read one book (issue #17): the operator's by default, or a resale sub-distributor's;
neither holds the other's accounts, documents or entries, and each trial balance totals zero."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Customer, StaffRole
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
OCT_5 = dt.date(2026, 10, 5)
OCTOBER = {"period": "month", "month": "2026-10"}


@pytest.fixture
def sold():
    """Reseller S's customer C invoiced 300.00 in S's book; the operator's customer D 100.00 in ours."""
    s = SubDistributorFactory(name="Reseller S", code="reseller-s", chain_mode=Customer.ChainMode.RESALE)
    c = CustomerFactory(name="Shop C", code="shop-c", parent=s)
    d = CustomerFactory(name="Direct D", code="direct-d")
    return s, issued_invoice(c, "300.00", issue_date=OCT_5), issued_invoice(d, "100.00", issue_date=OCT_5)


def export(client, kind: str, **query) -> list[dict]:
    response = client.get(reverse("staff-accountant-export", args=[kind]), {**OCTOBER, **query})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def totals_zero(trial: list[dict]) -> bool:
    totals = [r for r in trial if r["account"] == "TOTAL"]
    return bool(totals) and all(Decimal(r[col]) == 0 for r in totals for col in ("opening", "closing"))


@pytest.fixture
def finance(client):
    client.force_login(staff(StaffRole.FINANCE))
    return client


def test_the_operators_exports_hold_none_of_a_resellers_entries(finance, sold):
    s, _c_invoice, d_invoice = sold
    journal = export(finance, "journal")  # no book chosen: the operator's
    assert {r["transaction"] for r in journal} == {str(d_invoice.journal_transaction_id)}
    assert {r["customer"] for r in journal if r["customer"]} == {"direct-d"}
    assert not [r for r in journal if f"book={s.pk}" in r["account"]]
    assert export(finance, "journal", book="operator") == journal
    assert [r["number"] for r in export(finance, "invoices")] == [d_invoice.number]
    trial = export(finance, "trial_balance")
    assert not [r for r in trial if f"book={s.pk}" in r["account"] or "shop-c" in r["account_name"]]
    assert all(
        Decimal(r[col]) == 0 for r in trial if r["account"] == "TOTAL" for col in ("opening", "closing")
    )


def test_a_resellers_exports_hold_only_its_own(finance, sold):
    s, c_invoice, _d_invoice = sold
    journal = export(finance, "journal", book="reseller-s")
    assert journal and {r["customer"] for r in journal if r["customer"]} == {"shop-c"}
    assert {r["transaction"] for r in journal} == {str(c_invoice.journal_transaction_id)}
    assert [r["number"] for r in export(finance, "invoices", book="reseller-s")] == [c_invoice.number]
    trial = export(finance, "trial_balance", book="reseller-s")
    accounts = [r for r in trial if r["account"] != "TOTAL"]
    assert accounts and all(f"book={s.pk}" in r["account"] for r in accounts)
    assert all(
        Decimal(r[col]) == 0 for r in trial if r["account"] == "TOTAL" for col in ("opening", "closing")
    )


def test_the_page_offers_every_book_and_names_the_one_chosen(finance, sold):
    with translation.override("en"):
        page = finance.get(reverse("staff-accountant-exports"), {**OCTOBER, "book": "reseller-s"})
    content = page.content.decode()
    assert 'value="operator"' in content and 'value="reseller-s"' in content
    assert "Exports of the book of Reseller S" in content
    assert "book=reseller-s" in content  # the links keep the book


def test_a_key_that_is_no_book_is_refused(finance, sold):
    response = finance.get(
        reverse("staff-accountant-export", args=["journal"]), {**OCTOBER, "book": "direct-d"}
    )
    assert response.status_code == 400
