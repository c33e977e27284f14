"""A resale sub-distributor's own book follows what its seller changes on its accounts without cash.

S's DUE_TO_SELLER (its book) must always equal minus S's net balance at its seller: S's wallets there less
its receivable and unbilled usage (``ledger.verify`` checks it per reseller). Usage keeps it so through its
cost lines (``usage.postings``), cash through ``books.seller_payment_mirror``; everything else the seller
posts on S's accounts — a grant or a redemption code (and their expiry), a pack or subscription fee from
S's wallet, a manual wallet adjustment, a credit note on S's invoice, the rounding, charges and tax of S's
invoice — is mirrored here, called by the service that posts it.
Kept apart from ``books`` so that the wallet services it serves (``credits.grant_credit``) may import it.
"""

from collections import defaultdict
from decimal import Decimal

from accounts.models import Customer
from billing.ledger.accounts import account_get
from billing.ledger.kinds import kind_message
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.ledger.services import Line, transaction_post
from billing.ledger.verify import POSITION_KINDS
from common.stored_text import stored

KIND_BOOK_MIRROR = "chain.seller_mirror"


def seller_book_mirror(
    *, transaction: JournalTransaction | None, counter: str, actor=None
) -> list[JournalTransaction]:
    """Post in each resale customer's own book what ``transaction`` (posted in its seller's book) changed
    in that customer's net position there: the signed sum of its lines on the customer's wallets,
    receivable and unbilled accounts, i.e. how much more the customer owes its seller.

    More owed: Dr ``counter`` / Cr DUE_TO_SELLER in the customer's book; less: the reverse. ``counter`` is
    the kind the change means to the customer: COST_OF_TOKENS for a fee, a credit note or a discount on
    what it buys. When the transaction is about that one customer, the seller's rounding in it (an
    invoice's) is the customer's rounding too: mirrored on ROUNDING, the rest on ``counter``. Keyed
    ``<original key>:mirror:<customer id>``: posted once. Callers skip customers keeping no book."""
    if transaction is None:
        return []
    net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    rounding: dict[str, Decimal] = defaultdict(Decimal)
    entries = JournalEntry.objects.filter(transaction=transaction).values_list(
        "account__kind", "account__customer_id", "currency", "amount"
    )
    for kind, customer_id, currency, amount in entries:
        if kind in POSITION_KINDS and customer_id is not None:
            net[(customer_id, currency)] += amount
        elif kind == AccountKind.ROUNDING:
            rounding[currency] += amount
    owing = {key: owed for key, owed in net.items() if owed}
    resellers = Customer.objects.filter(pk__in={cid for cid, _ccy in owing})
    buyers = {c.pk: c for c in resellers if c.is_reseller}
    alone = len(net) == 1
    posted = []
    for (customer_id, currency), owed in sorted(owing.items()):
        buyer = buyers.get(customer_id)
        if buyer is None:
            continue
        # The seller's rounding gain is the buyer's rounding loss (one buyer: it is all about it).
        rounded = -rounding[currency] if alone else Decimal(0)
        lines = [
            Line(account_get(kind=kind, currency=currency, book=buyer), amount, currency)
            for kind, amount in (
                (counter, owed - rounded),
                (AccountKind.ROUNDING, rounded),
                (AccountKind.DUE_TO_SELLER, -owed),
            )
            if amount
        ]
        posted.append(
            transaction_post(
                idempotency_key=f"{transaction.idempotency_key}:mirror:{customer_id}",
                kind=KIND_BOOK_MIRROR,
                lines=lines,
                memo=f"Mirror of {transaction.kind} at our seller: {transaction.memo}"[:500],
                memo_message=stored(
                    "wallets.memo.seller_mirror",
                    kind=kind_message(transaction.kind),
                    memo=transaction.memo_message or transaction.memo,
                ),
                source=transaction.source,
                effective_date=transaction.effective_date,
                actor=actor,
            )
        )
    return posted
