"""The journal postings top-ups make; the only module of this package that writes to the ledger.

Every posting carries an idempotency key derived from the outside event it records (a Stripe payment
intent, a bank transfer row, a redemption code), so a retried webhook or a double-clicked button posts
nothing twice: the ledger returns the first transaction for the same key and body.

Postings that move a customer's paid credit (top-ups, refunds, disputes) ask for the credit-limit check
(``terms.credit.credit_limit_watch``): a credit customer's paid deposit lowers its exposure.

Books (``accounts.chain``): every posting about a customer is in its seller's book. Card money of a
reseller's customer is held by the operator's Stripe account for that reseller and relayed up the chain
(``billing.wallets.books.card_relay``); money a reseller pays its own seller, or gets back, is mirrored in the
reseller's own book (``seller_payment_mirror``). docs/payments.md tells the whole story.

Be careful changing keys or amounts here: the ledger refuses a known key with a different body, so a
changed formula would make replays of old events fail instead of being no-ops.
"""

from datetime import date, datetime
from decimal import Decimal

from billing.ledger import accounts as ledger_accounts
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.terms.credit import credit_limit_watch
from billing.wallets.books import card_clearing, card_relay, seller_payment_mirror
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.reversals import wallet_transaction_reverse
from common.stored_text import stored

# Journal transaction kinds, dotted as the ledger names them.
KIND_CARD = "wallet.topup.card"
KIND_CARD_FEE = "wallet.topup.card_fee"
KIND_CARD_REFUND = "wallet.topup.card_refund"
KIND_CARD_DISPUTE = "wallet.topup.card_dispute"
KIND_CARD_DISPUTE_WON = "wallet.topup.card_dispute_won"
KIND_BANK = "wallet.topup.bank"
KIND_CODE = "wallet.topup.code"
KIND_RECEIVABLE_REFUND = "receivable.refund"
KIND_PAYMENT_REVERSAL = "receivable.payment.reversal"
KIND_WALLET_REFUND = "wallet.refund"
KIND_INVOICE_CARD_REFUND = "receivable.payment.card_refund"
KIND_INVOICE_CARD_DISPUTE = "receivable.payment.card_dispute"
KIND_INVOICE_DISPUTE_WON = "receivable.payment.card_dispute_won"
KIND_DISPUTE_FEE = "payment.dispute_fee"


def _stripe_clearing(currency: str, book):
    return card_clearing(currency=currency, book=book)


def _card_fee_expense(currency: str, book):
    return ledger_accounts.account_get(kind=AccountKind.PAYMENT_FEES, currency=currency, book=book)


def _card_chain(
    *,
    transactions,
    customer,
    currency: str,
    key: str,
    memo: str,
    memo_message: dict | None = None,
    source: str,
    actor=None,
):
    """The other books a card posting about ``customer`` reaches: the payout relayed up from its
    seller's book, and, when ``customer`` is a reseller, its own book's side of what it paid (the net it
    moved on its paid wallet)."""
    card_relay(
        transactions=transactions,
        book=customer.seller,
        currency=currency,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
    )
    paid = _wallet_net(transactions=transactions, customer=customer, currency=currency)
    seller_payment_mirror(
        payer=customer,
        currency=currency,
        amount=paid,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
    )


def _wallet_net(*, transactions, customer, currency: str) -> Decimal:
    """What ``transactions`` credited to ``customer``'s wallets and receivable (positive: it paid)."""
    ids = [t.pk for t in transactions if t is not None]
    entries = JournalEntry.objects.filter(
        transaction_id__in=ids, account__customer=customer, currency=currency
    ).exclude(account__kind=AccountKind.COMMISSION_PAYABLE)
    return -sum((e.amount for e in entries), Decimal(0))


def is_posted(key: str) -> bool:
    """Whether the posting keyed ``key`` (or its fee part) exists.

    A withdrawal's shape depends on what came before it (first and full, or partial), so a replay could
    present a different body under the same key; it is the same event, so it must post nothing.
    """
    return JournalTransaction.objects.filter(idempotency_key__in=[key, f"{key}:fee"]).exists()


