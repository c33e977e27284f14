"""Writes for wallets: credit, debit (burn-down), manual adjustment, expiry to breakage, reversal upkeep.

Every function here locks the wallet row first (SELECT … FOR UPDATE) and only then posts to the ledger, so
two writers on one wallet queue instead of both reading the same balance: no lost update, and a hard floor
holds under concurrency. Lock order is always wallet(s) by id, then ledger accounts by id.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from accounts.models import Customer, StaffRole
from billing.ledger.accounts import WALLET_KINDS, account_code, account_get, wallet_account_get
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount
from billing.ledger.services import (
    Line,
    Posting,
    _post,
    _post_many,
    amount_canonical,
    replay_check,
    request_fingerprint,
    transaction_find,
    transactions_post_many,
)
from billing.wallets.exceptions import WalletError, WalletFloorError
from billing.wallets.models import (
    BUCKET_PRIORITY,
    BalanceSuspension,
    Bucket,
    Wallet,
    WalletAdjustment,
    WalletLot,
    WalletLotUse,
)
from billing.wallets.selectors import BUCKET_SHORT_NAMES, wallet_balance, wallet_balances

ADJUSTING_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def _low_balance_default(currency: str) -> Decimal | None:
    value = getattr(settings, "WALLET_LOW_BALANCE_THRESHOLDS", {}).get(currency)
    return Decimal(str(value)) if value is not None else None


def wallet_get_or_create(*, customer: Customer, currency: str) -> Wallet:
    """Return ``customer``'s wallet in ``currency``, creating it with a zero floor if missing."""
    wallet, _created = Wallet.objects.get_or_create(
        customer=customer,
        currency=currency,
        defaults={"low_balance_threshold": _low_balance_default(currency)},
    )
    return wallet


def _wallet_lock(*, customer: Customer, currency: str) -> Wallet:
    wallet = wallet_get_or_create(customer=customer, currency=currency)
    return Wallet.objects.select_for_update().select_related("customer").get(pk=wallet.pk)


def _check_amount(amount) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        message = _("The amount must be a positive Decimal, not %(amount)s.") % {"amount": repr(amount)}
        raise WalletError(message)


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
) -> JournalTransaction:
    """Credit ``amount`` to ``customer``'s ``bucket`` ("paid", "granted", "pack") from ``source_account``.

    Posts Dr ``source_account`` / Cr the wallet's bucket account. Granted and pack credit becomes a lot
    that expires at ``expires_at`` (None: never); paid credit never expires, so ``expires_at`` is refused
    for it. Replaying ``idempotency_key`` with the same arguments returns the first transaction; with
    different arguments it raises ``IdempotencyConflictError``. Lifts a balance suspension when the
    balance rises above the floor.
    """
    _check_amount(amount)
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
        wallet = _wallet_lock(customer=customer, currency=currency)
        target = wallet_account_get(customer=customer, currency=currency, bucket=bucket)
        txn, created = _post(
            idempotency_key=idempotency_key,
            kind=kind,
            lines=[
                Line(account=source_account, amount=amount, currency=currency),
                Line(account=target, amount=-amount, currency=currency),
            ],
            memo=memo,
            source=source,
            effective_date=None,
            actor=actor,
            request=request,
            wallet_service=True,
        )
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
            _status_refresh(wallet)
    return txn


@dataclass(frozen=True)
class _Take:
    lot: WalletLot | None  # None: the paid bucket
    amount: Decimal


def _buckets_normalise(buckets) -> frozenset[str] | None:
    """Validate a ``buckets`` restriction; None (or all three buckets) means no restriction."""
    if buckets is None:
        return None
    if isinstance(buckets, str) or not isinstance(buckets, Sequence | set | frozenset):
        raise WalletError(
            _("buckets must be a sequence of bucket names such as ['paid'], not %(buckets)s.")
            % {"buckets": repr(buckets)}
        )
    unknown = [b for b in buckets if b not in Bucket.values]
    if unknown:
        raise WalletError(
            _("Unknown wallet bucket(s) %(buckets)s; use paid, granted or pack.") % {"buckets": repr(unknown)}
        )
    if not buckets:
        raise WalletError(_("buckets must name at least one bucket (or be None for all of them)."))
    chosen = frozenset(buckets)
    return None if chosen == frozenset(Bucket.values) else chosen


