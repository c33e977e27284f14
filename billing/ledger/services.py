"""Writes to the journal. This module is the ONLY writer of transactions, entries and cached balances.

Be extremely careful changing it: every later feature (usage, invoices, payments, write-offs) posts here,
and history cannot be rewritten — a mistake that reaches the database can only be corrected by reversal.
"""

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.exceptions import IdempotencyConflictError, LedgerError, UnbalancedTransactionError
from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount
from billing.money import LEDGER_DIGITS, LEDGER_PLACES, LEDGER_QUANTUM

# Amounts must fit LEDGER_FIELD: at most 16 digits before the point.
MAX_ABS_AMOUNT = Decimal(10) ** (LEDGER_DIGITS - LEDGER_PLACES)
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Line:
    """One leg to post: ``amount`` is positive for a debit, negative for a credit, in ``currency``."""

    account: LedgerAccount
    amount: Decimal
    currency: str


def debit(account: LedgerAccount, amount: Decimal, currency: str) -> Line:
    """Return a debit line (increases assets and expenses, decreases liabilities and income)."""
    return Line(account=account, amount=amount, currency=currency)


def credit(account: LedgerAccount, amount: Decimal, currency: str) -> Line:
    """Return a credit line (increases liabilities and income, decreases assets)."""
    return Line(account=account, amount=-amount, currency=currency)


def amount_canonical(amount: Decimal) -> str:
    """Return ``amount`` as the fixed-precision string used in request fingerprints."""
    return str(amount.quantize(LEDGER_QUANTUM))


def request_fingerprint(payload: dict) -> str:
    """Return the SHA-256 of ``payload`` in canonical JSON; equal requests give equal fingerprints."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def transaction_find(*, idempotency_key: str, request_hash: str) -> JournalTransaction | None:
    """Return the transaction already posted under ``idempotency_key``, or None.

    Raises ``IdempotencyConflictError`` when the key was used for a different request.
    """
    existing = JournalTransaction.objects.filter(idempotency_key=idempotency_key).first()
    return replay_check(existing=existing, request_hash=request_hash)


def replay_check(*, existing: JournalTransaction | None, request_hash: str) -> JournalTransaction | None:
    """Return ``existing`` (the transaction already posted under a key, or None) when it was posted for the
    same request; raise ``IdempotencyConflictError`` when its key was used for a different one."""
    if existing is not None and existing.request_hash != request_hash:
        raise IdempotencyConflictError(
            f"Idempotency key {existing.idempotency_key!r} was already used by transaction #{existing.pk} "
            "for a different request; nothing was posted.",
            existing=existing,
        )
    return existing


def _validate(*, idempotency_key: str, kind: str, lines: Sequence[Line], wallet_service: bool) -> None:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 200:
        raise LedgerError("An idempotency key (1–200 characters) is required.")
    if not isinstance(kind, str) or len(kind) > 40 or not _KIND.match(kind):
        raise LedgerError(
            f"Transaction kind must be a dotted lower-case name of ≤40 characters, not {kind!r}."
        )
    if len(lines) < 2:
        raise LedgerError("A transaction needs at least two entries.")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        amount, account = line.amount, line.account
        if not isinstance(amount, Decimal) or isinstance(amount, bool):
            raise LedgerError(f"Amounts must be Decimal, not {type(amount).__name__}.")
        if not amount.is_finite() or amount == 0:
            raise LedgerError(f"Entry amounts must be finite and non-zero, not {amount}.")
        if amount.quantize(LEDGER_QUANTUM) != amount:
            raise LedgerError(f"{amount} has more than {LEDGER_PLACES} decimal places.")
        if abs(amount) >= MAX_ABS_AMOUNT:
            raise LedgerError(f"{amount} is too large to post.")
        if not isinstance(account, LedgerAccount) or account.pk is None:
            raise LedgerError("Every entry needs a saved ledger account (use billing.ledger.accounts).")
        if line.currency != account.currency:
            raise LedgerError(f"{account.code} is kept in {account.currency}, not {line.currency}.")
        if account.kind in WALLET_KINDS and not wallet_service:
            # Wallet accounts carry lots, floors and suspensions; only billing.wallets keeps those in step.
            raise LedgerError(f"Post to {account.code} through billing.wallets, not directly.")
        totals[line.currency] += amount
    books = {line.account.book_id for line in lines}
    if len(books) > 1:
        # Each book balances on its own: a sale that crosses a hop is one transaction in each book.
        codes = ", ".join(sorted(line.account.code for line in lines))
        raise LedgerError(f"Entries of one transaction must all be in one book; these are not: {codes}.")
    unbalanced = {ccy: total for ccy, total in totals.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{ccy} {total:+}" for ccy, total in sorted(unbalanced.items()))
        raise UnbalancedTransactionError(f"Entries do not sum to zero per currency: {detail}.")


def _request_of(*, kind: str, memo: str, source: str, effective_date: date | None, lines) -> dict:
    """The request a posting's idempotency fingerprint covers."""
    return {
        "kind": kind,
        "memo": memo,
        "source": source,
        "effective_date": effective_date.isoformat() if effective_date else None,
        "lines": [(ln.account.code, amount_canonical(ln.amount), ln.currency) for ln in lines],
    }