def _fee_posting(
    *,
    key: str,
    currency: str,
    amount: Decimal,
    kind: str,
    memo: str,
    memo_message: dict | None = None,
    source: str,
    book,
    actor=None,
):
    """Move ``amount`` between the card-fee expense and Stripe clearing (positive: expense up) in
    ``book``: a reseller bears the fees of its customers' card payments."""
    fee, clearing = _card_fee_expense(currency, book), _stripe_clearing(currency, book)
    return transaction_post(
        idempotency_key=key,
        kind=kind,
        memo=memo,
        memo_message=memo_message,
        source=source,
        lines=[debit(fee, amount, currency), credit(clearing, amount, currency)],
        actor=actor,
    )


def card_credit_post(*, topup, payment_intent_id: str) -> JournalTransaction:
    """Credit the paid bucket for a card payment; Stripe now owes us the amount (clearing).

    When we absorb the card fee, Stripe keeps it out of the payout: a second posting moves it from
    clearing to the card-fee expense. When the customer pays it, it never reaches our books: Stripe keeps
    what the customer added on top.
    """
    source = f"stripe:{payment_intent_id}"
    book = topup.customer.seller
    memo = f"Card top-up {topup.public_id}"
    memo_message = stored("payments.memo.card_topup", topup=topup.public_id)
    credit = wallet_credit(
        customer=topup.customer,
        currency=topup.currency,
        amount=topup.amount,
        bucket="paid",
        idempotency_key=source,
        source_account=_stripe_clearing(topup.currency, book),
        kind=KIND_CARD,
        memo=memo,
        memo_message=memo_message,
        source=source,
    )
    posted = [credit]
    if topup.fee_mode == "absorb" and topup.fee > 0:
        posted.append(
            _fee_posting(
                key=f"{source}:fee",
                currency=topup.currency,
                amount=topup.fee,
                kind=KIND_CARD_FEE,
                memo=f"Card fee absorbed, top-up {topup.public_id}",
                memo_message=stored("payments.memo.card_fee_absorbed", topup=topup.public_id),
                source=source,
                book=book,
            )
        )
    _card_chain(
        transactions=posted,
        customer=topup.customer,
        currency=topup.currency,
        key=source,
        memo=memo,
        memo_message=memo_message,
        source=source,
    )
    credit_limit_watch(transactions=[credit])
    return credit


def card_withdrawal_post(
    *,
    topup,
    key: str,
    kind: str,
    wallet_part: Decimal,
    fee_part: Decimal,
    full_reversal: bool,
    memo: str,
    memo_message: dict | None = None,
) -> JournalTransaction | None:
    """Take back money Stripe returned to the cardholder (refund) or withdrew from us (dispute).

    ``wallet_part`` leaves the customer's paid credit, and only it: granted credit and packs are never
    touched, even when the paid bucket goes negative. ``fee_part`` is the card fee the customer had paid
    on top, which Stripe does not give back, so it becomes our expense. A first, complete withdrawal is a
    reversal of the original credit; anything partial is a paid-only debit of the wallet against clearing.
    """
    if is_posted(key):
        return None
    source = f"stripe:{topup.payment_intent_id}"
    book = topup.customer.seller
    posted = fee = None
    if wallet_part > 0:
        if full_reversal:
            posted = wallet_transaction_reverse(
                original=topup.credit_transaction, idempotency_key=key, memo=memo, memo_message=memo_message
            )
        else:
            posted = wallet_debit(
                customer=topup.customer,
                currency=topup.currency,
                amount=wallet_part,
                idempotency_key=key,
                target_account=_stripe_clearing(topup.currency, book),
                kind=kind,
                memo=memo,
                memo_message=memo_message,
                source=source,
                # The money has already left through Stripe; the wallet must show it even if that takes
                # it below its floor (it is then suspended like any other).
                allow_below_floor=True,
                # Card money came in as paid credit and goes back out of it only: a refund or dispute
                # never consumes granted credit or packs (the paid bucket may go negative instead).
                buckets=["paid"],
            )
    if fee_part > 0:
        fee = _fee_posting(
            key=f"{key}:fee",
            currency=topup.currency,
            amount=fee_part,
            kind=kind,
            memo=memo,
            memo_message=memo_message,
            source=source,
            book=book,
        )
    _card_chain(
        transactions=[posted, fee],
        customer=topup.customer,
        currency=topup.currency,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
    )
    credit_limit_watch(transactions=[posted])
    return posted


