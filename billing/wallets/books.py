"""Money between a resale sub-distributor and its seller, in both books (``accounts.chain``).

A posting about customer C is in C's seller's book. When C is itself a resale sub-distributor S, the same
money is also S's own business: what S paid its seller (a bank transfer credited to its wallet, a payment of
its invoice) lowers what S owes that seller and leaves S's bank. :func:`seller_payment_mirror` posts that
side in S's book — Dr DUE_TO_SELLER / Cr CASH_BANK, the reverse for money S gets back — keyed on the
original's key, so it is posted once.

Card payments: every card payment goes through the operator's Stripe account, which acts as the platform.
A card payment by a customer of reseller S therefore lands, in S's book, on DUE_TO_SELLER (S's seller now
holds that cash for S: :func:`card_clearing`), and :func:`card_relay` passes it up the chain as the payout
owed to S: in the seller's book, Dr Stripe clearing (or, deeper in the tree, that seller's own
DUE_TO_SELLER) / Cr S's paid wallet. S's prepaid balance with its seller then covers S's wholesale usage
as any top-up would. A card refund or dispute takes it back the same way (a paid-only debit that may go
below the floor: the money has left already).

Everything else a seller changes on S's accounts without cash (a grant, a redemption code, a pack or
subscription fee taken from S's wallet, a credit note on S's invoice, the rounding of S's invoice) changes
what S owes that seller too: ``mirror.seller_book_mirror`` posts that change in S's book against the
account the caller names, so S's DUE_TO_SELLER always equals minus S's net balance at its seller (its
wallets less its receivable and unbilled usage there: ``ledger.verify``). Usage is mirrored by its own
cost lines (``usage.postings``) and cash by :func:`seller_payment_mirror`; those callers do not call it.
"""

from decimal import Decimal

from accounts.models import Customer
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.models import Bucket

KIND_MIRROR = "chain.seller_payment"
KIND_RELAY = "chain.card_payout"


def card_clearing(*, currency: str, book: Customer | None) -> LedgerAccount:
    """Where card money is held in ``book``: the operator's Stripe clearing, or in a reseller's book what
    its seller holds for it (the operator's Stripe account takes every card payment as the platform)."""
    if book is None:
        return account_get(kind=AccountKind.STRIPE_CLEARING, currency=currency)
    return account_get(kind=AccountKind.DUE_TO_SELLER, currency=currency, book=book)


def card_relay(
    *,
    transactions: list[JournalTransaction | None],
    book: Customer | None,
    currency: str,
    key: str,
    memo: str,
    source: str,
    actor=None,
    memo_message: dict | None = None,
) -> list[JournalTransaction]:
    """Pass the card money ``transactions`` moved on ``book``'s :func:`card_clearing` up the chain to the
    operator's Stripe clearing, one paid-wallet posting per hop (none in the operator's book).

    Positive net (a payment): each seller credits the buyer's paid wallet. Negative (a refund, a
    dispute): each seller takes it back from the buyer's paid wallet, even below its floor. Keys are
    ``<key>:relay:<buyer id>``.
    """
    if book is None:
        return []
    ids = [t.pk for t in transactions if t is not None]
    net = sum(
        (
            e.amount
            for e in JournalEntry.objects.filter(transaction_id__in=ids, account__book=book).filter(
                account__kind=AccountKind.DUE_TO_SELLER, currency=currency
            )
        ),
        Decimal(0),
    )
    posted: list[JournalTransaction] = []
    buyer: Customer | None = book
    while buyer is not None and net:
        seller = buyer.seller
        held = card_clearing(currency=currency, book=seller)
        relay_key = f"{key}:relay:{buyer.pk}"
        if net > 0:
            txn = wallet_credit(
                customer=buyer,
                currency=currency,
                amount=net,
                bucket=Bucket.PAID,
                idempotency_key=relay_key,
                source_account=held,
                kind=KIND_RELAY,
                memo=memo,
                source=source,
                actor=actor,
                memo_message=memo_message,
            )
        else:
            txn = wallet_debit(
                customer=buyer,
                currency=currency,
                amount=-net,
                idempotency_key=relay_key,
                target_account=held,
                kind=KIND_RELAY,
                memo=memo,
                source=source,
                actor=actor,
                memo_message=memo_message,
                allow_below_floor=True,
                buckets=[Bucket.PAID],
            )
        posted.append(txn)
        buyer = seller
    return posted


def seller_payment_mirror(
    *,
    payer: Customer,
    currency: str,
    amount: Decimal,
    key: str,
    memo: str,
    source: str,
    effective_date=None,
    actor=None,
    memo_message: dict | None = None,
) -> JournalTransaction | None:
    """Post in reseller ``payer``'s own book the money it paid its seller (``amount`` positive: Dr
    DUE_TO_SELLER / Cr CASH_BANK) or got back from it (negative: the reverse), as the seller's book
    recorded it under ``key``. None when ``payer`` keeps no book or nothing moved."""
    if not payer.is_reseller or not amount:
        return None
    due = account_get(kind=AccountKind.DUE_TO_SELLER, currency=currency, book=payer)
    cash = account_get(kind=AccountKind.CASH_BANK, currency=currency, book=payer)
    if amount > 0:
        lines = [debit(due, amount, currency), credit(cash, amount, currency)]
    else:
        lines = [debit(cash, -amount, currency), credit(due, -amount, currency)]
    return transaction_post(
        idempotency_key=f"{key}:mirror",
        kind=KIND_MIRROR,
        lines=lines,
        memo=memo[:500],
        source=source,
        effective_date=effective_date,
        actor=actor,
        memo_message=memo_message,
    )
