"""Unallocated credit is applied to open invoices automatically (oldest due first) unless turned off."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice
from billing.receivables.services import credit_auto_apply, customer_credit, payment_record
from billing.terms.models import BillingTerms
from billing.terms.services import EDITABLE_FIELDS
from tests.billing.factories import staff
from tests.billing.invoicing.conftest import model, source, use  # noqa: F401
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.billing.receivables.conftest import FEB, JAN, MAR
from tests.billing.receivables.helpers import books_agree, refreshed
from tests.billing.terms.test_terms_page import form_data
from tests.billing.usage.factories import customer_make
from tests.factories import BillingTermsFactory

pytestmark = pytest.mark.django_db
D = Decimal


def kept_as_credit(customer, amount: str, key: str):
    return payment_record(
        customer=customer,
        amount=D(amount),
        currency="CNY",
        received_on=date(2026, 10, 25),
        reference=key,
        actor=None,
        idempotency_key=key,
        allocate=None,
    )


def test_credit_goes_to_the_oldest_due_invoices_first_when_one_is_issued(
    acme, django_capture_on_commit_callbacks
):
    kept_as_credit(acme, "250.00", "credit-250")
    with django_capture_on_commit_callbacks(execute=True):
        march = issued_invoice(acme, "300.00", issue_date=MAR)
    march.refresh_from_db()
    assert (march.status, march.amount_paid) == ("partially_paid", D("250.00"))

    # Two older invoices issued later still come first for credit arriving afterwards.
    with django_capture_on_commit_callbacks(execute=True):
        january = issued_invoice(acme, "100.00", issue_date=JAN)
        february = issued_invoice(acme, "200.00", issue_date=FEB)
    kept_as_credit(acme, "150.00", "credit-150")
    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(acme, "10.00", issue_date=MAR)
    january, february, march = refreshed(january, february, march)
    assert (january.status, february.amount_paid, march.amount_paid) == ("paid", D("50.00"), D("250.00"))
    assert customer_credit(customer=acme, currency="CNY") == 0
    assert books_agree(acme)[0] == books_agree(acme)[1]


def test_the_period_close_applies_credit_to_the_invoices_it_issues(
    source,  # noqa: F811
    model,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    customer = customer_make(
        key="key-auto", mode=BillingTerms.Mode.MONTHLY, payment_term="net", payment_days=30
    )
    kept_as_credit(customer, "100.00", "credit-close")
    use(source, "key-auto", datetime(2026, 10, 3, 2, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        [invoice] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices

    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid == invoice.total > 0
    assert customer_credit(customer=customer, currency="CNY") == D("100.00") - invoice.total


def test_turned_off_credit_waits_for_finance(acme, django_capture_on_commit_callbacks):
    credit_terms(acme, auto_apply_credit=False)
    kept_as_credit(acme, "250.00", "credit-off")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    assert credit_auto_apply(customer_id=acme.pk, currency="CNY") == []
    assert customer_credit(customer=acme, currency="CNY") == D("250.00")
    assert "auto_apply_credit" in EDITABLE_FIELDS


def test_finance_s_explicit_choice_is_kept_when_the_payment_is_recorded(acme, finance):
    january = issued_invoice(acme, "100.00", issue_date=JAN)
    february = issued_invoice(acme, "200.00", issue_date=FEB)
    payment_record(
        customer=acme,
        amount=D("150.00"),
        currency="CNY",
        received_on=date(2026, 3, 10),
        reference="ICBC-7",
        actor=finance,
        idempotency_key="pay-7",
        allocate=[(february, D("120.00"))],
    )
    january, february = refreshed(january, february)
    assert (january.amount_paid, february.amount_paid) == (D("0"), D("120.00"))
    assert Invoice.objects.filter(customer=acme, status="issued").get() == january


def test_staff_turn_it_off_on_the_terms_page_and_an_auditor_may_not(client):
    terms = BillingTermsFactory(mode="monthly", customer__language="en")
    assert terms.auto_apply_credit  # on by default
    url = reverse("staff-customer-terms", args=[terms.customer_id])

    client.force_login(staff(StaffRole.AUDITOR))
    page = client.get(url)
    assert page.status_code == 200 and 'name="auto_apply_credit"' in page.content.decode()
    assert client.post(url, form_data(terms)).status_code == 403

    client.force_login(staff(StaffRole.SALES))
    assert client.post(url, form_data(terms)).status_code == 302  # the box left unticked
    terms.refresh_from_db()
    assert terms.auto_apply_credit is False
    assert terms.changes.get().changes["auto_apply_credit"] == ["True", "False"]
    client.post(url, form_data(terms, auto_apply_credit="on"))
    terms.refresh_from_db()
    assert terms.auto_apply_credit is True
