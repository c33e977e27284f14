"""Crediting a wallet: paid credit, granted or pack credit as lots that may expire, and money grants."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.ledger.accounts import WALLET_KINDS, account_get, wallet_account_get
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.ledger.services import (
    Line,
    Posting,
    amount_canonical,
    request_fingerprint,
    transaction_find,
)
from billing.ledger.wallet_postings import transaction_post_for_wallets
from billing.wallets.exceptions import WalletError
from billing.wallets.locking import amount_check, wallet_lock
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.models import Bucket, WalletLot, WalletLotUse
from billing.wallets.status import wallet_status_refresh
from catalog.models import AllowanceUnit, FreeGrant
from common.stored_text import stored


def wallet_credit(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    bucket: str,
    idempotency_key: str,
    source_account: LedgerAccount,
    kind: str,
    memo: str,
    source: str = "",
    expires_at: datetime | None = None,
    actor=None,
    memo_message: dict | None = None,
) -> JournalTransaction:
    """Credit ``amount`` to ``customer``'s ``bucket`` ("paid", "granted", "pack") from ``source_account``.

    Posts Dr ``source_account`` / Cr the wallet's bucket account. Granted and pack credit becomes a lot
    that expires at ``expires_at`` (None: never); paid credit never expires, so ``expires_at`` is refused
    for it. Replaying ``idempotency_key`` with the same arguments returns the first transaction; with
    different arguments it raises ``IdempotencyConflictError``. Lifts a balance suspension when the
    balance rises above the floor.
    """
    amount_check(amount)
    if bucket not in Bucket.values:
        raise WalletError(
            _("Unknown wallet bucket %(bucket)s; use paid, granted or pack.") % {"bucket": repr(bucket)}
        )
    if bucket == Bucket.PAID and expires_at is not None:
        raise WalletError(_("Paid credit does not expire; use the granted or pack bucket."))
    if expires_at is not None and timezone.is_naive(expires_at):
        raise WalletError(_("expires_at must be timezone-aware."))
    request = {
        "op": "wallet_credit",
        "customer": customer.pk,
        "currency": currency,
        "amount": amount_canonical(amount),
        "bucket": bucket,
        "source_account": source_account.pk,
        "kind": kind,
        "memo": memo,
        "source": source,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }
    with transaction.atomic():
        if existing := transaction_find(
            idempotency_key=idempotency_key, request_hash=request_fingerprint(request)
        ):
            return existing
        if source_account.kind in WALLET_KINDS:
            raise WalletError(_("Credit a wallet from a company account, not from another wallet."))
        wallet = wallet_lock(customer=customer, currency=currency)
        target = wallet_account_get(customer=customer, currency=currency, bucket=bucket)
        posting = Posting(
            idempotency_key=idempotency_key,
            kind=kind,
            lines=[
                Line(account=source_account, amount=amount, currency=currency),
                Line(account=target, amount=-amount, currency=currency),
            ],
            memo=memo,
            source=source,
            request=request,
            memo_message=memo_message,
        )
        txn, created = transaction_post_for_wallets(posting=posting, actor=actor)
        if created:
            if bucket != Bucket.PAID:
                WalletLot.objects.create(
                    wallet=wallet,
                    bucket=bucket,
                    account=target,
                    amount=amount,
                    remaining=amount,
                    expires_at=expires_at,
                    credited_by=txn,
                )
            wallet_status_refresh(wallet)
    return txn


def wallet_credit_back(
    *,
    customer: Customer,
    currency: str,
    gives: Sequence[tuple[WalletLot | None, Decimal]],
    idempotency_key: str,
    source_account: LedgerAccount,
    kind: str,
    memo: str,
    source: str = "",
    actor=None,
    memo_message: dict | None = None,
) -> JournalTransaction:
    """Give back credit that debits took, each ``(lot, amount)`` to the lot it came from (None: paid
    credit) — e.g. a usage charge lowered after a price error — in one transaction: Dr ``source_account``
    / Cr each bucket's account. A lot's ``remaining`` rises and a negative lot use records it, as a
    reversal does; a lot past its expiry is restored too (breakage takes it as it would have).

    ``WalletError``, nothing written, for a lot of another wallet, a lot closed since (breakage is final:
    give that back as a new lot instead) or more than the lot has used. Idempotent on
    ``idempotency_key`` as :func:`wallet_credit`.
    """
    if not gives:
        raise WalletError(_("Nothing to give back."))
    per_lot: dict[int | None, Decimal] = defaultdict(Decimal)
    for lot, amount in gives:
        amount_check(amount)
        per_lot[lot.pk if lot is not None else None] += amount
    request = {
        "op": "wallet_credit_back",
        "customer": customer.pk,
        "currency": currency,
        "gives": [[pk, amount_canonical(per_lot[pk])] for pk in sorted(per_lot, key=lambda pk: pk or 0)],
        "source_account": source_account.pk,
        "kind": kind,
        "memo": memo,
        "source": source,
    }
    with transaction.atomic():
        if existing := transaction_find(
            idempotency_key=idempotency_key, request_hash=request_fingerprint(request)
        ):
            return existing
        if source_account.kind in WALLET_KINDS:
            raise WalletError(_("Credit a wallet from a company account, not from another wallet."))
        wallet = wallet_lock(customer=customer, currency=currency)
        lots = WalletLot.objects.select_related("account").in_bulk([pk for pk in per_lot if pk is not None])
        accounts: dict[int, LedgerAccount] = {}
        per_account: dict[int, Decimal] = defaultdict(Decimal)
        for pk, amount in per_lot.items():
            lot = lots.get(pk)
            if pk is not None and (lot is None or lot.wallet_id != wallet.pk):
                raise WalletError(_("Wallet lot #%(lot)s is not in this wallet.") % {"lot": pk})
            if lot is not None and lot.closed_at is not None:
                raise WalletError(
                    _("Wallet lot #%(lot)s is closed: give its credit back as a new lot.") % {"lot": pk}
                )
            if lot is not None and lot.remaining + amount > lot.amount:
                raise WalletError(
                    _("Wallet lot #%(lot)s has used less than the %(amount)s given back to it.")
                    % {"lot": pk, "amount": amount}
                )
            if lot is None:
                account = wallet_account_get(customer=customer, currency=currency, bucket=Bucket.PAID)
            else:
                account = lot.account
            accounts[account.pk] = account
            per_account[account.pk] += amount
        lines = [Line(account=source_account, amount=sum(per_lot.values()), currency=currency)]
        lines += [
            Line(account=accounts[pk], amount=-amt, currency=currency) for pk, amt in per_account.items()
        ]
        posting = Posting(
            idempotency_key=idempotency_key,
            kind=kind,
            lines=lines,
            memo=memo,
            source=source,
            request=request,
            memo_message=memo_message,
        )
        txn, created = transaction_post_for_wallets(posting=posting, actor=actor)
        if created:
            for pk, amount in per_lot.items():
                if pk is not None:
                    WalletLotUse.objects.create(lot_id=pk, transaction=txn, amount=-amount)
                    WalletLot.objects.filter(pk=pk).update(remaining=F("remaining") + amount)
            wallet_status_refresh(wallet)
    return txn


# A money grant's lot is credited by a transaction with this source and key (plus the grant's id): how the
# burn-down finds the grant's start, and how a grant is known to be credited already.
GRANT_SOURCE = "free_grant:"


def grants_uncredited(*, customer_ids=None, now: datetime | None = None) -> QuerySet[FreeGrant]:
    """Free grants in money units (``AllowanceUnit.CREDIT``) granted by ``now`` and not yet in a wallet,
    of ``customer_ids`` (None: every customer). Token grants are drawn by ``billing.allowances``."""
    now = now or timezone.now()
    credited = JournalTransaction.objects.filter(
        idempotency_key=Concat(Value(GRANT_SOURCE), Cast(OuterRef("pk"), CharField()))
    )
    grants = FreeGrant.objects.filter(unit=AllowanceUnit.CREDIT, amount__gt=0, granted_at__lte=now)
    if customer_ids is not None:
        grants = grants.filter(customer_id__in=list(customer_ids))
    return grants.filter(~Exists(credited)).select_related("customer").order_by("pk")


def grant_credit(*, grant: FreeGrant, actor=None) -> JournalTransaction:
    """Put a money grant in its customer's wallet: granted credit (Dr promotional credit expense / Cr the
    granted bucket), a lot expiring with the grant. The lot is valid from the grant's start, not from this
    posting (``burn_down.lots_valid_from``): usage of the grant's time arriving later still draws it.
    Idempotent on the grant. A grant to a resale sub-distributor lowers what it owes its seller: mirrored
    in its own book as a discount on what it buys (``mirror.seller_book_mirror``)."""
    txn = wallet_credit(
        customer=grant.customer,
        currency=grant.currency,
        amount=grant.amount,
        bucket=Bucket.GRANTED,
        idempotency_key=f"{GRANT_SOURCE}{grant.pk}",
        source_account=account_get(
            kind=AccountKind.PROMOTIONAL_CREDIT, currency=grant.currency, book=grant.customer.seller
        ),
        kind="wallet.grant",
        memo=(f"Free grant #{grant.pk}" + (f": {grant.reason}" if grant.reason else ""))[:500],
        memo_message=(
            stored("wallets.memo.free_grant_reason", grant=grant.pk, reason=grant.reason)
            if grant.reason
            else stored("wallets.memo.free_grant", grant=grant.pk)
        ),
        source=f"{GRANT_SOURCE}{grant.pk}",
        expires_at=grant.expires_at,
        actor=actor,
    )
    if grant.customer.is_reseller:
        seller_book_mirror(transaction=txn, counter=AccountKind.COST_OF_TOKENS, actor=actor)
    return txn


def grants_credit_due(*, now: datetime | None = None) -> int:
    """Credit every money grant due (``grants_uncredited``) to its wallet, each in its own transaction;
    return how many. The expiry job runs it, so a grant shows in the wallet (and an unused one reaches
    breakage) without waiting for usage; a usage batch credits its own customers' grants before it
    debits them (``debits_many``)."""
    done = 0
    for grant in grants_uncredited(now=now):
        grant_credit(grant=grant)
        done += 1
    return done
