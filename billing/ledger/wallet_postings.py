"""Posting for the wallet service only: the one way onto wallet accounts.

Wallet accounts move only together with the wallet's lots, floor and suspension, which ``billing.wallets``
keeps in step under its own wallet lock; every other caller posts through ``billing.ledger.services``,
which refuses wallet accounts. import-linter holds this module to its one importer (``pyproject.toml``).
"""

from collections.abc import Sequence

from billing.ledger.models import JournalTransaction
from billing.ledger.services import Posting, _post, _post_many


def transaction_post_for_wallets(*, posting: Posting, actor=None) -> tuple[JournalTransaction, bool]:
    """Post ``posting``, which may touch wallet accounts, for ``billing.wallets`` only; return
    ``(transaction, created)`` — ``created`` is False when the key was replayed.

    Everything :func:`transaction_post` guarantees holds: the lines must sum to zero per currency (the
    database refuses an unbalanced transaction even if this check were bypassed), the touched accounts are
    locked in id order and their cached balances and running balances move with the entries, and a
    replayed ``idempotency_key`` returns the first transaction. Two things differ, both for the wallet
    service: wallet accounts are accepted (the wallet service keeps lots, floors and suspensions in step
    with them, under its own wallet lock), and ``posting.request``, when given, is the body the
    idempotency fingerprint covers (a wallet debit's request, not the lines its burn-down produced).
    """
    return _post(posting, actor=actor, wallet_service=True)


def transactions_post_many_for_wallets(
    *, postings: Sequence[Posting], actor=None
) -> list[tuple[JournalTransaction, bool]]:
    """:func:`transactions_post_many` for ``billing.wallets`` only (a usage batch's wallet debits and the
    company postings that go with them): wallet accounts and a posting's own ``request`` are accepted as
    in :func:`transaction_post_for_wallets`; return ``(transaction, created)`` per posting, in order.
    """
    return _post_many(postings=postings, actor=actor, wallet_service=True)