def card_reinstate_post(
    *, topup, key: str, wallet_part: Decimal, fee_part: Decimal, memo: str, memo_message: dict | None = None
):
    """Give back what a lost-then-won dispute had withdrawn: Stripe returns the disputed amount to us."""
    if is_posted(key):
        return None
    source = f"stripe:{topup.payment_intent_id}"
    book = topup.customer.seller
    posted = fee = None
    if wallet_part > 0:
        posted = wallet_credit(
            customer=topup.customer,
            currency=topup.currency,
            amount=wallet_part,
            bucket="paid",
            idempotency_key=key,
            source_account=_stripe_clearing(topup.currency, book),
            kind=KIND_CARD_DISPUTE_WON,
            memo=memo,
            memo_message=memo_message,
            source=source,
        )
    if fee_part > 0:
        fee = _fee_posting(
            key=f"{key}:fee",
            currency=topup.currency,
            amount=-fee_part,
            kind=KIND_CARD_DISPUTE_WON,
            memo=memo,
            memo_message=memo_message,
            source=source,
            book=book,
        )
    _card_chain(
        transactions=[posted, fee],
        customer=topup.customer,
        currency=topup.currency,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
    )
    credit_limit_watch(transactions=[posted])
    return posted


def bank_transfer_credit_post(*, transfer, actor) -> JournalTransaction:
    """Credit the paid bucket from cash at bank: the money is already in our account."""
    key, memo, source = (
        f"bank-transfer:{transfer.pk}",
        f"Bank transfer {transfer.reference}",
        f"bank:{transfer.reference}",
    )
    memo_message = stored("payments.memo.bank_transfer", reference=transfer.reference)
    posted = wallet_credit(
        customer=transfer.customer,
        currency=transfer.currency,
        amount=transfer.amount,
        bucket="paid",
        idempotency_key=key,
        source_account=ledger_accounts.account_get(
            kind=AccountKind.CASH_BANK, currency=transfer.currency, book=transfer.customer.seller
        ),
        kind=KIND_BANK,
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
    )
    seller_payment_mirror(
        payer=transfer.customer,
        currency=transfer.currency,
        amount=transfer.amount,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
        effective_date=posted.effective_date,
        actor=actor,
    )
    credit_limit_watch(transactions=[posted])
    return posted


def redemption_credit_post(*, code, customer, expires_at: datetime | None, actor) -> JournalTransaction:
    """Credit the granted bucket, funded by the promotional-credit expense: a code is a gift, not cash. A
    code redeemed by a resale sub-distributor is mirrored in its own book (``books.seller_book_mirror``)."""
    txn = wallet_credit(
        customer=customer,
        currency=code.batch.currency,
        amount=code.batch.value,
        bucket="granted",
        idempotency_key=f"redemption:{code.pk}",
        source_account=ledger_accounts.account_get(
            kind=AccountKind.PROMOTIONAL_CREDIT, currency=code.batch.currency, book=customer.seller
        ),
        kind=KIND_CODE,
        memo=f"Redemption code {code.code[:4]}…, batch {code.batch.name}"[:500],
        memo_message=stored("payments.memo.redemption_code", code=code.code[:4], batch=code.batch.name),
        source=f"redemption:{code.batch_id}",
        expires_at=expires_at,
        actor=actor,
    )
    if customer.is_reseller:
        seller_book_mirror(transaction=txn, counter=AccountKind.COST_OF_TOKENS, actor=actor)
    return txn


# --- corrections (billing.payments.reversals, refunds, invoice_card_events) ------------------------------


def money_out_account(*, method: str, currency: str, book=None):
    """Where refunded money leaves from in ``book``: the bank account, or Stripe clearing for a card
    refund (in a reseller's book: what its seller holds for it, ``billing.wallets.books``)."""
    if method == "card":
        return _stripe_clearing(currency, book)
    return ledger_accounts.account_get(kind=AccountKind.CASH_BANK, currency=currency, book=book)


