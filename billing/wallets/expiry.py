"""Expiry: what is left of a granted or pack lot past its expiry moves to breakage income.

Usage draws the lots valid when it *happened* (``burn_down.lots_burn_down_by_time``), so a lot past its
expiry still serves usage of before the expiry that arrives late, until this job takes what is left: the
breakage is then exactly what the usage up to the expiry did not use, as far as it had arrived. Breakage is
final: usage of before the expiry arriving after it is charged to the lots still valid at its time, then
paid credit (the lot is never reopened, so the breakage posted never changes).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import Line, Posting, amount_canonical
from billing.ledger.wallet_postings import transaction_post_for_wallets
from billing.wallets.credits import grants_credit_due
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.models import Bucket, Wallet, WalletLot, WalletLotUse
from billing.wallets.status import wallet_status_refresh
from common.stored_text import stored

# The breakage memo by the bucket of the lot that expired (only granted and pack credit expires).
EXPIRED_KEYS = {Bucket.GRANTED: "wallets.memo.expired_granted", Bucket.PACK: "wallets.memo.expired_pack"}


def wallet_lot_expire(*, lot_id: int, now: datetime | None = None) -> JournalTransaction | None:
    """Move what is left of an expired lot to breakage income; None when nothing is left or not due."""
    now = now or timezone.now()
    with transaction.atomic():
        lot = WalletLot.objects.select_related("wallet__customer", "account").get(pk=lot_id)
        wallet = Wallet.objects.select_for_update().select_related("customer").get(pk=lot.wallet_id)
        lot = WalletLot.objects.select_related("account").get(pk=lot_id)
        if lot.remaining <= 0 or lot.expires_at is None or lot.expires_at > now:
            return None
        breakage = account_get(
            kind=AccountKind.BREAKAGE, currency=wallet.currency, book=wallet.customer.seller
        )
        request = {"op": "wallet_lot_expire", "lot": lot.pk, "amount": amount_canonical(lot.remaining)}
        posting = Posting(
            idempotency_key=f"wallet.lot.expire:{lot.pk}",
            kind="wallet.breakage",
            lines=[
                Line(account=lot.account, amount=lot.remaining, currency=wallet.currency),
                Line(account=breakage, amount=-lot.remaining, currency=wallet.currency),
            ],
            memo=f"Expired {lot.get_bucket_display().lower()} credited by #{lot.credited_by_id}",
            memo_message=stored(
                EXPIRED_KEYS.get(lot.bucket, "wallets.memo.expired_granted"), credited_by=lot.credited_by_id
            ),
            source=f"wallet_lot:{lot.pk}",
            effective_date=timezone.localdate(lot.expires_at),
            request=request,
        )
        txn, created = transaction_post_for_wallets(posting=posting, actor=None)
        if created:
            WalletLotUse.objects.create(lot=lot, transaction=txn, amount=lot.remaining)
            WalletLot.objects.filter(pk=lot.pk).update(remaining=0, closed_at=now)
            wallet_status_refresh(wallet)
            if wallet.customer.is_reseller:
                # A resale sub-distributor's lost grant or pack is a discount it no longer gets.
                seller_book_mirror(transaction=txn, counter=AccountKind.COST_OF_TOKENS)
    return txn


def wallet_lots_expire_due(*, now: datetime | None = None) -> int:
    """Expire every lot past its expiry with credit left; return how many were moved to breakage.

    Money grants not yet in a wallet are credited first (``credits.grants_credit_due``): a grant reaches
    the wallet without waiting for usage, and one never used still ends in breakage."""
    now = now or timezone.now()
    grants_credit_due(now=now)
    due = WalletLot.objects.filter(expires_at__lte=now, remaining__gt=0).values_list("pk", flat=True)
    return sum(1 for lot_id in list(due) if wallet_lot_expire(lot_id=lot_id, now=now) is not None)