def _allocate(
    *, wallet: Wallet, amount: Decimal, now: datetime, buckets: frozenset[str] | None = None
) -> list[_Take]:
    """Split ``amount`` over the wallet's buckets in burn-down order; what lots cannot cover goes to paid.

    Order: earliest expiry first (never-expiring lots after dated ones), granted before pack when the
    expiry is equal, then oldest lot first; paid credit last. Expired lots awaiting breakage are skipped.
    ``buckets`` restricts the burn-down to those buckets (same order); without paid among them, lots that
    cannot cover the amount raise ``WalletError``.
    """
    lots = _lots_open(now).filter(wallet=wallet)
    if buckets is not None:
        lots = lots.filter(bucket__in=buckets - {Bucket.PAID})
    return _burn_down(lots=list(lots), amount=amount, now=now, buckets=buckets)


def _lots_open(now: datetime):
    """Lots a debit may burn at ``now``: something left, not expired (expired ones await breakage)."""
    return WalletLot.objects.filter(remaining__gt=0).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def _burn_down(
    *, lots: list[WalletLot], amount: Decimal, now: datetime, buckets: frozenset[str] | None = None
) -> list[_Take]:
    """``_allocate`` on lots already read (open ones, of the allowed buckets)."""
    ordered = sorted(
        lots,
        key=lambda lot: (lot.expires_at is None, lot.expires_at or now, BUCKET_PRIORITY[lot.bucket], lot.pk),
    )
    takes, left = [], amount
    for lot in ordered:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        takes.append(_Take(lot=lot, amount=take))
        left -= take
    if left > 0:
        if buckets is not None and Bucket.PAID not in buckets:
            names = [str(BUCKET_SHORT_NAMES[b]) for b in Bucket.values if b in buckets]
            if len(names) == 2:  # paid is not among them here, so granted and pack at most
                # Translators: two wallet buckets in an error message, e.g. "granted and pack".
                text = pgettext("two bucket names", "%(first)s and %(second)s") % {
                    "first": names[0],
                    "second": names[1],
                }
            else:
                text = ", ".join(names)
            raise WalletError(
                ngettext(
                    "The %(names)s bucket holds less than %(amount)s.",
                    "The %(names)s buckets hold less than %(amount)s.",
                    len(names),
                )
                % {"names": text, "amount": amount}
            )
        takes.append(_Take(lot=None, amount=left))
    return takes


def _floor_check(*, wallet: Wallet, available: Decimal, amount: Decimal) -> None:
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


def _debit(
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
) -> tuple[JournalTransaction, bool]:
    """Burn ``amount`` down from a wallet already locked by the caller."""
    now = timezone.now()
    balance = wallet_balance(wallet=wallet, now=now)
    if not allow_below_floor:
        _floor_check(wallet=wallet, available=balance.available, amount=amount)
    takes = _allocate(wallet=wallet, amount=amount, now=now, buckets=buckets)
    lines = _debit_lines(
        wallet=wallet,
        takes=takes,
        paid=lambda: wallet_account_get(
            customer=wallet.customer, currency=wallet.currency, bucket=Bucket.PAID
        ),
        target_account=target_account,
        amount=amount,
        extra_lines=extra_lines,
    )
    txn, created = _post(
        idempotency_key=idempotency_key,
        kind=kind,
        lines=lines,
        memo=memo,
        source=source,
        effective_date=None,
        actor=actor,
        request=request,
        wallet_service=True,
    )
    if created:
        _lot_uses_record([(txn, takes)])
        _status_refresh(wallet)
    return txn, created