def _money_out_chain(
    *,
    posted,
    customer,
    currency: str,
    key: str,
    method: str,
    memo: str,
    memo_message: dict | None = None,
    source: str,
    actor,
):
    """The other books money paid back to ``customer`` reaches (see :func:`_card_chain`); a bank refund
    reaches only a reseller's own book."""
    if method == "card":
        _card_chain(
            transactions=[posted],
            customer=customer,
            currency=currency,
            key=key,
            memo=memo,
            memo_message=memo_message,
            source=source,
            actor=actor,
        )
        return
    seller_payment_mirror(
        payer=customer,
        currency=currency,
        amount=_wallet_net(transactions=[posted], customer=customer, currency=currency),
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
        effective_date=posted.effective_date,
        actor=actor,
    )


def receivable_money_out_post(
    *,
    customer,
    currency: str,
    amount: Decimal,
    key: str,
    kind: str,
    memo: str,
    memo_message: dict | None = None,
    source: str,
    method: str,
    effective_date: date | None = None,
    actor=None,
) -> JournalTransaction:
    """Money a customer had paid goes back out (Dr receivable / Cr cash or clearing); negative: it returns.

    The receivable rises by what left: an invoice the payment had settled is due again, or the customer's
    credit balance shrinks.
    """
    receivable = ledger_accounts.account_get(
        kind=AccountKind.RECEIVABLE, currency=currency, customer=customer
    )
    out = money_out_account(method=method, currency=currency, book=customer.seller)
    posted = transaction_post(
        idempotency_key=key,
        kind=kind,
        lines=[debit(receivable, amount, currency), credit(out, amount, currency)],
        memo=memo,
        memo_message=memo_message,
        source=source,
        effective_date=effective_date,
        actor=actor,
    )
    _money_out_chain(
        posted=posted,
        customer=customer,
        currency=currency,
        key=key,
        method=method,
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
    )
    credit_limit_watch(transactions=[posted])
    return posted


def wallet_refund_post(
    *,
    customer,
    currency: str,
    amount: Decimal,
    key: str,
    method: str,
    memo: str,
    memo_message: dict | None = None,
    source: str,
    actor,
    allow_below_floor: bool = False,
) -> JournalTransaction:
    """Pay paid wallet credit back out (bank or card); granted credit and packs are never refunded.

    ``allow_below_floor``: the money has already left (a card refund Stripe made), so the wallet must
    show it even if it was spent meanwhile.
    """
    posted = wallet_debit(
        customer=customer,
        currency=currency,
        amount=amount,
        idempotency_key=key,
        target_account=money_out_account(method=method, currency=currency, book=customer.seller),
        kind=KIND_WALLET_REFUND,
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
        buckets=["paid"],
        allow_below_floor=allow_below_floor,
    )
    _money_out_chain(
        posted=posted,
        customer=customer,
        currency=currency,
        key=key,
        method=method,
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
    )
    credit_limit_watch(transactions=[posted])
    return posted


def dispute_fee_post(
    *, currency: str, amount: Decimal, key: str, memo: str, memo_message: dict | None = None, source: str
):
    """Book Stripe's dispute fee (positive) to the payment-fee expense, or its return (negative), in the
    operator's book: the operator's Stripe account is the platform and bears disputes' fees."""
    return _fee_posting(
        key=key,
        currency=currency,
        amount=amount,
        kind=KIND_DISPUTE_FEE,
        memo=memo,
        memo_message=memo_message,
        source=source,
        book=None,
    )


def bank_transfer_reversal_post(
    *, transfer, key: str, memo: str, memo_message: dict | None = None, effective_date: date, actor
):
    """Reverse a bank top-up's wallet credit (Dr wallet paid / Cr cash): the money never stayed."""
    posted = wallet_transaction_reverse(
        original=transfer.credit_transaction,
        idempotency_key=key,
        memo=memo,
        memo_message=memo_message,
        actor=actor,
        effective_date=effective_date,
    )
    seller_payment_mirror(
        payer=transfer.customer,
        currency=transfer.currency,
        amount=-transfer.amount,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=posted.source,
        effective_date=effective_date,
        actor=actor,
    )
    credit_limit_watch(transactions=[posted])
    return posted
