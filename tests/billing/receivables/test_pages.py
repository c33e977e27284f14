"""Invoice, payment and credit-note pages: staff and portal, and who may do what."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import MemberRole
from billing.invoicing.models import Invoice
from billing.invoicing.services import LineDraft, invoice_create
from billing.receivables.models import CreditNote, CustomerPayment
from billing.receivables.services import payment_record
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def invoices(acme, other):
    return {
        "jan": issued_invoice(acme, "100.00", issue_date=JAN),
        "feb": issued_invoice(acme, "200.00", issue_date=FEB),
        "other": issued_invoice(other, "999.00", issue_date=JAN),
    }


@pytest.fixture
def owner(acme):
    return MembershipFactory(
        user=UserFactory(email="owner@acme.example.com"), customer=acme, role=MemberRole.OWNER
    ).user


def test_staff_invoice_list_filters_sorts_and_totals(client, finance, invoices, acme):
    client.force_login(finance)

    everything = client.get("/dashboard/finance/invoices/")
    acme_only = client.get(f"/dashboard/finance/invoices/?customer={acme.pk}&o=-total")
    overdue = client.get("/dashboard/finance/invoices/?overdue=true")

    assert everything.status_code == 200
    assert len(everything.context["page_obj"]) == 3
    assert [i.total for i in acme_only.context["page_obj"]] == [D("200.00"), D("100.00")]
    assert acme_only.context["totals"] == [
        {"currency": "CNY", "count": 2, "total": D("300.00"), "due": D("300.00")}
    ]
    assert len(overdue.context["page_obj"]) == 3  # due on receipt in January and February
    assert b"Issue selected drafts" in everything.content


def test_bulk_issue_issues_only_the_selected_drafts(client, finance, acme):
    drafts = [
        invoice_create(
            customer=acme, lines=[LineDraft(kind="service", description=f"d{n}", amount_exact=D("5"))]
        )
        for n in range(3)
    ]
    client.force_login(finance)

    response = client.post(
        "/dashboard/finance/invoices/bulk/", {"action": "issue", "ids": [drafts[0].pk, drafts[2].pk]}
    )

    assert response.status_code == 302
    assert [Invoice.objects.get(pk=d.pk).status for d in drafts] == ["issued", "draft", "issued"]


def test_send_selected_mails_the_pdf_to_the_billing_contacts(
    client, finance, acme, invoices, eager_celery, django_capture_on_commit_callbacks
):
    acme.billing_terms.billing_emails = "ap@acme.example.com, cfo@acme.example.com"
    acme.billing_terms.save()
    client.force_login(finance)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dashboard/finance/invoices/bulk/", {"action": "send", "ids": [invoices["jan"].pk]})

    (message,) = mail.outbox
    assert message.to == ["ap@acme.example.com", "cfo@acme.example.com"]
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == (f"{invoices['jan'].number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    invoices["jan"].refresh_from_db()
    assert invoices["jan"].sent_at is not None


def test_invoice_detail_shows_payments_and_credit_notes_and_downloads_the_pdf(
    client, finance, invoices, acme
):
    payment_record(
        customer=acme,
        amount=D("60.00"),
        currency="CNY",
        received_on=date(2026, 2, 1),
        reference="ICBC-42",
        actor=finance,
        idempotency_key="p",
    )
    client.force_login(finance)

    page = client.get(f"/dashboard/finance/invoices/{invoices['jan'].pk}/")
    pdf = client.get(f"/dashboard/finance/invoices/{invoices['jan'].pk}/pdf/")

    assert page.status_code == 200
    assert b"ICBC-42" in page.content
    assert b'data-testid="invoice-due">40.00 CNY' in page.content
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_finance_records_a_payment_through_the_form_once(client, finance, invoices, acme):
    client.force_login(finance)
    form = client.get(f"/dashboard/finance/payments/new/?invoice={invoices['feb'].pk}")
    key = form.context["form"].initial["idempotency_key"]
    data = {
        "customer": acme.pk,
        "amount": "200.00",
        "currency": "cny",
        "received_on": "2026-03-01",
        "reference": "ICBC-7",
        "allocate": "invoice",
        "invoice": invoices["feb"].pk,
        "idempotency_key": key,
    }

    first = client.post("/dashboard/finance/payments/new/", data)
    double_click = client.post("/dashboard/finance/payments/new/", data)

    assert first.status_code == 302 and double_click.status_code == 302
    assert CustomerPayment.objects.count() == 1
    invoices["feb"].refresh_from_db()
    invoices["jan"].refresh_from_db()
    assert (invoices["feb"].status, invoices["jan"].status) == ("paid", "issued")


def test_a_bad_payment_form_names_the_field(client, finance, acme):
    client.force_login(finance)
    response = client.post(
        "/dashboard/finance/payments/new/",
        {
            "customer": acme.pk,
            "amount": "10.00",
            "currency": "USD",
            "received_on": "2026-03-01",
            "allocate": "oldest",
            "idempotency_key": "k",
        },
    )
    assert response.status_code == 400
    assert "billed in CNY" in str(response.context["form"].errors["currency"])
    assert not CustomerPayment.objects.exists()


def test_credit_note_form_and_void_from_the_detail_page(client, finance, invoices):
    client.force_login(finance)
    line = invoices["feb"].lines.get()
    form = client.get(f"/dashboard/finance/invoices/{invoices['feb'].pk}/credit-note/")
    key = form.context["form"].initial["idempotency_key"]

    credited = client.post(
        f"/dashboard/finance/invoices/{invoices['feb'].pk}/credit-note/",
        {"reason": "Discount agreed", f"line_{line.pk}": "50.00", "idempotency_key": key},
    )
    voided = client.post(f"/dashboard/finance/invoices/{invoices['jan'].pk}/void/", {"reason": "Duplicate"})

    assert credited.status_code == 302 and voided.status_code == 302
    assert CreditNote.objects.get(voids_invoice=False).total == D("50.00")
    invoices["jan"].refresh_from_db()
    assert invoices["jan"].status == "void"
    assert client.get("/dashboard/finance/credit-notes/").context["page_obj"].paginator.count == 2
    searched = client.get("/dashboard/finance/credit-notes/", {"q": "discount agreed"})
    assert [n.reason for n in searched.context["page_obj"]] == ["Discount agreed"]
    by_invoice = client.get("/dashboard/finance/credit-notes/", {"q": invoices["jan"].number})
    assert [n.voids_invoice for n in by_invoice.context["page_obj"]] == [True]


def test_sales_can_read_but_not_record_payments_or_act(client, sales, invoices, acme):
    client.force_login(sales)
    assert client.get("/dashboard/finance/invoices/").status_code == 200
    assert client.get("/dashboard/finance/payments/new/").status_code == 403
    assert (
        client.post(
            "/dashboard/finance/payments/new/",
            {
                "customer": acme.pk,
                "amount": "1",
                "currency": "CNY",
                "received_on": "2026-03-01",
                "idempotency_key": "x",
            },
        ).status_code
        == 403
    )
    assert (
        client.post(f"/dashboard/finance/invoices/{invoices['jan'].pk}/void/", {"reason": "x"}).status_code
        == 403
    )
    assert not CustomerPayment.objects.exists()


def test_auditor_reads_but_cannot_post(client, auditor, invoices):
    client.force_login(auditor)
    assert client.get(f"/dashboard/finance/invoices/{invoices['jan'].pk}/").status_code == 200
    response = client.post(
        "/dashboard/finance/invoices/bulk/", {"action": "issue", "ids": [invoices["jan"].pk]}
    )
    assert response.status_code == 403
    assert (
        client.post(f"/dashboard/finance/invoices/{invoices['jan'].pk}/void/", {"reason": "x"}).status_code
        == 403
    )
    invoices["jan"].refresh_from_db()
    assert invoices["jan"].status == "issued"


def test_a_customer_user_cannot_open_staff_pages(client, owner, invoices):
    client.force_login(owner)
    assert client.get("/dashboard/finance/invoices/").status_code == 403
    assert client.get(f"/dashboard/finance/invoices/{invoices['jan'].pk}/pdf/").status_code == 403
    assert client.get("/dashboard/finance/payments/").status_code == 403


def test_the_portal_lists_only_the_customers_own_issued_invoices(client, owner, invoices, acme):
    draft = invoice_create(
        customer=acme, lines=[LineDraft(kind="service", description="x", amount_exact=D("5"))]
    )
    client.force_login(owner)

    listing = client.get("/portal/invoices/")

    assert {i.pk for i in listing.context["page_obj"]} == {invoices["jan"].pk, invoices["feb"].pk}
    assert client.get(f"/portal/invoices/{invoices['other'].pk}/").status_code == 404
    assert client.get(f"/portal/invoices/{invoices['other'].pk}/pdf/").status_code == 404
    assert client.get(f"/portal/invoices/{draft.pk}/").status_code == 404
    pdf = client.get(f"/portal/invoices/{invoices['jan'].pk}/pdf/")
    assert pdf.content.startswith(b"%PDF")


def test_a_sub_distributor_sees_its_subtree_but_pays_only_its_own(client, stripe_http):
    acme = SubDistributorFactory(name="Acme Resale")
    child = CustomerFactory(name="Child Co", parent=acme)
    theirs = issued_invoice(child, "80.00", issue_date=JAN)
    mine = issued_invoice(acme, "20.00", issue_date=JAN)
    user = MembershipFactory(user=UserFactory(), customer=acme, role=MemberRole.OWNER).user
    client.force_login(user)

    assert client.get(f"/portal/invoices/{theirs.pk}/").status_code == 200
    assert client.post(f"/portal/invoices/{theirs.pk}/pay/").status_code == 403
    assert client.post(f"/portal/invoices/{mine.pk}/pay/").status_code == 302
    assert stripe_http.requests and CustomerPayment.objects.get().intended_invoice_id == mine.pk


def test_pay_by_card_redirects_to_checkout_and_a_viewer_may_not_pay(
    client, owner, invoices, acme, stripe_http
):
    viewer = MembershipFactory(user=UserFactory(), customer=acme, role=MemberRole.VIEWER).user
    client.force_login(owner)

    detail = client.get(f"/portal/invoices/{invoices['jan'].pk}/")
    paid = client.post(f"/portal/invoices/{invoices['jan'].pk}/pay/")

    assert b'data-testid="pay-by-card"' in detail.content
    payment = CustomerPayment.objects.get()
    assert paid.status_code == 302 and paid["Location"] == payment.checkout_url
    client.force_login(viewer)
    assert b'data-testid="pay-by-card"' not in client.get(f"/portal/invoices/{invoices['jan'].pk}/").content
    assert client.post(f"/portal/invoices/{invoices['jan'].pk}/pay/").status_code == 403
    assert client.post(f"/portal/invoices/{invoices['other'].pk}/pay/").status_code == 404


def test_receipts_are_listed_for_staff_and_only_the_customers_own_in_the_portal(
    client, finance, owner, acme, other
):
    for customer, key in ((acme, "a"), (other, "b")):
        payment_record(
            customer=customer,
            amount=D("10.00"),
            currency="CNY",
            received_on=date(2026, 3, 1),
            reference=f"ref-{key}",
            actor=finance,
            idempotency_key=key,
            allocate=None,
        )
    mine, theirs = (customer.receipts.get() for customer in (acme, other))

    client.force_login(finance)
    assert client.get("/dashboard/finance/receipts/").context["page_obj"].paginator.count == 2
    searched = client.get("/dashboard/finance/receipts/", {"q": other.name})
    assert [r.pk for r in searched.context["page_obj"]] == [theirs.pk]
    assert client.get(f"/dashboard/finance/receipts/{theirs.pk}/pdf/").content.startswith(b"%PDF")

    client.force_login(owner)
    assert [r.pk for r in client.get("/portal/receipts/").context["page_obj"]] == [mine.pk]
    assert client.get(f"/portal/receipts/{mine.pk}/pdf/").content.startswith(b"%PDF")
    assert client.get(f"/portal/receipts/{theirs.pk}/pdf/").status_code == 404
