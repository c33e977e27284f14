"""Celery tasks for billing terms: thin, by id."""

from celery import shared_task

from billing.terms.credit import credit_limit_check
from billing.terms.models import CREDIT_MODES, BillingTerms, CreditLimitBreach


@shared_task(name="billing.terms.tasks.credit_limit_check_task")
def credit_limit_check_task() -> int:
    """Safety net: re-check every credit customer with a limit or an open breach (the services that post
    call ``credit.credit_limit_watch``; this catches a balance moved some other way, by hand in the shell)."""
    ids = set(
        BillingTerms.objects.filter(mode__in=CREDIT_MODES, credit_limit__gt=0).values_list(
            "customer_id", flat=True
        )
    )
    ids |= set(CreditLimitBreach.objects.filter(ended_at__isnull=True).values_list("customer_id", flat=True))
    return len(credit_limit_check(customer_ids=ids))
