"""Watch journal postings that move a credit customer's exposure; connected in ``billing.apps``.

A receiver, not a call from the usage pipeline or the payment services, because every path that moves
receivables, unbilled usage or paid deposits (usage accruals, invoice issue, payments, credit notes,
top-ups, reversals) must re-check the credit limit alike, and ``billing.usage.postings`` must stay fast.
Bulk postings (``transactions_post_many``: the period close, usage batches) are heard through the
ledger's ``transactions_posted`` signal. Per posting this costs one set insertion; the check itself runs
once per committed database transaction (one query finds the credit customers concerned — see
``credit.credit_limit_check_postings``).
"""

import threading

from django.db import transaction

from billing.ledger.models import JournalTransaction

_pending = threading.local()


def _pending_ids() -> set[int]:
    if not hasattr(_pending, "ids"):
        _pending.ids = set()
    return _pending.ids


def _flush() -> None:
    """Check the postings collected so far; later callbacks of the same commit find nothing to do."""
    from billing.terms.credit import credit_limit_check_postings

    ids = _pending_ids()
    if not ids:
        return
    txn_ids = set(ids)
    ids.clear()
    credit_limit_check_postings(transaction_ids=txn_ids)


def journal_transaction_posted(sender, instance: JournalTransaction, created: bool, **kwargs) -> None:
    if not created:
        return
    _watch([instance.pk])


def journal_transactions_posted(sender, transactions, **kwargs) -> None:
    _watch([t.pk for t in transactions])


def _watch(transaction_ids) -> None:
    # A rolled-back posting leaves its id here; the check then simply finds no entries for it.
    _pending_ids().update(transaction_ids)
    transaction.on_commit(_flush)