def _entries(txn: JournalTransaction, lines: Sequence[Line], running: dict) -> list[JournalEntry]:
    """Build ``txn``'s entries, advancing ``running`` (account id → balance after each entry)."""
    entries = []
    for ln in lines:
        running[ln.account.pk] += ln.amount
        entries.append(
            JournalEntry(
                transaction=txn,
                account_id=ln.account.pk,
                amount=ln.amount,
                currency=ln.currency,
                balance_after=running[ln.account.pk],
            )
        )
    return entries


@dataclass(frozen=True)
class Posting:
    """One transaction for :func:`transactions_post_many`: the same arguments as :func:`transaction_post`."""

    idempotency_key: str
    kind: str
    lines: Sequence[Line]
    memo: str = ""
    source: str = ""
    effective_date: date | None = None
    # The idempotency fingerprint's body when the caller's request is not the lines (wallet debits).
    request: dict | None = None
    # The memo as a message key and its parameters (``common.stored_text.stored``), shown in the reader's
    # language. Not in the fingerprint: it says again, translatably, what ``memo`` (which is) says.
    memo_message: dict | None = None


def _post(
    posting: Posting,
    *,
    actor,
    reverses: JournalTransaction | None = None,
    wallet_service: bool = False,
) -> tuple[JournalTransaction, bool]:
    """Post and return ``(transaction, created)``; ``created`` is False when the key was replayed."""
    idempotency_key = posting.idempotency_key
    lines = list(posting.lines)
    _validate(idempotency_key=idempotency_key, kind=posting.kind, lines=lines, wallet_service=wallet_service)
    request = posting.request
    if request is None:
        request = _request_of(
            kind=posting.kind,
            memo=posting.memo,
            source=posting.source,
            effective_date=posting.effective_date,
            lines=lines,
        )
    request_hash = request_fingerprint(request)
    with transaction.atomic():
        if existing := transaction_find(idempotency_key=idempotency_key, request_hash=request_hash):
            return existing, False
        # Lock every touched account in one order (by id) so concurrent posters queue instead of
        # deadlocking, and so the balances read below are the latest committed ones.
        account_ids = sorted({ln.account.pk for ln in lines})
        locked = {
            a.pk: a
            for a in LedgerAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
        }
        # A concurrent duplicate may have committed while we waited for the locks.
        if existing := transaction_find(idempotency_key=idempotency_key, request_hash=request_hash):
            return existing, False
        try:
            with transaction.atomic():
                txn = JournalTransaction.objects.create(
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    kind=posting.kind,
                    effective_date=posting.effective_date or timezone.localdate(),
                    memo=posting.memo[:500],
                    memo_message=posting.memo_message,
                    source=posting.source[:200],
                    reverses=reverses,
                    actor=actor,
                    book_id=lines[0].account.book_id,
                )
        except IntegrityError:
            if existing := transaction_find(idempotency_key=idempotency_key, request_hash=request_hash):
                return existing, False
            raise
        running = {pk: account.balance for pk, account in locked.items()}
        JournalEntry.objects.bulk_create(_entries(txn, lines, running))
        for pk, account in locked.items():
            delta = running[pk] - account.balance
            # F() as well as the lock: the update stays correct even if a caller skipped the lock.
            LedgerAccount.objects.filter(pk=pk).update(balance=F("balance") + delta)
            account.balance = running[pk]
        for ln in lines:
            ln.account.balance = running[ln.account.pk]
    return txn, True


