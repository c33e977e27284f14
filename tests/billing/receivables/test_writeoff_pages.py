"""Write-off pages: the queue, proposing from an invoice or a customer, deciding (four eyes), denials."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.receivables.models import BadDebtRecovery, WriteOff
from billing.receivables.services import payment_record
from billing.receivables.writeoffs import writeoff_approve, writeoff_propose
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def admin():
    return staff(StaffRole.ADMIN)


@pytest.fixture
def proposed(acme, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = writeoff_propose(
        customer=acme, invoices_amounts=[(invoice, None)], reason="Gone", actor=finance, idempotency_key="k"
    )
    return write_off, invoice


def test_finance_proposes_from_the_invoice_page(client, acme, finance):
    jan = issued_invoice(acme, "100.00", issue_date=JAN)
    feb = issued_invoice(acme, "80.00", issue_date=FEB)
    client.force_login(finance)
    page = client.get(reverse("staff-invoice-detail", args=[jan.pk])).content.decode()
    assert f"{reverse('writeoff-propose')}?invoice={jan.pk}" in page

    form = client.get(reverse("writeoff-propose"), {"invoice": jan.pk})
    assert form.status_code == 200 and feb.number in form.content.decode()
    key = form.context["form"]["idempotency_key"].value()
    response = client.post(
        f"{reverse('writeoff-propose')}?invoice={jan.pk}",
        {
            f"take_{jan.pk}": "on",
            f"amount_{jan.pk}": "60.00",
            "reason": "Customer vanished",
            "idempotency_key": key,
        },
    )

    write_off = WriteOff.objects.get()
    assert response.status_code == 302 and response.url == reverse("writeoff-detail", args=[write_off.pk])
    assert (write_off.total, write_off.proposed_by, write_off.reason) == (
        D("60.00"),
        finance,
        "Customer vanished",
    )
    assert list(write_off.lines.values_list("invoice", "amount")) == [(jan.pk, D("60.00"))]


def test_the_proposal_form_names_the_invoice_at_fault(client, acme, finance):
    jan = issued_invoice(acme, "100.00", issue_date=JAN)
    client.force_login(finance)
    url = f"{reverse('writeoff-propose')}?customer={acme.pk}"
    response = client.post(
        url, {f"take_{jan.pk}": "on", f"amount_{jan.pk}": "100.01", "reason": "x", "idempotency_key": "a"}
    )
    assert response.status_code == 400
    assert f"Invoice {jan.number} has only 100.00 CNY due." in response.content.decode()
    nothing = client.post(url, {"reason": "x", "idempotency_key": "b"})
    assert nothing.status_code == 400 and "Tick the invoices to write off" in nothing.content.decode()
    assert not WriteOff.objects.exists()


def test_proposing_the_whole_receivable_from_the_customer(client, acme, finance):
    issued_invoice(acme, "100.00", issue_date=JAN)
    issued_invoice(acme, "80.00", issue_date=FEB)
    client.force_login(finance)
    assert client.get(reverse("writeoff-propose"), {"customer": "ACME-nope"}).status_code == 200
    response = client.post(
        f"{reverse('writeoff-propose')}?customer={acme.pk}",
        {"whole": "on", "reason": "Closed", "idempotency_key": "w"},
    )
    assert response.status_code == 302
    assert WriteOff.objects.get().total == D("180.00")


def test_the_queue_filters_and_sorts(client, proposed, finance, acme, other):
    invoice = issued_invoice(other, "50.00", issue_date=JAN)
    writeoff_propose(
        customer=other, invoices_amounts=[(invoice, None)], reason="Other", actor=finance, idempotency_key="o"
    )
    client.force_login(finance)
    page = client.get(reverse("writeoff-list"), {"q": "Acme", "status": "proposed", "o": "-total"})
    rows = list(page.context["page_obj"])
    assert [w.customer for w in rows] == [acme]
    assert page.context["pending"] == 2
    sorted_page = client.get(reverse("writeoff-list"), {"o": "total"})
    assert [w.total for w in sorted_page.context["page_obj"]] == [D("50.00"), D("100.00")]
    assert client.get(reverse("writeoff-list"), {"after": "not-a-date"}).status_code == 200


def test_the_proposer_is_not_offered_the_decision_and_is_refused(client, admin, acme):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = writeoff_propose(
        customer=acme, invoices_amounts=[(invoice, None)], reason="Gone", actor=admin, idempotency_key="a"
    )
    client.force_login(admin)
    page = client.get(reverse("writeoff-detail", args=[write_off.pk]))
    assert page.context["may_decide"] is False and b'data-testid="approve"' not in page.content
    refused = client.post(
        reverse("writeoff-decide", args=[write_off.pk]),
        {"decision": "approve", "effective_date": "2026-03-01"},
    )
    assert refused.status_code == 403
    write_off.refresh_from_db()
    assert write_off.status == "proposed"


def test_finance_may_not_approve_a_finance_proposal(client, proposed):
    write_off, _invoice = proposed
    other_finance = staff(StaffRole.FINANCE)
    client.force_login(other_finance)
    assert b'data-testid="approve"' not in client.get(reverse("writeoff-detail", args=[write_off.pk])).content
    response = client.post(
        reverse("writeoff-decide", args=[write_off.pk]),
        {"decision": "approve", "effective_date": "2026-03-01"},
    )
    assert response.status_code == 403


def test_an_admin_approves_and_the_invoice_shows_written_off(client, proposed, admin):
    write_off, invoice = proposed
    client.force_login(admin)
    page = client.get(reverse("writeoff-detail", args=[write_off.pk]))
    assert page.context["may_decide"] is True
    response = client.post(
        reverse("writeoff-decide", args=[write_off.pk]),
        {"decision": "approve", "effective_date": "2026-03-01"},
    )
    assert response.status_code == 302
    write_off.refresh_from_db()
    assert (write_off.status, str(write_off.effective_date)) == ("approved", "2026-03-01")
    detail = client.get(reverse("writeoff-detail", args=[write_off.pk])).content.decode()
    assert 'data-testid="writeoff-expense"' in detail
    invoice_page = client.get(reverse("staff-invoice-detail", args=[invoice.pk])).content.decode()
    assert 'data-status="written_off"' in invoice_page and "Written off as bad debt" in invoice_page
    assert 'data-testid="invoice-written-off"' in invoice_page
    # neither a credit note nor a void is offered for what is already written off
    assert 'data-testid="credit-note"' not in invoice_page and 'data-testid="void-form"' not in invoice_page
    assert 'data-testid="void-refused-written-off"' in invoice_page
    pdf = client.get(reverse("staff-invoice-pdf", args=[invoice.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_a_bad_effective_date_and_a_reject_without_reason_answer_clearly(client, proposed, admin):
    write_off, _invoice = proposed
    client.force_login(admin)
    url = reverse("writeoff-decide", args=[write_off.pk])
    response = client.post(url, {"decision": "approve", "effective_date": "2099-01-01"}, follow=True)
    assert "The effective date cannot be in the future." in response.content.decode()
    response = client.post(url, {"decision": "approve", "effective_date": "garbage"}, follow=True)
    assert response.status_code == 200 and "Enter a valid date." in response.content.decode()
    response = client.post(url, {"decision": "reject", "reason": ""}, follow=True)
    assert "Say why the write-off is rejected." in response.content.decode()
    client.post(url, {"decision": "reject", "reason": "They paid a plan"})
    write_off.refresh_from_db()
    assert (write_off.status, write_off.rejection_reason) == ("rejected", "They paid a plan")


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_denied(client, proposed, role):
    write_off, _invoice = proposed
    client.force_login(staff(role))
    assert client.get(reverse("writeoff-list")).status_code == 403
    assert client.get(reverse("writeoff-detail", args=[write_off.pk])).status_code == 403
    assert client.get(reverse("writeoff-propose")).status_code == 403
    assert (
        client.post(reverse("writeoff-decide", args=[write_off.pk]), {"decision": "approve"}).status_code
        == 403
    )


def test_an_auditor_reads_but_may_not_propose_or_decide(client, proposed, auditor):
    write_off, invoice = proposed
    client.force_login(auditor)
    assert client.get(reverse("writeoff-list")).status_code == 200
    page = client.get(reverse("writeoff-detail", args=[write_off.pk]))
    assert page.status_code == 200 and b'data-testid="approve"' not in page.content
    assert client.get(reverse("writeoff-propose"), {"invoice": invoice.pk}).status_code == 403
    response = client.post(
        reverse("writeoff-decide", args=[write_off.pk]),
        {"decision": "approve", "effective_date": "2026-03-01"},
    )
    assert response.status_code == 403
    write_off.refresh_from_db()
    assert write_off.status == "proposed"


def test_portal_users_and_anonymous_visitors_are_kept_out(client, proposed, acme):
    write_off, _invoice = proposed
    anonymous = client.get(reverse("writeoff-detail", args=[write_off.pk]))
    assert anonymous.status_code == 302 and "login" in anonymous.url
    assert (
        client.post(reverse("writeoff-decide", args=[write_off.pk]), {"decision": "approve"}).status_code
        == 302
    )
    owner = MembershipFactory(
        user=UserFactory(email="o@acme.example"), customer=acme, role=MemberRole.OWNER
    ).user
    client.force_login(owner)
    assert client.get(reverse("writeoff-list")).status_code == 403
    assert (
        client.post(reverse("writeoff-decide", args=[write_off.pk]), {"decision": "approve"}).status_code
        == 403
    )
    write_off.refresh_from_db()
    assert write_off.status == "proposed"


def test_finance_applies_the_customers_credit_to_a_written_off_invoice(
    client, proposed, finance, admin, acme
):
    write_off, invoice = proposed
    writeoff_approve(write_off=write_off, approver=admin)
    payment_record(
        customer=acme,
        amount=D("30.00"),
        currency="CNY",
        received_on=FEB,
        reference="late",
        actor=finance,
        idempotency_key="late",
    )
    client.force_login(finance)
    page = client.get(reverse("writeoff-detail", args=[write_off.pk]))
    assert b'data-testid="writeoff-recover"' in page.content
    client.post(reverse("writeoff-recover", args=[write_off.pk, invoice.pk]))
    invoice.refresh_from_db()
    assert (invoice.amount_written_off, invoice.amount_paid) == (D("70.00"), D("30.00"))
    page = client.get(reverse("writeoff-detail", args=[write_off.pk])).content.decode()
    assert 'data-testid="writeoff-recovery"' in page


def test_finance_may_not_decide_a_dunning_proposal_an_admin_does(client, acme, finance, admin):
    # finance may edit the dunning policy that proposes these: an admin decides them
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = writeoff_propose(
        customer=acme,
        invoices_amounts=[(invoice, None)],
        reason="Dunning exhausted",
        actor=None,
        idempotency_key="dunning.exhausted:1",
        origin=WriteOff.Origin.DUNNING,
    )
    url = reverse("writeoff-decide", args=[write_off.pk])
    client.force_login(finance)
    assert b'data-testid="approve"' not in client.get(reverse("writeoff-detail", args=[write_off.pk])).content
    assert client.post(url, {"decision": "approve"}).status_code == 403
    assert client.post(url, {"decision": "reject", "reason": "no"}).status_code == 403
    write_off.refresh_from_db()
    assert write_off.status == "proposed"

    client.force_login(admin)
    assert b'data-testid="approve"' in client.get(reverse("writeoff-detail", args=[write_off.pk])).content
    assert client.post(url, {"decision": "approve", "effective_date": "2026-03-01"}).status_code == 302
    write_off.refresh_from_db()
    assert (write_off.status, write_off.decided_by) == ("approved", admin)


def test_a_payment_recorded_on_a_written_off_invoice_with_the_form_is_a_recovery(
    client, proposed, finance, admin, acme
):
    write_off, invoice = proposed
    writeoff_approve(write_off=write_off, approver=admin, effective_date=FEB)
    client.force_login(finance)
    form = client.get(reverse("staff-payment-create"), {"invoice": invoice.pk})
    assert invoice in form.context["form"].fields["invoice"].queryset
    response = client.post(
        reverse("staff-payment-create"),
        {
            "customer": acme.pk,
            "amount": "40.00",
            "currency": "CNY",
            "received_on": "2026-03-10",
            "reference": "late",
            "allocate": "invoice",
            "invoice": invoice.pk,
            "idempotency_key": form.context["form"].initial["idempotency_key"],
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_written_off) == (
        "written_off",
        D("40.00"),
        D("60.00"),
    )
    recovery = BadDebtRecovery.objects.get()
    assert (recovery.amount, recovery.recovered_on, recovery.payment.reference) == (
        D("40.00"),
        date(2026, 3, 10),
        "late",
    )
    assert recovery.journal_transaction.effective_date == date(2026, 3, 10)
