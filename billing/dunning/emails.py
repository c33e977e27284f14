"""The reminder e-mail of one dunning level: subject and body per language, the invoice PDF attached.

The texts are templates per language (``templates/dunning/email/<language>/``) rather than gettext
msgids, because a reminder is prose a finance team words per language (and tone per stage), not a UI
string; the template is chosen by the customer's document language, English when it has none.
"""

from django.core.mail import EmailMessage
from django.template.loader import select_template
from django.utils import translation

from billing.dunning.models import DunningLevel
from billing.invoicing.models import Invoice
from common.currencies import amount_display


def notice_stage(level: DunningLevel) -> str:
    """``upcoming`` before the due date, ``suspension`` at a suspending level, else ``overdue``."""
    if level.suspend_service:
        return "suspension"
    return "upcoming" if level.days_from_due < 0 else "overdue"


def _render(name: str, language: str, context: dict) -> str:
    template = select_template([f"dunning/email/{language}/{name}", f"dunning/email/en/{name}"])
    return template.render(context)


def notice_message(*, invoice: Invoice, level: DunningLevel, recipients: list[str], today) -> EmailMessage:
    """Build (not send) the reminder for ``invoice`` at ``level``, with the invoice PDF attached."""
    from accounts.identity import seller_identity, sender_address
    from billing.documents.pdf import invoice_pdf, language_for

    language = language_for(invoice.customer.language)
    # The reminder comes from whoever sold to the customer: a resale sub-distributor's customer is chased
    # by it, with its bank details, never by the operator.
    seller = seller_identity(invoice.customer)
    context = {
        "customer": invoice.customer,
        "invoice": invoice,
        "level": level,
        "stage": notice_stage(level),
        "amount_due": amount_display(invoice.amount_due, invoice.currency),
        "currency": invoice.currency,
        "due_date": invoice.due_date,
        "days_overdue": (today - invoice.due_date).days,
        "days_left": (invoice.due_date - today).days,
        "operator": seller.name,
    }
    with translation.override(language):
        context["bank_details"] = seller.bank_text()
        subject = " ".join(_render("subject.txt", language, context).split())
        body = _render("body.txt", language, context)
        pdf = invoice_pdf(invoice)
    message = EmailMessage(
        subject,
        body,
        sender_address(seller),
        recipients,
        reply_to=[seller.email] if seller.email else None,
    )
    message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return message
