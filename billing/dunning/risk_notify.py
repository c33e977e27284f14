"""E-mails about a raised risk flag: to whoever carries the customer's risk, and to its billing contacts.

Who carries the risk follows the credit-limit e-mails (``billing.terms.notifications``): operator finance
and administrators for the operator's own customers, a reseller's owner and billing members for its
customers. The customer hears from its seller, as with its invoices. The task lives apart from ``risk`` so
that the check (which queues it) and the periodic task (which runs the check) do not import each other.
"""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.identity import seller_identity, sender_address
from billing.terms.models import BillingTerms, RiskFlag
from billing.terms.notifications import risk_managers
from common.currencies import amount_display


def risk_flag_sentence(flag: RiskFlag, currency: str) -> str:
    """What the flag measured, in words of the active language (also the risk page's wording)."""
    if flag.kind == RiskFlag.Kind.OVERDUE:
        text = _("Invoice %(invoice)s is %(days)s days past its due date (flagged beyond %(allowed)s days).")
        return text % {
            "invoice": flag.detail,
            "days": int(flag.measured or 0),
            "allowed": int(flag.threshold or 0),
        }
    return _(
        "Usage on %(day)s reached %(amount)s %(currency)s, above %(threshold)s %(currency)s "
        "(the spike factor × the average of the 14 days before)."
    ) % {
        "day": flag.detail,
        "amount": amount_display(flag.measured or 0, currency),
        "threshold": amount_display(flag.threshold or 0, currency),
        "currency": currency,
    }


def _message(flag: RiskFlag, currency: str, *, for_staff: bool) -> tuple[str, str]:
    values = {"customer": flag.customer.name, "code": flag.customer.code, "kind": flag.get_kind_display()}
    subject = _("Risk flag raised: %(customer)s (%(kind)s)") % values
    if flag.policy == BillingTerms.CreditPolicy.BLOCK:
        consequence = _("New usage is blocked at the gateway until the flag clears.")
    else:
        consequence = _("Service continues; this is a warning.")
    sentence = risk_flag_sentence(flag, currency)
    if for_staff:
        body = f"{flag.customer.name} ({flag.customer.code})\n{sentence}\n{consequence}\n"
    else:
        greeting = _("Dear %(customer)s,") % values
        body = f"{greeting}\n\n{sentence}\n{consequence}\n"
    return subject, body


def risk_flag_email_send(*, flag: RiskFlag) -> int:
    """Send the e-mails of a raised flag; return how many messages went out."""
    sent = 0
    terms = BillingTerms.objects.filter(customer=flag.customer).first()
    currency = terms.currency if terms else settings.BASE_CURRENCY
    managers, language = risk_managers(flag.customer)
    if managers:
        with override(language):
            subject, body = _message(flag, currency, for_staff=True)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, managers)
        sent += 1
    contacts = terms.billing_email_list if terms else []
    if contacts:
        seller = seller_identity(flag.customer)
        with override(flag.customer.language):
            subject, body = _message(flag, currency, for_staff=False)
        EmailMessage(
            subject=subject,
            body=f"{body}\n{seller.name}\n",
            from_email=sender_address(seller),
            to=contacts,
            reply_to=[seller.email] if seller.email else None,
        ).send()
        sent += 1
    return sent


@shared_task(name="billing.dunning.risk_notify.risk_flag_email_task", max_retries=3)
def risk_flag_email_task(flag_id: int) -> int:
    return risk_flag_email_send(flag=RiskFlag.objects.select_related("customer").get(pk=flag_id))
