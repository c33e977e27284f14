"""A customer deposit a distributor moving in brings from its old books: paid wallet credit held since then.

The money was received before this system existed, so it stands against opening balance equity, not
cash: Dr OPENING_BALANCE_EQUITY (the customer's seller's book) / Cr the customer's paid wallet, dated the
day the old books held it. Paid credit never expires, so no lot is made; it is spent like any top-up.
``billing.opening`` calls it for each deposit row it applies.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.ledger.accounts import account_get, wallet_account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import Line, Posting, amount_canonical, request_fingerprint, transaction_find
from billing.ledger.wallet_postings import transaction_post_for_wallets
from billing.money import currency_exponent, is_money
from billing.terms.credit import credit_limit_watch
from billing.terms.selectors import customer_currency
from billing.wallets.exceptions import WalletError
from billing.wallets.locking import amount_check, wallet_lock
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.models import Bucket
from billing.wallets.status import wallet_status_refresh

KIND_OPENING_DEPOSIT = "wallet.topup.opening"
KEY_PREFIX = "opening.deposit:"


def opening_deposit_key(*, customer_id: int, document: str) -> str:
    """The idempotency key of a customer's opening deposit ``document``: one per customer and document."""
    return f"{KEY_PREFIX}{customer_id}:{document}"


def wallet_opening_deposit(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    document: str,
    on: date,
    memo: str,
    source: str = "",
    actor=None,
    memo_message: dict | None = None,
) -> tuple[JournalTransaction, bool]:
    """Credit ``amount`` of ``customer``'s old deposit ``document`` to its paid wallet as of ``on``; return
    the transaction and whether it was posted now (False: the same deposit was imported already).

    The wallet's currency is the customer's (its terms', as bank transfers require); an amount must be
    whole minor units. The same document with other figures raises ``IdempotencyConflictError``. A
    deposit of a resale sub-distributor is what its seller owes it: mirrored in its own book against its
    own opening balance equity.
    """
    amount_check(amount)
    expected = customer_currency(customer)
    if currency != expected:
        raise WalletError(
            _("%(customer)s's wallet is in %(expected)s, not %(currency)s.")
            % {"customer": customer, "expected": expected, "currency": currency}
        )
    if not is_money(amount, currency):
        raise WalletError(
            _("%(currency)s amounts have at most %(places)s decimal places.")
            % {"currency": currency, "places": currency_exponent(currency)}
        )
    key = opening_deposit_key(customer_id=customer.pk, document=document)
    request = {
        "op": "wallet_opening_deposit",
        "customer": customer.pk,
        "currency": currency,
        "amount": amount_canonical(amount),
        "document": document,
        "on": on.isoformat(),
        "memo": memo,
        "source": source,
    }
    with transaction.atomic():
        if existing := transaction_find(idempotency_key=key, request_hash=request_fingerprint(request)):
            return existing, False
        wallet = wallet_lock(customer=customer, currency=currency)
        equity = account_get(kind=AccountKind.OPENING_BALANCE_EQUITY, currency=currency, book=customer.seller)
        posting = Posting(
            idempotency_key=key,
            kind=KIND_OPENING_DEPOSIT,
            lines=[
                Line(account=equity, amount=amount, currency=currency),
                Line(
                    account=wallet_account_get(customer=customer, currency=currency, bucket=Bucket.PAID),
                    amount=-amount,
                    currency=currency,
                ),
            ],
            memo=memo[:500],
            source=source,
            effective_date=on,
            request=request,
            memo_message=memo_message,
        )
        txn, created = transaction_post_for_wallets(posting=posting, actor=actor)
        if created:
            wallet_status_refresh(wallet)
            if customer.is_reseller:
                seller_book_mirror(transaction=txn, counter=AccountKind.OPENING_BALANCE_EQUITY, actor=actor)
            credit_limit_watch(transactions=[txn])
    return txn, created
