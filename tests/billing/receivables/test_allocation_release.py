"""Releasing allocations by dated rows, and credit-note keys held to the request that first used them."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import MemberRole
from billing.invoicing.models import Invoice
from billing.receivables.allocations import (
    allocation_release,
    invoice_paid_at,
    payment_allocations_release,
)
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.models import CreditNote, PaymentAllocation
from billing.receivables.services import customer_credit, payment_record, payment_unallocated
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN
from tests.billing.receivables.helpers import books_agree, refreshed
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
PAID_ON = date(2026, 3, 10)


@pytest.fixture
def paid(acme, finance):
    """Two invoices (100 in January, 200 in February) paid by one payment of 300 on 10 March."""
    january = issued_invoice(acme, "100.00", issue_date=JAN)
    february = issued_invoice(acme, "200.00", issue_date=FEB)
    payment = payment_record(
        customer=acme,
        amount=D("300.00"),
        currency="CNY",
        received_on=PAID_ON,
        reference="ICBC-0310",
        actor=finance,
        idempotency_key="pay-0310",
    )
    return payment, january, february


def test_allocations_of_a_recorded_payment_take_effect_on_the_day_it_was_received(paid):
    payment, january, _february = paid
    for allocation in payment.allocations.all():
        assert timezone.localtime(allocation.allocated_at).date() == PAID_ON
    assert invoice_paid_at(january, PAID_ON - timedelta(days=1)) == 0
    assert invoice_paid_at(january, PAID_ON) == D("100.00")


def test_a_partial_release_reopens_the_invoice_by_that_much_and_keeps_the_history(acme, paid, finance):
    payment, _january, february = paid
    allocation = PaymentAllocation.objects.get(invoice=february)
    released_on = date(2026, 4, 2)

    row = allocation_release(
        allocation=allocation, amount=D("50.00"), at=released_on, reason="Misposted part", actor=finance
    )

    (february,) = refreshed(february)
    assert (february.status, february.amount_paid, february.amount_due) == (
        "partially_paid",
        D("150.00"),
        D("50.00"),
    )
    assert (row.amount, row.releases_id, row.allocated_by) == (D("-50.00"), allocation.pk, finance)
    assert timezone.localtime(row.allocated_at).date() == released_on
    allocation.refresh_from_db()
    assert allocation.amount == D("200.00")  # never shrunk
    assert payment_unallocated(payment) == D("50.00") == customer_credit(customer=acme, currency="CNY")
    assert invoice_paid_at(february, released_on - timedelta(days=1)) == D("200.00")
    assert invoice_paid_at(february, released_on) == D("150.00")
    assert books_agree(acme)[0] == books_agree(acme)[1]


def test_what_cannot_be_released_is_refused(paid, finance, sales):
    _payment, january, _february = paid
    allocation = PaymentAllocation.objects.get(invoice=january)
    with pytest.raises(ValidationError, match="left to release"):
        allocation_release(allocation=allocation, amount=D("100.01"), at=PAID_ON, reason="x", actor=finance)
    with pytest.raises(ValidationError, match="future"):
        allocation_release(
            allocation=allocation, at=timezone.localdate() + timedelta(days=1), reason="x", actor=finance
        )
    with pytest.raises(ValidationError, match="why"):
        allocation_release(allocation=allocation, at=PAID_ON, reason=" ", actor=finance)
    with pytest.raises(PermissionDenied):
        allocation_release(allocation=allocation, at=PAID_ON, reason="x", actor=sales)
    row = allocation_release(allocation=allocation, at=PAID_ON, reason="Bounced", actor=finance)
    with pytest.raises(ValidationError, match="cannot be released"):
        allocation_release(allocation=row, at=PAID_ON, reason="x", actor=finance)
    with pytest.raises(ValidationError, match="in full already"):
        allocation_release(allocation=allocation, at=PAID_ON, reason="x", actor=finance)
    assert allocation.released_by.count() == 1


def test_a_release_is_never_dated_before_the_allocation_it_releases(paid, finance):
    _payment, january, _february = paid
    allocation = PaymentAllocation.objects.get(invoice=january)
    row = allocation_release(allocation=allocation, at=JAN, reason="Backdated", actor=finance)
    assert row.allocated_at == allocation.allocated_at
    assert invoice_paid_at(january, JAN) == 0 and invoice_paid_at(january, PAID_ON) == 0


def test_releasing_a_payment_reopens_everything_it_paid_newest_first(acme, paid, finance):
    payment, january, february = paid
    at = timezone.make_aware(datetime(2026, 4, 1, 9, 0))

    part = payment_allocations_release(
        payment=payment, amount=D("250.00"), at=at, reason="Bounced", actor=finance
    )
    # February's allocation was made last: it goes back first, then 50 of January's.
    assert [(row.invoice_id, row.amount) for row in part] == [
        (february.pk, D("-200.00")),
        (january.pk, D("-50.00")),
    ]
    rest = payment_allocations_release(payment=payment, at=at, reason="Bounced", actor=finance)
    assert sum(row.amount for row in part + rest) == D("-300.00")
    january, february = refreshed(january, february)
    assert (january.status, february.status) == ("issued", "issued")
    assert (january.amount_due, february.amount_due) == (D("100.00"), D("200.00"))
    assert payment_allocations_release(payment=payment, at=at, reason="Again", actor=finance) == []
    with pytest.raises(ValidationError, match="settles only"):
        payment_allocations_release(payment=payment, amount=D("1.00"), at=at, reason="x", actor=finance)
    assert books_agree(acme)[0] == books_agree(acme)[1]


def test_a_credit_note_key_reused_with_a_different_amount_is_refused(acme, finance):
    invoice = issued_invoice(acme, "500.00", issue_date=JAN)

    def issue(**kwargs):
        fields = {"invoice": invoice, "reason": "Goodwill", "actor": finance, "idempotency_key": "cn-key"}
        return credit_note_issue(**{**fields, **kwargs})

    first = issue(amount=D("100.00"))
    # The same request again (100 written another way) returns the first note and posts nothing more.
    assert issue(amount=D("100.0")).pk == first.pk
    for changed in ({"amount": D("150.00")}, {"reason": "Other"}, {"amount": None}):
        with pytest.raises(ValidationError, match="different amount") as refused:
            issue(**changed)
        assert first.number in str(refused.value)
    other = issued_invoice(acme, "50.00", issue_date=JAN)
    with pytest.raises(ValidationError, match="another credit note"):
        issue(invoice=other, amount=D("100.00"))
    assert CreditNote.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_credited == D("100.00")


def test_a_credit_note_cannot_be_dated_in_the_future(acme, finance):
    invoice = issued_invoice(acme, "500.00", issue_date=JAN)
    with pytest.raises(ValidationError, match="future"):
        credit_note_issue(
            invoice=invoice,
            reason="Goodwill",
            actor=finance,
            idempotency_key="cn-future",
            issue_date=timezone.localdate() + timedelta(days=1),
        )
    assert Invoice.objects.get(pk=invoice.pk).amount_credited == 0


def test_invoice_and_payment_pages_show_a_release_with_its_day_and_reason(client, acme, paid, finance):
    payment, january, _february = paid
    allocation = PaymentAllocation.objects.get(invoice=january)
    allocation_release(allocation=allocation, at=date(2026, 4, 2), reason="Bounced cheque", actor=finance)
    owner = MembershipFactory(user=UserFactory(), customer=acme, role=MemberRole.OWNER).user

    for user, url in (
        (finance, f"/dashboard/finance/payments/{payment.pk}/"),
        (finance, f"/dashboard/finance/invoices/{january.pk}/"),
        (owner, f"/portal/invoices/{january.pk}/"),
    ):
        client.force_login(user)
        page = client.get(url).content.decode()
        assert 'data-testid="allocation-release"' in page
        assert "Released on 2026-04-02: Bounced cheque" in page
