"""Book expected credit loss: per currency, a run with the matrix used and only the change in the allowance.

An increase is charged (Dr bad-debt expense = impairment / Cr allowance for doubtful debts), a decrease
released (the reverse), dated the measurement date; no change is a run without a journal. Each run keeps
its buckets and the matrix beside the journal (``EclRun``), so any allowance on the books can be traced to
the rates and history that asked for it.

Idempotency. A run's key is made of the date, the currency, the book and a fingerprint of every figure it
stands on — the buckets (gross, rate, ECL), the allowance required, the allowance held and the last
allowance entry that held it — so one key can only ever mean one set of figures. Running again with the
same figures finds its key and posts nothing; once a run has brought the allowance to what it asks for,
running again (the monthly job retried, the button pressed twice) finds the allowance already equal to
the figures of the latest run for the date and answers that run. New figures for the same date (a payment
recorded late, other rates) post only the new difference, dated the same day.

Runs go forward in time: a date before the latest run of the currency and book is refused, because the
allowance held at a later run would no longer be what it read.
"""

from dataclasses import replace
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.exposure.ecl import (
    ZERO,
    CurrencyEcl,
    EclInputError,
    allowance_held,
    ecl_measure,
    rate_text,
)
from billing.exposure.ecl_history import EclError
from billing.exposure.models import EclRun
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, LedgerAccount
from billing.ledger.services import credit, debit, request_fingerprint, transaction_post
from common.stored_text import day, money, stored

OPERATOR = "operator"


def book_label(book_id: int | None) -> str:
    return OPERATOR if book_id is None else f"book-{book_id}"


def runs_of_book(book_id: int | None = None):
    """Every run of one book (None: the operator's), newest first; the book is part of each run's key."""
    return EclRun.objects.filter(idempotency_key__startswith=f"ecl:{book_label(book_id)}:")


def _run_prefix(book_id: int | None, currency: str) -> str:
    return f"ecl:{book_label(book_id)}:{currency}:"


def _figures(measured: CurrencyEcl, rates: list[str]) -> dict:
    return {
        "buckets": measured.buckets_json(),
        "rates": rates,
        "total": str(measured.total),
    }


def run_key(as_of: date, book_id: int | None, measured: CurrencyEcl, rates: list[str]) -> str:
    """The idempotency key of a run: date, currency, book and the fingerprint of all its figures."""
    fingerprint = request_fingerprint(
        {
            **_figures(measured, rates),
            "prior_allowance": str(measured.prior_allowance),
            "allowance_marker": measured.allowance_marker,
        }
    )
    return f"{_run_prefix(book_id, measured.currency)}{as_of.isoformat()}:{fingerprint[:40]}"


def _book(book_id: int | None) -> Customer | None:
    if book_id is None:
        return None
    book = Customer.objects.filter(pk=book_id).first()
    if book is None or not book.is_reseller:
        raise EclInputError("book", _("Customer %(id)s keeps no book of its own.") % {"id": book_id})
    return book


def _later_run(as_of: date, book_id: int | None, currency: str) -> EclRun | None:
    prefix = _run_prefix(book_id, currency)
    return (
        EclRun.objects.filter(idempotency_key__startswith=prefix, as_of__gt=as_of).order_by("-as_of").first()
    )


def _satisfied_by(as_of: date, book_id: int | None, measured: CurrencyEcl, rates: list[str]) -> EclRun | None:
    """The latest run of the date when it asked for exactly these figures and the allowance is now what it
    asked for: nothing is left to post."""
    latest = (
        EclRun.objects.filter(
            idempotency_key__startswith=_run_prefix(book_id, measured.currency), as_of=as_of
        )
        .order_by("-id")
        .first()
    )
    if latest is None or measured.prior_allowance != measured.total:
        return None
    same = (
        latest.buckets == measured.buckets_json()
        and latest.matrix.get("rates") == rates
        and latest.total == measured.total
    )
    return latest if same else None


def _journal(as_of, measured: CurrencyEcl, book, key: str, actor):
    change, currency = measured.change, measured.currency
    expense = account_get(kind=AccountKind.BAD_DEBT_EXPENSE, currency=currency, book=book)
    allowance = account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency=currency, book=book)
    if change > 0:
        kind, lines = "ecl.charge", [debit(expense, change, currency), credit(allowance, change, currency)]
        memo = f"Expected credit loss as of {as_of}: allowance raised to {measured.total} {currency}"
        memo_key = "exposure.memo.ecl_raised"
    else:
        kind, lines = "ecl.release", [debit(allowance, -change, currency), credit(expense, -change, currency)]
        memo = f"Expected credit loss as of {as_of}: allowance released to {measured.total} {currency}"
        memo_key = "exposure.memo.ecl_released"
    return transaction_post(
        idempotency_key=key,
        kind=kind,
        lines=lines,
        memo=memo,
        memo_message=stored(
            memo_key, day=day(as_of), total=money(measured.total, currency), currency=currency
        ),
        source=f"ecl:{as_of.isoformat()}",
        effective_date=as_of,
        actor=actor,
    )


def _lock_allowance(currency: str, book) -> None:
    """Hold the allowance account of the currency and book so two runs never read the same balance."""
    account = account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency=currency, book=book)
    LedgerAccount.objects.select_for_update().filter(pk=account.pk).first()


def ecl_post(as_of: date, *, origin: str, actor=None, rates=None, book_id: int | None = None) -> list[EclRun]:
    """Measure ECL at ``as_of`` and book the change in the allowance, one run per currency (see module).

    Returns the runs made or found, in currency order. Raises ``EclInputError`` (bad rates, a future date,
    a book that is not one), ``EclError`` (a date before a run already made; derived rates without
    history) and posts nothing then.
    """
    if origin not in EclRun.Origin.values:
        raise ValueError(f"Unknown origin {origin!r}.")
    book = _book(book_id)
    with transaction.atomic(durable=True):
        measure = ecl_measure(as_of, rates=rates, book_id=book_id)
        for currency in measure.currencies:
            later = _later_run(as_of, book_id, currency)
            if later is not None:
                raise EclError(
                    _(
                        "Expected credit loss in %(currency)s was already run as of %(later)s; runs go "
                        "forward in time, so none can be posted as of %(date)s."
                    )
                    % {"currency": currency, "later": later.as_of, "date": as_of}
                )
            _lock_allowance(currency, book)
        # Read again under the locks: the allowance held is the latest committed one, so two runs at once
        # never both post the same change.
        held = allowance_held(as_of, book_id=book_id)
        rates_listed = [rate_text(rate) for rate in measure.rates]
        runs = []
        for currency, measured in measure.currencies.items():
            prior, marker = held.get(currency, (ZERO, 0))
            measured = replace(measured, prior_allowance=prior, allowance_marker=marker)
            if measured.gross_total == ZERO and measured.total == ZERO and measured.prior_allowance == ZERO:
                continue
            key = run_key(as_of, book_id, measured, rates_listed)
            run = EclRun.objects.filter(idempotency_key=key).first() or _satisfied_by(
                as_of, book_id, measured, rates_listed
            )
            if run is None:
                journal = None if measured.change == 0 else _journal(as_of, measured, book, key, actor)
                run = EclRun.objects.create(
                    as_of=as_of,
                    currency=currency,
                    origin=origin,
                    buckets=measured.buckets_json(),
                    matrix=measure.matrix,
                    gross=measured.gross_total,
                    total=measured.total,
                    prior_allowance=measured.prior_allowance,
                    change=measured.change,
                    journal_transaction=journal,
                    idempotency_key=key,
                    created_by=actor,
                )
            runs.append(run)
    return runs
