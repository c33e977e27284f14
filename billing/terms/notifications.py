"""E-mails about a crossed credit limit: to whoever manages the risk (operator finance, or a reseller's
owner and billing members for its customers) and to the customer's billing contacts.

The e-mail task lives here rather than in ``tasks``: ``credit`` queues it, and ``tasks`` runs ``credit``'s
periodic check, so one module holding both tasks would import ``credit`` and be imported by it.
"""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.identity import seller_identity, sender_address
from accounts.models import Customer, MemberRole, StaffRole, User
from billing.terms.models import BillingTerms, CreditLimitBreach
from common.currencies import amount_display


def _values(breach: CreditLimitBreach) -> dict:
    return {
        "customer": breach.customer.name,
        "code": breach.customer.code,
        "currency": breach.currency,
        "exposure": amount_display(breach.exposure_at_start, breach.currency),
        "limit": amount_display(breach.credit_limit, breach.currency),
    }


def _message(breach: CreditLimitBreach, *, for_staff: bool) -> tuple[str, str]:
    values = _values(breach)
    subject = _("Credit limit reached: %(customer)s") % values
    if breach.policy == BillingTerms.CreditPolicy.BLOCK:
        consequence = _("New usage is blocked at the gateway until the balance falls below the limit.")
    else:
        consequence = _("Service continues for now; please arrange a payment.")
    if for_staff:
        body = (
            _(
                "%(customer)s (%(code)s) owes %(exposure)s %(currency)s including unbilled usage, "
                "at or above its credit limit of %(limit)s %(currency)s.\n"
            )
            % values
            + consequence
            + "\n"
        )
    else:
        body = (
            _(
                "Dear %(customer)s,\n\nyour outstanding balance including unbilled usage is "
                "%(exposure)s %(currency)s, at or above your credit limit of %(limit)s %(currency)s.\n"
            )
            % values
            + consequence
            + "\n"
        )
    return subject, body


def risk_managers(customer: Customer) -> tuple[list[str], str]:
    """Who hears of ``customer``'s breach or risk flag besides the customer, and in which language:
    whoever set its limit and carries the risk. For a resale sub-distributor's customer that is the
    reseller's owner and billing members (the operator neither set that limit nor is owed that money,
    and a reseller's customers are not the operator's business); for the operator's own customers,
    operator finance."""
    if customer.seller_id is None:
        users = User.objects.filter(staff_role__in=[StaffRole.FINANCE, StaffRole.ADMIN])
        language = settings.LANGUAGE_CODE
    else:
        users = User.objects.filter(
            membership__customer_id=customer.seller_id,
            membership__role__in=[MemberRole.OWNER, MemberRole.BILLING],
        )
        language = customer.seller.language
    emails = users.filter(is_active=True).exclude(email="").order_by("email").values_list("email", flat=True)
    return list(emails), language


def credit_limit_email_send(*, breach: CreditLimitBreach) -> int:
    """Send the crossing e-mails; return how many messages went out."""
    sent = 0
    managers, language = risk_managers(breach.customer)
    if managers:
        with override(language):
            subject, body = _message(breach, for_staff=True)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, managers)
        sent += 1
    terms = BillingTerms.objects.filter(customer=breach.customer).first()
    contacts = terms.billing_email_list if terms else []
    if contacts:
        # From the customer's seller, as its invoices: a reseller's customer never hears of the operator.
        seller = seller_identity(breach.customer)
        with override(breach.customer.language):
            subject, body = _message(breach, for_staff=False)
        EmailMessage(
            subject=subject,
            body=f"{body}\n{seller.name}\n",
            from_email=sender_address(seller),
            to=contacts,
            reply_to=[seller.email] if seller.email else None,
        ).send()
        sent += 1
    return sent


# Named as when it lived in billing.terms.tasks, so e-mails queued before the move still find it.
@shared_task(name="billing.terms.tasks.notify_credit_limit_email_task", max_retries=3)
def notify_credit_limit_email_task(breach_id: int) -> int:
    return credit_limit_email_send(
        breach=CreditLimitBreach.objects.select_related("customer").get(pk=breach_id)
    )
