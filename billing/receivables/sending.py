"""E-mail an issued invoice, its PDF attached, to the customer's billing contacts."""

from django.core.mail import EmailMessage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.invoicing.models import Invoice
from billing.money import money_text


class NotSendable(Exception):
    """The invoice cannot be sent (a draft, or no billing contact); the message says why, for staff."""


def invoice_send(*, invoice: Invoice) -> list[str]:
    """Send ``invoice`` (with its PDF) to its customer's billing contacts; return the addresses.

    Written in the invoice's language. Records when it was last sent.
    """
    from accounts.identity import seller_identity, sender_address
    from billing.documents.pdf import invoice_pdf  # WeasyPrint is heavy: load it only to send

    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.VOID):
        raise NotSendable(
            _("%(invoice)s is %(status)s; only issued invoices are sent.")
            % {"invoice": invoice, "status": invoice.get_status_display().lower()}
        )
    terms = getattr(invoice.customer, "billing_terms", None)
    recipients = terms.billing_email_list if terms is not None else []
    if not recipients and invoice.customer.contact_email:
        recipients = [invoice.customer.contact_email]
    if not recipients:
        raise NotSendable(_("%(customer)s has no billing contact e-mail.") % {"customer": invoice.customer})
    # From the customer's seller: a resale sub-distributor's customer never hears of the operator.
    seller = seller_identity(invoice.customer)
    with translation.override(invoice.language):
        subject = _("Invoice %(number)s from %(operator)s") % {
            "number": invoice.number,
            "operator": seller.name,
        }
        body = _(
            "Please find attached invoice %(number)s for %(total)s %(currency)s, due on %(due)s.\n"
            "Amount due: %(due_amount)s %(currency)s."
        ) % {
            "number": invoice.number,
            "total": money_text(invoice.total, invoice.currency),
            "currency": invoice.currency,
            "due": invoice.due_date,
            "due_amount": invoice.amount_due,
        }
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=sender_address(seller),
        to=recipients,
        reply_to=[seller.email] if seller.email else None,
    )
    message.attach(f"{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf")
    message.send()
    Invoice.objects.filter(pk=invoice.pk).update(sent_at=timezone.now())
    return recipients
