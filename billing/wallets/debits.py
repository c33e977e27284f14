"""Debiting a wallet: the floor, the burn-down into ledger lines, the idempotency fingerprint."""

from collections.abc import Callable, Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.ledger.accounts import WALLET_KINDS, wallet_account_get
from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.ledger.services import (
    Line,
    Posting,
    amount_canonical,
    request_fingerprint,
    transaction_find,
)
from billing.ledger.wallet_postings import transaction_post_for_wallets
from billing.wallets.burn_down import LotTake, buckets_normalise, lot_uses_record, wallet_burn_down
from billing.wallets.exceptions import WalletError, WalletFloorError
from billing.wallets.locking import amount_check, wallet_lock
from billing.wallets.models import Bucket, Wallet
from billing.wallets.selectors import wallet_balance
from billing.wallets.status import wallet_status_refresh


def floor_check(*, wallet: Wallet, available: Decimal, amount: Decimal) -> None:
    """Refuse a debit that would take the wallet's available balance below its floor."""
    if available - amount < wallet.floor:
        raise WalletFloorError(
            _(
                "Insufficient balance: %(available)s %(currency)s available, floor %(floor)s, "
                "debit %(amount)s refused."
            )
            % {"available": available, "currency": wallet.currency, "floor": wallet.floor, "amount": amount},
            available=available,
            floor=wallet.floor,
        )


def wallet_debit_locked(
    *,
    wallet: Wallet,
    amount: Decimal,
    idempotency_key: str,
    target_account: LedgerAccount,
    kind: str,
    memo: str,
    source: str,
    actor,
    request: dict,
    allow_below_floor: bool,
    buckets: frozenset[str] | None = None,
    extra_lines: Sequence[Line] = (),
    memo_message: dict | None = None,
) -> tuple[JournalTransaction, bool]:
    """Burn ``amount`` down from a wallet the caller has locked (``wallet_lock``) and has checked the
    request of; return ``(transaction, created)`` (False: the key was replayed). For :func:`wallet_debit`
    and manual adjustments."""
    now = timezone.now()
    balance = wallet_balance(wallet=wallet, now=now)
    if not allow_below_floor:
        floor_check(wallet=wallet, available=balance.available, amount=amount)
    takes = wallet_burn_down(wallet=wallet, amount=amount, now=now, buckets=buckets)
    lines = debit_lines(
        wallet=wallet,
        takes=takes,
        paid=lambda: wallet_account_get(
            customer=wallet.customer, currency=wallet.currency, bucket=Bucket.PAID
        ),
        target_account=target_account,
        amount=amount,
        extra_lines=extra_lines,
    )
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
        lot_uses_record([(txn, takes)])
        wallet_status_refresh(wallet)
    return txn, created


def debit_lines(
    *,
    wallet: Wallet,
    takes: list[LotTake],
    paid: Callable[[], LedgerAccount],
    target_account: LedgerAccount,
    amount: Decimal,
    extra_lines: Sequence[Line],
) -> list[Line]:
    """The ledger lines of a debit: each burnt bucket account, the target, the extra lines."""
    per_account: dict[int, tuple[LedgerAccount, Decimal]] = {}
    for take in takes:
        account = take.lot.account if take.lot is not None else paid()
        prior = per_account.get(account.pk, (account, Decimal("0")))[1]
        per_account[account.pk] = (account, prior + take.amount)
    lines = [Line(account=acc, amount=amt, currency=wallet.currency) for acc, amt in per_account.values()]
    lines.append(Line(account=target_account, amount=-amount, currency=wallet.currency))
    return lines + list(extra_lines)


