"""Reversing a transaction that touched a wallet, with its lots, floor and suspension kept in step."""

from collections.abc import Callable
from datetime import date

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.models import JournalEntry, JournalTransaction
from billing.ledger.services import transaction_reverse
from billing.wallets.exceptions import WalletError
from billing.wallets.models import Wallet, WalletLot, WalletLotUse
from billing.wallets.status import wallet_status_refresh


def wallet_transaction_reverse(
    *,
    original: JournalTransaction,
    idempotency_key: str,
    memo: str,
    actor=None,
    effective_date: date | None = None,
    memo_message: dict | None = None,
) -> JournalTransaction:
    """Post the mirror image of ``original`` as ``billing.ledger.services.transaction_reverse`` does, and
    when it touched a wallet keep that wallet's lots, floor and suspension in step in the same database
    transaction.

    A grant or pack credit can be reversed only while none of it has been used or expired (otherwise post
    an adjustment; ``WalletError`` and nothing written); a paid credit can always be reversed (a refund or
    chargeback), even below the floor; a debit gives back what it took from each lot. Idempotent on
    ``idempotency_key``; a transaction is reversed at most once.
    """
    return transaction_reverse(
        original=original,
        idempotency_key=idempotency_key,
        memo=memo,
        actor=actor,
        effective_date=effective_date,
        wallet_effect=_reversal_prepare,
        memo_message=memo_message,
    )


def _reversal_prepare(
    original: JournalTransaction, entries: list[JournalEntry]
) -> Callable[[JournalTransaction], None]:
    """Lock the wallets ``original`` touched and check it may be reversed; return the step to run after.

    The ledger calls this with ``original`` locked and not yet reversed, before posting the reversal;
    the wallets are locked here, before the reversal locks any ledger account (wallets first, as always).
    """
    keys = {(e.account.customer_id, e.currency) for e in entries if e.account.kind in WALLET_KINDS}
    wallets = list(
        Wallet.objects.select_for_update()
        .select_related("customer")
        .filter(Q(*[Q(customer_id=c, currency=ccy) for c, ccy in keys], _connector=Q.OR))
        .order_by("pk")
    )
    created_lot = WalletLot.objects.filter(credited_by=original).first()
    if created_lot is not None and created_lot.remaining != created_lot.amount:
        raise WalletError(
            _(
                "Transaction #%(number)s credited %(amount)s of which only %(remaining)s is left; it "
                "cannot be reversed. Post a manual adjustment instead."
            )
            % {"number": original.pk, "amount": created_lot.amount, "remaining": created_lot.remaining}
        )
    uses = list(WalletLotUse.objects.filter(transaction=original))

    def finish(reversal: JournalTransaction) -> None:
        if created_lot is not None:
            WalletLotUse.objects.create(lot=created_lot, transaction=reversal, amount=created_lot.remaining)
            WalletLot.objects.filter(pk=created_lot.pk).update(remaining=0, closed_at=timezone.now())
        for use in uses:
            WalletLotUse.objects.create(lot_id=use.lot_id, transaction=reversal, amount=-use.amount)
            WalletLot.objects.filter(pk=use.lot_id).update(
                remaining=F("remaining") + use.amount, closed_at=None
            )
        for wallet in wallets:
            wallet_status_refresh(wallet)

    return finish
