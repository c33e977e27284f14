"""Celery tasks of the risk flags (``risk``): the periodic check, and the spike check after usage."""

import logging

from celery import shared_task
from django.core.cache import cache

from billing.dunning.risk import risk_flags_check
from billing.terms.models import CREDIT_MODES, BillingTerms, RiskFlag
from common.cache_fallback import CACHE_UNAVAILABLE

logger = logging.getLogger(__name__)

# One spike check per customer per this many seconds, however many batches arrive: the periodic task
# catches anything in between.
SPIKE_CHECK_EVERY = 60


@shared_task(name="billing.dunning.risk_tasks.risk_flags_task")
def risk_flags_task() -> int:
    """Raise and clear every watched customer's flags; return how many changed."""
    return len(risk_flags_check())


@shared_task(name="billing.dunning.risk_tasks.risk_spike_check_task")
def risk_spike_check_task(customer_ids: list[int]) -> int:
    return len(risk_flags_check(customer_ids=customer_ids, kinds=[RiskFlag.Kind.SPIKE]))


def risk_after_usage(sender, customer_ids, **kwargs) -> None:
    """A usage batch committed (``billing.usage.signals.usage_committed``): check these customers for a
    spike, those that watch for one and were not checked in the last minute."""
    watched = BillingTerms.objects.filter(
        customer_id__in=list(customer_ids), mode__in=CREDIT_MODES, spike_factor__isnull=False
    ).values_list("customer_id", flat=True)
    try:
        due = [cid for cid in watched if cache.add(f"risk:spike-checked:{cid}", 1, SPIKE_CHECK_EVERY)]
    except CACHE_UNAVAILABLE:
        # Redis (the cache, and the broker with it) is down: the batch has committed and answers; the
        # periodic sweep (risk_flags_task) checks these customers.
        logger.warning("Cache unreachable: spike check of customers %s left to the sweep", customer_ids)
        return
    if due:
        risk_spike_check_task.delay(sorted(due))