def wallet_debit(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    idempotency_key: str,
    target_account: LedgerAccount,
    kind: str,
    memo: str,
    source: str = "",
    actor=None,
    allow_below_floor: bool = False,
    buckets: Sequence[str] | None = None,
    extra_lines: Sequence[Line] = (),
    memo_message: dict | None = None,
) -> JournalTransaction:
    """Debit ``amount`` from ``customer``'s wallet to ``target_account`` (e.g. usage revenue).

    Burns down open lots (earliest expiry first, granted before pack when equal) and then paid credit.
    ``buckets`` (e.g. ``["paid"]``) restricts the burn-down to those buckets, in the same order; the others
    are left untouched. Paid credit takes whatever the allowed lots cannot cover; without ``"paid"`` among
    them, a shortfall raises ``WalletError``. None (the default) means all buckets; an empty, non-sequence or
    unknown value raises ``WalletError``. Use ``["paid"]`` to take back card money (a refund must never
    consume granted credit or packs).
    Raises ``WalletFloorError`` — nothing written — when the available balance would go below the
    wallet's floor, unless ``allow_below_floor`` (for charges that already happened, such as metered
    usage; the wallet is then suspended like any other that reaches its floor). Idempotent on
    ``idempotency_key`` as :func:`wallet_credit`.
    ``extra_lines`` (ledger ``Line``s, balanced among themselves per currency, on company accounts only)
    are posted in the same journal transaction — e.g. a usage batch's cost at contract price next to its
    sale — so what belongs together is one transaction; they are part of the idempotency fingerprint.
    """
    chosen = buckets_normalise(buckets)
    extra_lines, request = debit_request(
        customer=customer,
        currency=currency,
        amount=amount,
        target_account=target_account,
        kind=kind,
        memo=memo,
        source=source,
        allow_below_floor=allow_below_floor,
        buckets=chosen,
        extra_lines=extra_lines,
    )
    with transaction.atomic():
        if existing := transaction_find(
            idempotency_key=idempotency_key, request_hash=request_fingerprint(request)
        ):
            return existing
        wallet = wallet_lock(customer=customer, currency=currency)
        txn, _created = wallet_debit_locked(
            wallet=wallet,
            amount=amount,
            idempotency_key=idempotency_key,
            target_account=target_account,
            kind=kind,
            memo=memo,
            source=source,
            actor=actor,
            request=request,
            allow_below_floor=allow_below_floor,
            buckets=chosen,
            extra_lines=extra_lines,
            memo_message=memo_message,
        )
    return txn


def debit_request(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    target_account: LedgerAccount,
    kind: str,
    memo: str,
    source: str,
    allow_below_floor: bool,
    buckets: frozenset[str] | None,
    extra_lines: Sequence[Line],
) -> tuple[list[Line], dict]:
    """Check a debit's arguments; return its checked extra lines and its idempotency fingerprint body."""
    amount_check(amount)
    if target_account.kind in WALLET_KINDS:
        raise WalletError(_("Debit a wallet to a company account, not to another wallet."))
    extra_lines = _extra_lines_check(extra_lines)
    request = {
        "op": "wallet_debit",
        "customer": customer.pk,
        "currency": currency,
        "amount": amount_canonical(amount),
        "target_account": target_account.pk,
        "kind": kind,
        "memo": memo,
        "source": source,
        "allow_below_floor": allow_below_floor,
    }
    if buckets is not None:
        # Only when restricted, so unrestricted debits keep the fingerprint they were first posted with.
        request["buckets"] = sorted(buckets)
    if extra_lines:
        # Likewise only when present: debits without extra lines keep their first fingerprint.
        request["extra_lines"] = [
            (ln.account.pk, amount_canonical(ln.amount), ln.currency) for ln in extra_lines
        ]
    return extra_lines, request


def _extra_lines_check(extra_lines: Sequence[Line]) -> list[Line]:
    """Refuse extra lines that touch a wallet (lots would go out of step) or do not balance by themselves."""
    lines = list(extra_lines)
    totals: dict[str, Decimal] = {}
    for line in lines:
        if not isinstance(line, Line):
            raise WalletError(_("extra_lines must be ledger lines (billing.ledger.services.debit/credit)."))
        if line.account.kind in WALLET_KINDS:
            raise WalletError(
                _("Extra lines of a wallet debit must be on company accounts, not on a wallet.")
            )
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    if any(totals.values()):
        raise WalletError(_("The extra lines of a wallet debit must balance by themselves in each currency."))
    return lines
