"""The credit-limit policy: notice when a credit customer's exposure crosses its limit, and when it clears.

Exposure (``selectors.exposures``) at or above ``credit_limit`` opens a ``CreditLimitBreach``; falling
below it (a payment, a credit note, a higher limit) closes it. Opening sends, once per crossing, an
e-mail to finance staff and to the customer's billing contacts plus a signed gateway webhook (sent by
``billing.gateway.receivers`` when the breach row is written):
``customer.credit_limit_crossed`` under the *warn* policy, ``customer.suspended`` (reason
``credit_limit``) under *block*; closing a *block* breach sends ``customer.restored``. The gateway status
itself is computed live (``billing.gateway.status``), so it is right even if a notice is late.

Checked after every committed posting that touches a credit customer's receivable, unbilled or deposit
accounts — each service that posts one calls ``credit_limit_watch`` — after a terms change, and every
few minutes as a safety net (``tasks.credit_limit_check_task``).

The same on-commit path tells invoicing when usage accrued to the unbilled account of a customer billed
progressively (``signals.unbilled_accrued``): its interim invoice must not wait for the period's end
(``billing.invoicing.progressive``).
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.ledger.models import AccountKind, JournalEntry
from billing.terms.models import CREDIT_MODES, BillingTerms, CreditLimitBreach
from billing.terms.notifications import notify_credit_limit_email_task
from billing.terms.selectors import EXPOSURE_KINDS, exposures
from billing.terms.signals import unbilled_accrued
from common.outbox import task_queue_on_commit

# Terms that bill progressively: an interim invoice once unbilled usage passes an amount or a share of
# the credit limit (a share of a zero limit is no threshold).
PROGRESSIVE = Q(progressive_threshold__isnull=False) | Q(
    progressive_limit_share__isnull=False, credit_limit__gt=0
)


def credit_limit_watch(*, transactions) -> None:
    """Once the caller's database transaction commits, check the customers these postings concern.

    Called by the services that move a credit customer's exposure: usage accruals, invoice issue and the
    period close, payments and credit notes, card and bank top-ups and their reversals, wallet
    adjustments. On commit, so the check reads committed balances; a rolled-back posting checks nothing.
    ``transactions`` may hold ``None`` (a service that posted nothing this time).
    """
    transaction_ids = {t.pk for t in transactions if t is not None}
    if transaction_ids:
        transaction.on_commit(lambda: credit_limit_check_postings(transaction_ids=transaction_ids))
        # A callback of its own: a failed limit check must not keep the interim invoice from being checked.
        transaction.on_commit(lambda: unbilled_accrued_notify(transaction_ids=transaction_ids))


def credit_limit_check_postings(*, transaction_ids) -> list[tuple[int, str]]:
    """Check the credit customers whose exposure accounts these journal transactions touched."""
    customer_ids = set(
        JournalEntry.objects.filter(
            transaction_id__in=list(transaction_ids),
            account__kind__in=EXPOSURE_KINDS,
            account__customer__billing_terms__mode__in=CREDIT_MODES,
            account__customer__billing_terms__credit_limit__gt=0,
        )
        .values_list("account__customer_id", flat=True)
        .distinct()
    )
    if not customer_ids:
        return []
    return credit_limit_check(customer_ids=customer_ids)


def unbilled_accrued_notify(*, transaction_ids) -> list[int]:
    """Send ``unbilled_accrued`` for the progressively billed credit customers whose unbilled accounts
    these journal transactions debited (usage accrued); return their ids.

    Only debits: an invoice relieving unbilled (an interim one included) lowers what is unbilled, so it
    cannot make an interim invoice due.
    """
    customer_ids = sorted(
        set(
            JournalEntry.objects.filter(
                transaction_id__in=list(transaction_ids),
                account__kind=AccountKind.UNBILLED_RECEIVABLE,
                amount__gt=0,
                account__customer__billing_terms__in=BillingTerms.objects.filter(
                    PROGRESSIVE, mode__in=CREDIT_MODES
                ),
            ).values_list("account__customer_id", flat=True)
        )
    )
    if customer_ids:
        unbilled_accrued.send(sender=BillingTerms, customer_ids=customer_ids)
    return customer_ids


def credit_limit_check(*, customer_ids) -> list[tuple[int, str]]:
    """Open or close breaches for these customers; return ``(customer_id, "crossed"|"cleared")`` changes."""
    terms_by_customer = {
        t.customer_id: t
        for t in BillingTerms.objects.filter(customer_id__in=list(customer_ids)).select_related("customer")
    }
    if not terms_by_customer:
        return []
    owed = exposures(currency_by_customer={c: t.currency for c, t in terms_by_customer.items()})
    open_breaches = {
        b.customer_id: b
        for b in CreditLimitBreach.objects.filter(
            customer_id__in=list(terms_by_customer), ended_at__isnull=True
        )
    }
    changes = []
    for customer_id, terms in sorted(terms_by_customer.items()):
        exposure = owed[customer_id]
        crossed = terms.is_credit and terms.credit_limit > 0 and exposure >= terms.credit_limit
        breach = open_breaches.get(customer_id)
        # A policy change while crossed is a new crossing: the gateway must hear about suspend/restore.
        if breach is not None and (not crossed or breach.policy != terms.credit_policy):
            if _breach_close(breach=breach, exposure=exposure):
                changes.append((customer_id, "cleared"))
            breach = None
        if crossed and breach is None and _breach_open(terms=terms, exposure=exposure):
            changes.append((customer_id, "crossed"))
    return changes


def _breach_open(*, terms: BillingTerms, exposure: Decimal) -> bool:
    """Open a breach and queue its e-mail; the new row tells the gateways (``billing.gateway.receivers``)."""
    try:
        with transaction.atomic():
            breach = CreditLimitBreach.objects.create(
                customer=terms.customer,
                currency=terms.currency,
                credit_limit=terms.credit_limit,
                policy=terms.credit_policy,
                exposure_at_start=exposure,
            )
            task_queue_on_commit(notify_credit_limit_email_task, breach.pk)
    except IntegrityError:
        return False  # another worker opened it first (one open breach per customer); it notified
    return True


def _breach_close(*, breach: CreditLimitBreach, exposure: Decimal) -> bool:
    """Close a breach still open (the row lock lets one worker only); its end tells the gateways."""
    with transaction.atomic():
        breach = (
            CreditLimitBreach.objects.select_for_update().filter(pk=breach.pk, ended_at__isnull=True).first()
        )
        if breach is None:
            return False
        breach.ended_at = timezone.now()
        breach.exposure_at_end = exposure
        breach.save(update_fields=["ended_at", "exposure_at_end"])
    return True
