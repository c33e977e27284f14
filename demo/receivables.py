"""Demo receivables: a bank payment and a credit note on the demo invoices, if period close made any.

Runs after the period close loader (it needs issued invoices) and is idempotent: the payment and the
credit note carry fixed idempotency keys, so a second run finds them and changes nothing.
"""

from django.utils import timezone

from billing.invoicing.models import Invoice
from billing.money import minor_unit, quantize_money
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.models import CreditNote, CustomerPayment
from billing.receivables.services import payment_record

PAYMENT_KEY = "demo:payment:1"
CREDIT_KEY = "demo:credit-note:1"


def load() -> list[tuple[str, str]]:
    open_invoices = list(
        Invoice.objects.filter(status__in=(Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID), total__gt=0)
        .select_related("customer")
        .order_by("due_date", "number")
    )
    if not open_invoices:
        return []
    paid = open_invoices[0]
    if not CustomerPayment.objects.filter(idempotency_key=PAYMENT_KEY).exists():
        # Half of the oldest invoice, by bank transfer: it shows as partially paid with a receipt.
        payment_record(
            customer=paid.customer,
            amount=quantize_money(paid.amount_due / 2, paid.currency),
            currency=paid.currency,
            received_on=timezone.localdate(),
            reference="DEMO-BANK-0001",
            actor=None,
            idempotency_key=PAYMENT_KEY,
            allocate=[(paid, quantize_money(paid.amount_due / 2, paid.currency))],
            note="Demo payment",
        )
    # The largest other invoice, so the credit note shows a meaningful amount.
    others = sorted(open_invoices[1:], key=lambda inv: inv.total, reverse=True)
    credited = others[0] if others else paid
    if not CreditNote.objects.filter(idempotency_key=CREDIT_KEY).exists():
        credited.refresh_from_db()
        line = credited.lines.filter(amount__gt=0).order_by("-amount").first()
        if line is not None:
            amount = quantize_money(
                min(line.amount, max(line.amount / 10, minor_unit(credited.currency))), credited.currency
            )
            credit_note_issue(
                invoice=credited,
                reason="Demo: goodwill discount on the largest line",
                lines=[(line, amount)],
                actor=None,
                idempotency_key=CREDIT_KEY,
            )
    return []
