"""The upcoming invoice: the invoice-to-date of the open period, for finance and for the customer."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import MemberRole, StaffRole
from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, InvoiceLine, ServiceCharge
from billing.invoicing.upcoming import upcoming_invoices
from billing.ledger.models import JournalTransaction
from billing.terms.models import BillingTerms
from tests.billing.factories import staff
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

DEC = datetime(2026, 12, 1, 2, tzinfo=UTC)
TODAY = date(2026, 12, 6)


@pytest.fixture
def credit(model):
    customer = customer_make(key="key-u", mode=BillingTerms.Mode.MONTHLY, tax_rate=Decimal("0.06"))
    ServiceCharge.objects.create(
        customer=customer,
        description="Agent orchestration",
        amount=Decimal("100"),
        currency="CNY",
        recurrence=ServiceCharge.Recurrence.MONTHLY,
        starts_on=date(2026, 12, 1),
    )
    return customer


def _stored() -> tuple[int, int, int]:
    return Invoice.objects.count(), InvoiceLine.objects.count(), JournalTransaction.objects.count()


def test_the_preview_is_what_the_close_will_invoice_and_stores_nothing(source, credit):
    use(source, "key-u", DEC)
    before = _stored()

    period, [upcoming] = upcoming_invoices(credit, today=TODAY)

    assert _stored() == before
    assert period.label == "2026-12"
    # 5.234558 of usage (5.23) and the 100 service charge, 6% tax on each line.
    assert [(ln.kind, ln.amount, ln.tax_amount) for ln in upcoming.lines] == [
        ("usage", Decimal("5.23"), Decimal("0.31")),
        ("service", Decimal("100.00"), Decimal("6.00")),
    ]
    assert (upcoming.invoice.subtotal, upcoming.invoice.tax_amount, upcoming.invoice.total) == (
        Decimal("105.23"),
        Decimal("6.31"),
        Decimal("111.54"),
    )

    use(source, "key-u", DEC)  # more usage lands: the preview follows
    _period, [upcoming] = upcoming_invoices(credit, today=TODAY)
    assert upcoming.lines[0].amount == Decimal("10.47") and upcoming.invoice.total == Decimal("117.10")

    [invoice] = close_period("2026-12", issue_date=date(2027, 1, 1)).invoices
    stored = list(invoice.lines.order_by("position").values_list("kind", "amount", "tax_amount"))
    assert stored == [(ln.kind, ln.amount, ln.tax_amount) for ln in upcoming.lines]
    assert invoice.total == upcoming.invoice.total


def test_a_prepaid_customer_has_no_upcoming_invoice(source, model):
    prepaid = customer_make(key="key-p")
    assert upcoming_invoices(prepaid, today=TODAY)[1] == []


def test_finance_sees_each_credit_customers_upcoming_invoice(client, source, credit):
    use(source, "key-u", DEC)
    client.force_login(staff(StaffRole.FINANCE))
    listing = client.get(reverse("staff-upcoming-invoices"), {"q": credit.name}).content.decode()
    assert reverse("staff-upcoming-invoice", args=[credit.pk]) in listing
    page = client.get(reverse("staff-upcoming-invoice", args=[credit.pk])).content.decode()
    assert 'data-testid="upcoming-invoice"' in page and "5.23" in page and "111.54" in page
    assert "Amount due" not in page  # a preview is not an invoice

    client.force_login(staff(StaffRole.SALES))
    assert client.get(reverse("staff-upcoming-invoice", args=[credit.pk])).status_code == 403
    client.force_login(MembershipFactory(customer=credit, role=MemberRole.OWNER).user)
    assert client.get(reverse("staff-upcoming-invoice", args=[credit.pk])).status_code == 403


def test_the_customer_sees_only_its_own_upcoming_invoice_in_its_language(client, source, credit):
    use(source, "key-u", DEC)
    other = customer_make(key="key-o", mode=BillingTerms.Mode.MONTHLY)
    client.force_login(MembershipFactory(customer=credit, role=MemberRole.BILLING).user)
    page = client.get(reverse("portal-upcoming-invoice")).content.decode()
    assert "111.54" in page and "Agent orchestration" in page

    client.force_login(MembershipFactory(customer=other, role=MemberRole.OWNER).user)
    page = client.get(reverse("portal-upcoming-invoice")).content.decode()
    assert (
        'data-testid="upcoming-empty"' in page and "111.54" not in page and "Agent orchestration" not in page
    )
    client.force_login(staff(StaffRole.FINANCE))
    assert client.get(reverse("portal-upcoming-invoice")).status_code == 403

    client.force_login(MembershipFactory(customer=credit, role=MemberRole.OWNER).user)
    with translation.override("en"):  # the request switches to Chinese; the tests after it must not
        page = client.get(reverse("portal-upcoming-invoice"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "即将开具的发票" in page and "111.54" in page
