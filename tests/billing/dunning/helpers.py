"""A credit customer with the Standard policy, an invoice due on a chosen day, and a payment for it."""

from datetime import date
from decimal import Decimal

from billing.dunning.services import dunning_policy_standard
from billing.dunning.suspension import overdue_suspension_watch
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.usage.models import GatewayKey
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import CustomerFactory

DUE = date(2026, 11, 30)


def dunned_customer(*, language="en", key="key-d", emails="ap@acme.example, cfo@acme.example", **terms):
    customer = CustomerFactory(language=language, contact_email="")
    credit_terms(
        customer,
        payment_term="net",
        payment_days=30,
        billing_emails=emails,
        dunning_policy=dunning_policy_standard(),
        **terms,
    )
    GatewayKey.objects.create(key=key, customer=customer)
    return customer


def invoice_due(customer, *, due=DUE, amount="1200.00") -> Invoice:
    invoice = issued_invoice(customer, amount, issue_date=date(2026, 10, 31))
    Invoice.objects.filter(pk=invoice.pk).update(due_date=due)
    invoice.refresh_from_db()
    return invoice


def pay(invoice: Invoice, amount=None) -> Invoice:
    """Settle ``invoice`` as the receivables service would: post the money, mark the invoice, then ask
    for the overdue suspension to be refreshed."""
    amount = Decimal(amount) if amount is not None else invoice.amount_due
    ccy = invoice.currency
    transaction_post(
        idempotency_key=f"test-pay:{invoice.pk}:{amount}:{invoice.amount_paid}",
        kind="payment.bank",
        lines=[
            debit(account_get(kind=AccountKind.CASH_BANK, currency=ccy), amount, ccy),
            credit(
                account_get(kind=AccountKind.RECEIVABLE, currency=ccy, customer=invoice.customer), amount, ccy
            ),
        ],
    )
    invoice.amount_paid += amount
    invoice.status = Invoice.Status.PAID if invoice.amount_due <= 0 else Invoice.Status.PARTIALLY_PAID
    invoice.save(update_fields=["amount_paid", "status"])
    overdue_suspension_watch(invoice=invoice)
    return invoice
