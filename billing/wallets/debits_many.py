"""Debiting many wallets at once: a usage batch's debits (one per prepaid customer) in a few statements."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from billing.ledger.accounts import WALLET_KINDS, account_code, wallet_account_get
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.ledger.services import (
    Line,
    Posting,
    replay_check,
    request_fingerprint,
    transactions_post_many,
)
from billing.ledger.wallet_postings import transactions_post_many_for_wallets
from billing.wallets.burn_down import (
    lot_uses_record,
    lots_burn_down,
    lots_burn_down_by_time,
    lots_usable,
    lots_valid_from,
)
from billing.wallets.credits import grant_credit, grants_uncredited
from billing.wallets.debits import debit_lines, debit_request, floor_check
from billing.wallets.exceptions import WalletError
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import BalanceSuspension, Bucket, Wallet, WalletLot
from billing.wallets.selectors import wallet_balances
from billing.wallets.status import wallet_status_apply


@dataclass(frozen=True)
class WalletDebit:
    """One debit for :func:`wallet_debits_many`: the arguments of :func:`wallet_debit` (all buckets)."""

    customer: Customer
    currency: str
    amount: Decimal
    idempotency_key: str
    target_account: LedgerAccount
    kind: str
    memo: str
    source: str = ""
    allow_below_floor: bool = False
    extra_lines: Sequence[Line] = ()
    # Usage: the amount by when it was used, ``(since, amount)`` per stretch of time within which the same
    # lots are valid (``burn_down.lots_burn_down_by_time``), summing to ``amount``. Empty: used now. Not in
    # the idempotency fingerprint: like the burn-down it decides how, not what, and the usage batch's own
    # key already covers the events it comes from.
    parts: Sequence[tuple[datetime | None, Decimal]] = ()
    # The memo in the reader's language (``common.stored_text.stored``); not fingerprinted.
    memo_message: dict | None = None


def wallet_debits_many(
    *, debits: Sequence[WalletDebit], postings: Sequence[Posting] = (), actor=None
) -> list[JournalTransaction]:
    """Debit many wallets at once (a usage batch: one debit per prepaid customer) and post ``postings``
    (on company accounts only) with them; return the debits' transactions, then the postings'.

    Each debit is exactly what :func:`wallet_debit` would write — same burn-down, lines, lot uses,
    idempotency key and fingerprint (a replay returns the first transaction), same suspension and
    low-balance notices — but wallets are locked once (in id order, before any ledger account), balances
    and open lots are read with a query each for all of them, and the journal is written in bulk
    (``ledger.services.transactions_post_many_for_wallets``), ``postings`` included: every ledger
    account is locked once, in id order, after the wallets (two rounds of account locks could deadlock
    with another batch). One debit per wallet. A debit that would cross its floor (without
    ``allow_below_floor``) raises ``WalletFloorError`` and nothing at all is written.

    A debit with ``parts`` (usage) burns the lots valid when it was used, expired ones included until
    breakage; the money grants of its customer not yet in the wallet are credited first, under the wallet
    lock, so that usage of their time draws them.
    """
    for posting in postings:
        if posting.request is not None or any(ln.account.kind in WALLET_KINDS for ln in posting.lines):
            raise WalletError(
                "wallet_debits_many: other postings must be plain postings on company accounts."
            )
    prepared = []
    for d in debits:
        extra_lines, request = debit_request(
            customer=d.customer,
            currency=d.currency,
            amount=d.amount,
            target_account=d.target_account,
            kind=d.kind,
            memo=d.memo,
            source=d.source,
            allow_below_floor=d.allow_below_floor,
            buckets=None,
            extra_lines=d.extra_lines,
        )
        if d.parts and sum(amount for _since, amount in d.parts) != d.amount:
            raise WalletError(
                f"wallet_debits_many: the parts of {d.idempotency_key} do not sum to its amount."
            )
        prepared.append((d, extra_lines, request))
    if len({(d.customer.pk, d.currency) for d in debits}) != len(debits):
        raise WalletError("wallet_debits_many: one debit per wallet.")
    if not prepared:
        return transactions_post_many(postings=postings, actor=actor) if postings else []
    with transaction.atomic():
        found = {
            (w.customer_id, w.currency): w.pk
            for w in Wallet.objects.filter(
                customer__in=[d.customer for d in debits], currency__in={d.currency for d in debits}
            )
        }
        wallet_ids = [
            found.get((d.customer.pk, d.currency))
            or wallet_get_or_create(customer=d.customer, currency=d.currency).pk
            for d in debits
        ]
        wallets = {
            (w.customer_id, w.currency): w
            for w in Wallet.objects.select_for_update()
            .select_related("customer")
            .filter(pk__in=wallet_ids)
            .order_by("pk")
        }
        # The clock is read once the locks are held, as wallet_debit does: a lot may expire while we wait.
        now = timezone.now()
        # Under the wallet locks no debit of these wallets can commit meanwhile: replays are final here.
        keys = [d.idempotency_key for d in debits]
        existing = {t.idempotency_key: t for t in JournalTransaction.objects.filter(idempotency_key__in=keys)}
        for d, _x, request in prepared:
            replay_check(existing=existing.get(d.idempotency_key), request_hash=request_fingerprint(request))
        fresh = [(d, x, r) for d, x, r in prepared if d.idempotency_key not in existing]
        fresh_wallets = [wallets[(d.customer.pk, d.currency)] for d, _x, _r in fresh]
        by_usage = {(d.customer.pk, d.currency) for d, _x, _r in fresh if d.parts}
        for grant in grants_uncredited(customer_ids={cid for cid, _ccy in by_usage}, now=now):
            if (grant.customer_id, grant.currency) in by_usage:
                grant_credit(grant=grant, actor=actor)  # its wallet is locked above: no new lock order
        balances = wallet_balances(wallets=fresh_wallets, now=now)
        lots: dict[int, list[WalletLot]] = {w.pk: [] for w in fresh_wallets}
        for lot in lots_usable().filter(wallet__in=fresh_wallets):
            lots[lot.wallet_id].append(lot)
        starts = lots_valid_from([lot for own in lots.values() for lot in own]) if by_usage else {}
        paid_codes = {
            w.pk: account_code(kind=AccountKind.WALLET_PAID, currency=w.currency, customer=w.customer)
            for w in fresh_wallets
        }
        paid_accounts = {a.code: a for a in LedgerAccount.objects.filter(code__in=paid_codes.values())}
        debit_postings, plans = [], []
        for d, extra_lines, request in fresh:
            wallet = wallets[(d.customer.pk, d.currency)]
            available = balances[wallet.pk].available
            if not d.allow_below_floor:
                floor_check(wallet=wallet, available=available, amount=d.amount)
            if d.parts:
                takes = lots_burn_down_by_time(lots=lots[wallet.pk], parts=d.parts, starts=starts, now=now)
            else:
                open_now = [lot for lot in lots[wallet.pk] if lot.expires_at is None or lot.expires_at > now]
                takes = lots_burn_down(lots=open_now, amount=d.amount, now=now)
            # Credit taken from a lot past its expiry was not available (it awaited breakage): the
            # available balance falls by the rest only.
            stale = sum(
                (
                    t.amount
                    for t in takes
                    if t.lot is not None and t.lot.expires_at and t.lot.expires_at <= now
                ),
                Decimal(0),
            )
            lines = debit_lines(
                wallet=wallet,
                takes=takes,
                paid=lambda w=wallet: (
                    paid_accounts.get(paid_codes[w.pk])
                    or wallet_account_get(customer=w.customer, currency=w.currency, bucket=Bucket.PAID)
                ),
                target_account=d.target_account,
                amount=d.amount,
                extra_lines=extra_lines,
            )
            debit_postings.append(
                Posting(
                    idempotency_key=d.idempotency_key,
                    kind=d.kind,
                    lines=lines,
                    memo=d.memo,
                    source=d.source,
                    request=request,
                    memo_message=d.memo_message,
                )
            )
            plans.append((wallet, takes, available - d.amount + stale))
        posted = transactions_post_many_for_wallets(postings=debit_postings + list(postings), actor=actor)
        debited, others = posted[: len(debit_postings)], posted[len(debit_postings) :]
        open_suspensions = {
            s.wallet_id: s
            for s in BalanceSuspension.objects.filter(wallet__in=fresh_wallets, ended_at__isnull=True)
        }
        made = [(txn, plan) for (txn, created), plan in zip(debited, plans, strict=True) if created]
        lot_uses_record([(txn, takes) for txn, (_wallet, takes, _available) in made])
        for _txn, (wallet, _takes, available) in made:
            wallet_status_apply(
                wallet=wallet, available=available, open_suspension=open_suspensions.get(wallet.pk)
            )
        by_key = existing | {txn.idempotency_key: txn for txn, _created in debited}
    return [by_key[key] for key in keys] + [txn for txn, _created in others]