def _debit_lines(
    *,
    wallet: Wallet,
    takes: list[_Take],
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


def _lot_uses_record(uses: Sequence[tuple[JournalTransaction, list[_Take]]]) -> None:
    """Record the lots each debit transaction burnt and lower what they hold: two statements for any
    number of debits (a usage batch debits every prepaid customer at once)."""
    rows = [
        WalletLotUse(lot=take.lot, transaction=txn, amount=take.amount)
        for txn, takes in uses
        for take in takes
        if take.lot is not None
    ]
    if not rows:
        return
    WalletLotUse.objects.bulk_create(rows)
    burnt: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        burnt[row.lot.pk] += row.amount
    WalletLot.objects.filter(pk__in=burnt).update(
        remaining=Case(
            *(When(pk=pk, then=F("remaining") - amount) for pk, amount in burnt.items()),
            output_field=WalletLot._meta.get_field("remaining"),
        )
    )


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
    chosen = _buckets_normalise(buckets)
    extra_lines, request = _debit_request(
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
        wallet = _wallet_lock(customer=customer, currency=currency)
        txn, _created = _debit(
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
        )
    return txn


def _debit_request(
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
    _check_amount(amount)
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


def wallet_debits_many(
    *, debits: Sequence[WalletDebit], postings: Sequence[Posting] = (), actor=None
) -> list[JournalTransaction]:
    """Debit many wallets at once (a usage batch: one debit per prepaid customer) and post ``postings``
    (on company accounts only) with them; return the debits' transactions, then the postings'.

    Each debit is exactly what :func:`wallet_debit` would write — same burn-down, lines, lot uses,
    idempotency key and fingerprint (a replay returns the first transaction), same suspension and
    low-balance notices — but wallets are locked once (in id order, before any ledger account), balances
    and open lots are read with a query each for all of them, and the journal is written in bulk
    (``ledger.services._post_many``), ``postings`` included: every ledger account is locked once, in id
    order, after the wallets (two rounds of account locks could deadlock with another batch). One debit
    per wallet. A debit that would cross its floor (without ``allow_below_floor``) raises
    ``WalletFloorError`` and nothing at all is written.
    """
    for posting in postings:
        if posting.request is not None or any(ln.account.kind in WALLET_KINDS for ln in posting.lines):
            raise WalletError(
                "wallet_debits_many: other postings must be plain postings on company accounts."
            )
    prepared = []
    for d in debits:
        extra_lines, request = _debit_request(
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
        balances = wallet_balances(wallets=fresh_wallets, now=now)
        lots: dict[int, list[WalletLot]] = {w.pk: [] for w in fresh_wallets}
        for lot in _lots_open(now).filter(wallet__in=fresh_wallets).select_related("account"):
            lots[lot.wallet_id].append(lot)
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
                _floor_check(wallet=wallet, available=available, amount=d.amount)
            takes = _burn_down(lots=lots[wallet.pk], amount=d.amount, now=now)
            lines = _debit_lines(
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
                )
            )
            plans.append((wallet, takes, available - d.amount))
        posted = _post_many(postings=debit_postings + list(postings), actor=actor, wallet_service=True)
        debited, others = posted[: len(debit_postings)], posted[len(debit_postings) :]
        open_suspensions = {
            s.wallet_id: s
            for s in BalanceSuspension.objects.filter(wallet__in=fresh_wallets, ended_at__isnull=True)
        }
        made = [(txn, plan) for (txn, created), plan in zip(debited, plans, strict=True) if created]
        _lot_uses_record([(txn, takes) for txn, (_wallet, takes, _available) in made])
        for _txn, (wallet, _takes, available) in made:
            _status_apply(wallet=wallet, available=available, open_suspension=open_suspensions.get(wallet.pk))
        by_key = existing | {txn.idempotency_key: txn for txn, _created in debited}
    return [by_key[key] for key in keys] + [txn for txn, _created in others]


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


def wallet_adjust(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    bucket: str,
    reason: str,
    actor,
    idempotency_key: str,
    expires_at: datetime | None = None,
) -> WalletAdjustment:
    """Adjust a wallet by hand: ``amount`` > 0 adds credit to ``bucket``, < 0 removes it from ``bucket``.

    Only admin and finance staff may; the reason is required. The counter-entry goes to promotional
    credit (granted bucket) or manual adjustments (paid, pack), where finance can reclassify it by a
    later journal. The audit row is written in the same database transaction as the posting.
    """
    reason = (reason or "").strip()
    if not reason:
        raise WalletError(_("A reason is required for a manual adjustment."))
    if actor is None or not actor.is_operator_staff or actor.staff_role not in ADJUSTING_ROLES:
        raise WalletError(_("Only admin or finance staff may adjust a wallet."))
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
        raise WalletError(_("The adjustment must be a non-zero Decimal amount."))
    if bucket not in Bucket.values:
        raise WalletError(_("Unknown wallet bucket %(bucket)s.") % {"bucket": repr(bucket)})
    counter_kind = (
        AccountKind.PROMOTIONAL_CREDIT if bucket == Bucket.GRANTED else AccountKind.MANUAL_ADJUSTMENT
    )
    counter = account_get(kind=counter_kind, currency=currency)
    memo = f"Manual adjustment: {reason}"[:500]
    with transaction.atomic():
        if amount > 0:
            txn = wallet_credit(
                customer=customer,
                currency=currency,
                amount=amount,
                bucket=bucket,
                idempotency_key=idempotency_key,
                source_account=counter,
                kind="wallet.adjustment",
                memo=memo,
                source=f"staff:{actor.pk}",
                expires_at=expires_at,
                actor=actor,
            )
        else:
            request = {
                "op": "wallet_adjust_debit",
                "customer": customer.pk,
                "currency": currency,
                "amount": amount_canonical(amount),
                "bucket": bucket,
                "reason": reason,
            }
            existing = transaction_find(
                idempotency_key=idempotency_key, request_hash=request_fingerprint(request)
            )
            if existing is not None:
                return existing.adjustment
            wallet = _wallet_lock(customer=customer, currency=currency)
            txn, _created = _debit(
                wallet=wallet,
                amount=-amount,
                idempotency_key=idempotency_key,
                target_account=counter,
                kind="wallet.adjustment",
                memo=memo,
                source=f"staff:{actor.pk}",
                actor=actor,
                request=request,
                allow_below_floor=False,
                buckets=frozenset({bucket}),
            )
        adjustment, _adjustment_created = WalletAdjustment.objects.get_or_create(
            transaction=txn,
            defaults={
                "wallet": Wallet.objects.get(customer=customer, currency=currency),
                "actor": actor,
                "bucket": bucket,
                "amount": amount,
                "reason": reason,
            },
        )
    return adjustment


def wallet_settings_update(
    *,
    wallet: Wallet,
    floor: Decimal,
    low_balance_threshold: Decimal | None,
    alert_email: str = "",
    webhook_url: str = "",
    webhook_secret: str | None = None,
) -> Wallet:
    """Change a wallet's floor and alerting; re-evaluates suspension against the new floor."""
    if floor > 0:
        raise WalletError(_("The floor must be zero or negative."))
    with transaction.atomic():
        locked = Wallet.objects.select_for_update().select_related("customer").get(pk=wallet.pk)
        locked.floor = floor
        locked.low_balance_threshold = low_balance_threshold
        locked.alert_email = alert_email
        locked.webhook_url = webhook_url
        fields = ["floor", "low_balance_threshold", "alert_email", "webhook_url"]
        if webhook_secret is not None:
            locked.webhook_secret = webhook_secret
            fields.append("webhook_secret")
        locked.save(update_fields=fields)
        _status_refresh(locked)
    return locked


def wallet_lot_expire(*, lot_id: int, now: datetime | None = None) -> JournalTransaction | None:
    """Move what is left of an expired lot to breakage income; None when nothing is left or not due."""
    now = now or timezone.now()
    with transaction.atomic():
        lot = WalletLot.objects.select_related("wallet__customer", "account").get(pk=lot_id)
        wallet = Wallet.objects.select_for_update().select_related("customer").get(pk=lot.wallet_id)
        lot = WalletLot.objects.select_related("account").get(pk=lot_id)
        if lot.remaining <= 0 or lot.expires_at is None or lot.expires_at > now:
            return None
        breakage = account_get(kind=AccountKind.BREAKAGE, currency=wallet.currency)
        request = {"op": "wallet_lot_expire", "lot": lot.pk, "amount": amount_canonical(lot.remaining)}
        txn, created = _post(
            idempotency_key=f"wallet.lot.expire:{lot.pk}",
            kind="wallet.breakage",
            lines=[
                Line(account=lot.account, amount=lot.remaining, currency=wallet.currency),
                Line(account=breakage, amount=-lot.remaining, currency=wallet.currency),
            ],
            memo=f"Expired {lot.get_bucket_display().lower()} credited by #{lot.credited_by_id}",
            source=f"wallet_lot:{lot.pk}",
            effective_date=timezone.localdate(lot.expires_at),
            actor=None,
            request=request,
            wallet_service=True,
        )
        if created:
            WalletLotUse.objects.create(lot=lot, transaction=txn, amount=lot.remaining)
            WalletLot.objects.filter(pk=lot.pk).update(remaining=0, closed_at=now)
            _status_refresh(wallet)
    return txn


def wallet_lots_expire_due(*, now: datetime | None = None) -> int:
    """Expire every lot past its expiry with credit left; return how many were moved to breakage."""
    now = now or timezone.now()
    due = WalletLot.objects.filter(expires_at__lte=now, remaining__gt=0).values_list("pk", flat=True)
    return sum(1 for lot_id in list(due) if wallet_lot_expire(lot_id=lot_id, now=now) is not None)


def wallet_reversal_prepare(
    *, original: JournalTransaction, entries: list[JournalEntry]
) -> Callable[[JournalTransaction], None]:
    """Lock the wallets ``original`` touched and check it may be reversed; return the step to run after.

    Called by ``billing.ledger.services.transaction_reverse`` only. A grant or pack credit can be reversed
    only while none of it has been used or expired (otherwise post an adjustment); a paid credit can always
    be reversed (a refund or chargeback), even below the floor; a debit gives back what it took from each
    lot.
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
            _status_refresh(wallet)

    return finish


def _status_refresh(wallet: Wallet) -> None:
    """Open or close the balance suspension and low-balance alert to match the wallet's balance now.

    Runs inside the caller's transaction with the wallet locked; notifications go out after commit.
    """
    _status_apply(
        wallet=wallet,
        available=wallet_balance(wallet=wallet).available,
        open_suspension=BalanceSuspension.objects.filter(wallet=wallet, ended_at__isnull=True).first(),
    )


def _status_apply(*, wallet: Wallet, available: Decimal, open_suspension: BalanceSuspension | None) -> None:
    """``_status_refresh`` with the wallet's available balance and open suspension already read."""
    events: list[str] = []
    if available <= wallet.floor and open_suspension is None:
        BalanceSuspension.objects.create(wallet=wallet, customer=wallet.customer, balance_at_start=available)
        events.append("wallet.suspended")
    elif available > wallet.floor and open_suspension is not None:
        open_suspension.ended_at = timezone.now()
        open_suspension.save(update_fields=["ended_at"])
        events.append("wallet.restored")
    threshold = wallet.low_balance_threshold
    if threshold is not None and available <= threshold and wallet.low_balance_alerted_at is None:
        wallet.low_balance_alerted_at = timezone.now()
        wallet.save(update_fields=["low_balance_alerted_at"])
        events.insert(0, "wallet.low_balance")
    elif (threshold is None or available > threshold) and wallet.low_balance_alerted_at is not None:
        wallet.low_balance_alerted_at = None
        wallet.save(update_fields=["low_balance_alerted_at"])
    for event in events:
        _notify_on_commit(wallet=wallet, event=event, available=available)


def _notify_on_commit(*, wallet: Wallet, event: str, available: Decimal) -> None:
    from billing.wallets.tasks import notify_wallet_email_task, notify_wallet_webhook_task

    payload = {
        "id": str(uuid.uuid4()),
        "type": event,
        "created": int(timezone.now().timestamp()),
        "customer": wallet.customer.code,
        "currency": wallet.currency,
        "available": str(available),
        "floor": str(wallet.floor),
        "threshold": str(wallet.low_balance_threshold) if wallet.low_balance_threshold is not None else None,
    }
    wallet_id = wallet.pk
    if event != "wallet.restored":
        transaction.on_commit(lambda: notify_wallet_email_task.delay(wallet_id, payload))
    transaction.on_commit(lambda: notify_wallet_webhook_task.delay(wallet_id, payload))
