"""Receivers of signals lower billing packages send, acted on by invoicing (connected in ``billing.apps``
through :func:`progressive_receivers_connect`)."""

import logging

from django.core.cache import cache

from billing.invoicing.tasks import PROGRESSIVE_PENDING, PROGRESSIVE_PENDING_SECONDS, progressive_check_task
from billing.terms.signals import unbilled_accrued
from common.cache_fallback import CACHE_UNAVAILABLE, cache_forget

logger = logging.getLogger(__name__)


def unbilled_accrued_receiver(sender, customer_ids: list[int], **kwargs) -> None:
    """Usage accrued to progressively billed customers (``billing.terms.signals``, after commit): queue
    the check of their interim invoices on the billing queue.

    A customer whose check is queued and not started yet is left out: that check will see this posting
    (``tasks.PROGRESSIVE_PENDING``), so a gateway posting every second queues one check at a time.
    """
    try:
        queued = [
            cid
            for cid in sorted(customer_ids)
            if cache.add(PROGRESSIVE_PENDING.format(cid), 1, timeout=PROGRESSIVE_PENDING_SECONDS)
        ]
    except CACHE_UNAVAILABLE:
        # The cache (Redis, as the broker) is down: the usage has committed and answers; the periodic
        # safety net checks these customers.
        logger.warning(
            "Cache unreachable: progressive-billing check of customers %s left to the sweep", customer_ids
        )
        return
    if not queued:
        return
    try:
        progressive_check_task.delay(queued)
    except Exception:
        # The usage has committed: its poster must not fail now (a gateway would see an error for a batch
        # that was stored). Nothing is pending after all; the next posting or the safety net checks them.
        cache_forget([PROGRESSIVE_PENDING.format(cid) for cid in queued], what="progressive checks pending")
        logger.exception("Queueing the progressive-billing check of customers %s failed", queued)


def progressive_receivers_connect() -> None:
    """Connect the receivers above (idempotent: one ``dispatch_uid``); ``billing.apps`` calls it."""
    unbilled_accrued.connect(unbilled_accrued_receiver, dispatch_uid="invoicing_progressive_after_accrual")