def transaction_post(
    *,
    idempotency_key: str,
    kind: str,
    lines: Sequence[Line],
    memo: str = "",
    source: str = "",
    effective_date: date | None = None,
    actor=None,
    memo_message: dict | None = None,
) -> JournalTransaction:
    """Post one balanced transaction and return it; replaying the same request returns the first result.

    ``lines`` are :class:`Line` (use :func:`debit` / :func:`credit`); they must sum to zero per currency
    and each line's currency must be its account's. The request fingerprint covers kind, memo, source,
    an explicit effective date and the lines; the same key with a different fingerprint raises
    ``IdempotencyConflictError``. Every refusal raises a ``LedgerError`` before anything is written.
    ``memo_message`` (``common.stored_text.stored``) is the memo for the reader's language; it is stored
    but not fingerprinted (the English ``memo`` is).
    """
    posting = Posting(
        idempotency_key=idempotency_key,
        kind=kind,
        lines=lines,
        memo=memo,
        source=source,
        effective_date=effective_date,
        memo_message=memo_message,
    )
    txn, _created = _post(posting, actor=actor)
    return txn


# What reversing a wallet transaction must also do (``billing.wallets`` supplies it): given the original
# transaction and its entries, check and lock, and return the step to run once the reversal is posted.
WalletReversalEffect = Callable[
    [JournalTransaction, list[JournalEntry]], Callable[[JournalTransaction], None]
]


def transaction_reverse(
    *,
    original: JournalTransaction,
    idempotency_key: str,
    memo: str,
    actor=None,
    effective_date: date | None = None,
    wallet_effect: WalletReversalEffect | None = None,
    memo_message: dict | None = None,
) -> JournalTransaction:
    """Post the mirror image of ``original`` (every entry negated), linked by ``reverses``.

    A transaction is reversed at most once and a reversal is not itself reversible (post the original
    again instead). When ``original`` touched a wallet, ``wallet_effect`` keeps its lots, floor and
    suspension in step in the same database transaction: it is called with the original (locked, not yet
    reversed) and its entries before anything is posted, and the step it returns runs after. Without it
    such a reversal is refused — reverse wallet transactions with
    ``billing.wallets.reversals.wallet_transaction_reverse``, which passes it.
    """
    request = {"reverses": original.pk}
    request_hash = request_fingerprint(request)
    with transaction.atomic():
        if existing := transaction_find(idempotency_key=idempotency_key, request_hash=request_hash):
            return existing
        original = JournalTransaction.objects.select_for_update().get(pk=original.pk)
        if original.reverses_id is not None:
            raise LedgerError(f"Transaction #{original.pk} is itself a reversal; post the original again.")
        prior = JournalTransaction.objects.filter(reverses=original).first()
        if prior is not None:
            raise LedgerError(f"Transaction #{original.pk} was already reversed by #{prior.pk}.")
        entries = list(original.entries.select_related("account").order_by("id"))
        touches_wallet = any(e.account.kind in WALLET_KINDS for e in entries)
        finish: Callable[[JournalTransaction], None] | None = None
        if touches_wallet:
            if wallet_effect is None:
                raise LedgerError(
                    f"Transaction #{original.pk} touched a wallet; reverse it through billing.wallets."
                )
            finish = wallet_effect(original, entries)
        posting = Posting(
            idempotency_key=idempotency_key,
            kind="reversal",
            lines=[Line(account=e.account, amount=-e.amount, currency=e.currency) for e in entries],
            memo=memo,
            source=f"reversal:{original.pk}",
            effective_date=effective_date,
            request=request,
            memo_message=memo_message,
        )
        reversal, created = _post(posting, actor=actor, reverses=original, wallet_service=touches_wallet)
        if created and finish is not None:
            finish(reversal)
    return reversal


def transactions_post_many(*, postings: Sequence[Posting], actor=None) -> list[JournalTransaction]:
    """Post many independent transactions at once (period close: one per invoice); return them in order.

    Each posting is exactly what :func:`transaction_post` would write — its own transaction, entries,
    running balances and idempotency key (a replayed key returns the first transaction; a key used for a
    different body raises ``IdempotencyConflictError``) — but every touched account is locked once, in id
    order, and rows are written with a few bulk statements instead of a dozen queries per transaction.
    Wallet accounts are refused (they go through ``billing.wallets``). No ``post_save`` is sent for the
    bulk-created transactions: rules that follow postings (the credit limit) are called by the services
    that post.
    """
    return [txn for txn, _created in _post_many(postings=postings, actor=actor)]


def _post_many(
    *, postings: Sequence[Posting], actor=None, wallet_service: bool = False
) -> list[tuple[JournalTransaction, bool]]:
    """:func:`transactions_post_many`, saying of each transaction whether it was created (not replayed)."""
    prepared = []
    for p in postings:
        lines = list(p.lines)
        _validate(idempotency_key=p.idempotency_key, kind=p.kind, lines=lines, wallet_service=wallet_service)
        if p.request is not None and not wallet_service:
            raise LedgerError("A posting's own fingerprint body is for wallet debits only.")
        request = p.request or _request_of(
            kind=p.kind, memo=p.memo, source=p.source, effective_date=p.effective_date, lines=lines
        )
        prepared.append((p, lines, request_fingerprint(request)))
    if len({p.idempotency_key for p, _l, _h in prepared}) != len(prepared):
        raise LedgerError("transactions_post_many: idempotency keys must be distinct.")
    with transaction.atomic():
        account_ids = sorted({ln.account.pk for _p, lines, _h in prepared for ln in lines})
        locked = {
            a.pk: a
            for a in LedgerAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
        }
        existing = {
            t.idempotency_key: t
            for t in JournalTransaction.objects.filter(
                idempotency_key__in=[p.idempotency_key for p, _l, _h in prepared]
            )
        }
        for p, _lines, request_hash in prepared:
            replay_check(existing=existing.get(p.idempotency_key), request_hash=request_hash)
        fresh = [(p, lines, h) for p, lines, h in prepared if p.idempotency_key not in existing]
        today = timezone.localdate()
        created = JournalTransaction.objects.bulk_create(
            [
                JournalTransaction(
                    idempotency_key=p.idempotency_key,
                    request_hash=h,
                    kind=p.kind,
                    effective_date=p.effective_date or today,
                    memo=p.memo[:500],
                    memo_message=p.memo_message,
                    source=p.source[:200],
                    actor=actor,
                    book_id=lines[0].account.book_id,
                )
                for p, lines, h in fresh
            ]
        )
        running = {pk: account.balance for pk, account in locked.items()}
        entries = []
        for txn, (_p, lines, _h) in zip(created, fresh, strict=True):
            entries += _entries(txn, lines, running)
        JournalEntry.objects.bulk_create(entries, batch_size=5000)
        changed = []
        for pk, account in locked.items():
            if running[pk] != account.balance:
                account.balance = running[pk]
                changed.append(account)
        # Absolute balances are safe here: every changed account is locked until this transaction commits.
        if connection.vendor == "postgresql" and changed:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {LedgerAccount._meta.db_table} AS a SET balance = v.balance"
                    " FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, balance) WHERE a.id = v.id",
                    [[a.pk for a in changed], [a.balance for a in changed]],
                )
        else:
            LedgerAccount.objects.bulk_update(changed, ["balance"], batch_size=1000)
        by_key = {t.idempotency_key: t for t in created} | existing
    return [(by_key[p.idempotency_key], p.idempotency_key not in existing) for p, _l, _h in prepared]
