"""Close a period: which customers close, chunk by chunk, each chunk one transaction (package docstring)."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole
from accounts.permissions import manages_book
from billing.invoicing.close.lines import (
    close_keys_billable,
    other_lines,
    other_lines_add,
    statement_lines,
    usage_lines,
)
from billing.invoicing.close.measure import (
    ALWAYS,
    Interval,
    billed_keys,
    credit_intervals,
    usage_billed,
    usage_cumulative,
    usage_in_period,
    usage_stage,
    usage_stage_drop,
)
from billing.invoicing.close.store import invoices_store, statements_store
from billing.invoicing.close.unbilled import rebill_mark, unbilled_accounts_lock, unbilled_residuals
from billing.invoicing.close.windows import window_shares
from billing.invoicing.models import Invoice, PeriodClose, UsageStatement
from billing.invoicing.numbering import numbers_take
from billing.invoicing.periods import Period, period_parse
from billing.invoicing.pricing import UnitPrices
from billing.terms.models import CREDIT_MODES, BillingTerms, TermsSpan
from catalog.models import AIModel
from common.days import local_midnight

logger = logging.getLogger(__name__)

CHUNK = 500

# ``book=ALL_BOOKS``: a close of every book at once (the default); otherwise a seller's customer (a resale
# sub-distributor) or None (the operator): only the customers sold in that book (``accounts.chain``).
ALL_BOOKS = object()


class CloseError(ValueError):
    """A close that must not run: the period has not ended, or a later period was already closed."""


@dataclass
class CloseResult:
    period_close: PeriodClose
    invoices: list[Invoice] = field(default_factory=list)
    statements: list[UsageStatement] = field(default_factory=list)


def _close_chunk(
    *,
    customer_ids: list[int],
    period: Period,
    issue_date: date,
    models: dict[int, AIModel],
    prices: UnitPrices,
    actor,
    intervals: dict[int, list[Interval]],
    staged: bool = False,
) -> list[Invoice]:
    with transaction.atomic():
        # Lock the chunk's terms rows: a concurrent close of the same customers waits here, then finds
        # their close keys taken below and makes nothing.
        terms = {
            t.customer_id: t
            for t in BillingTerms.objects.select_for_update(of=("self",))
            .filter(customer_id__in=customer_ids)
            .select_related("customer__seller")
            .order_by("customer_id")
        }
        tax_rates = {cid: t.tax_rate for cid, t in terms.items()}
        unbilled = unbilled_accounts_lock(customer_ids)
        cumulative = usage_cumulative(customer_ids, period, staged, intervals)
        billed = usage_billed(customer_ids, period)
        built_of = usage_lines(
            cumulative,
            billed,
            period=period,
            models=models,
            prices=prices,
            tax_rates=tax_rates,
            windows=window_shares(customer_ids, period, intervals),
        )
        rebill_mark(built_of, billed)
        others = other_lines(customer_ids, period)
        already = billed_keys(customer_ids, {d.source_key for ds in others.values() for d in ds})
        other_lines_add(built_of, others, already=already, tax_rates=tax_rates)
        close_keys = close_keys_billable(built_of, period)
        existing = set(
            Invoice.objects.filter(close_key__in=list(close_keys)).values_list("close_key", flat=True)
        )
        todo = sorted((ck for ck in close_keys if ck not in existing), key=lambda ck: close_keys[ck])
        if not todo:
            return []
        issuing = [ck for ck in todo if not terms[close_keys[ck][0]].review_invoices]
        # One locked step per seller takes the chunk's numbers in that seller's series (each book numbers
        # its own invoices); the series rows stay locked until commit.
        by_book: dict[int | None, list[str]] = defaultdict(list)
        for ck in issuing:
            by_book[terms[close_keys[ck][0]].customer.seller_id].append(ck)
        number_of: dict[str, tuple[str, str]] = {}
        for book in sorted(by_book, key=lambda b: b or 0):
            series, numbers = numbers_take("invoice", issue_date, len(by_book[book]), book)
            number_of |= {ck: (series, n) for ck, n in zip(by_book[book], numbers, strict=True)}
        residuals = unbilled_residuals(
            issuing=[close_keys[ck] for ck in issuing],
            accounts=unbilled,
            cumulative=cumulative,
            intervals=intervals,
            period=period,
        )
        return invoices_store(
            todo=todo,
            close_keys=close_keys,
            built_of=built_of,
            terms=terms,
            period=period,
            issue_date=issue_date,
            number_of=number_of,
            actor=actor,
            residuals=residuals,
        )


def _statements_make(
    customer_ids: list[int], period: Period, models: dict[int, AIModel]
) -> list[UsageStatement]:
    """Usage statements for a month: per model the tokens and amount of the usage each customer used on
    prepaid terms (paid from the wallet), from the rollups."""
    rows = usage_in_period(customer_ids, period, credit_intervals(customer_ids))
    return statements_store(statement_lines(rows, models), customer_ids=customer_ids, period=period)


def _in_book(terms, book):
    """``terms`` (a BillingTerms queryset) of the customers sold in ``book`` (every book: all of them)."""
    if book is ALL_BOOKS:
        return terms
    return terms.filter(customer__seller=book)


def statement_customers(period: Period, book=ALL_BOOKS) -> list[int]:
    """The customers a month close gives a usage statement, in id order: those now on prepaid terms, and
    those on prepaid terms during some of the month before switching to credit (of ``book``)."""
    start, end = local_midnight(period.start), local_midnight(period.end + timedelta(days=1))
    was_prepaid = TermsSpan.objects.filter(
        Q(starts_at__isnull=True) | Q(starts_at__lt=end),
        Q(ends_at__isnull=True) | Q(ends_at__gt=start),
        mode=BillingTerms.Mode.PREPAID,
    ).values("customer_id")
    return list(
        _in_book(
            BillingTerms.objects.filter(Q(mode=BillingTerms.Mode.PREPAID) | Q(customer_id__in=was_prepaid)),
            book,
        )
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )


def close_refusal(period: Period, *, issue_date: date | None = None, book=ALL_BOOKS) -> None:
    """Raise ``CloseError`` when ``period`` must not be closed (in ``book``): it has not ended yet (by the
    issue date, today in the operator's time zone by default), or a later period of the same cadence was
    closed already for those customers (billing is cumulative: closing an earlier period afterwards would
    bill against the later invoices)."""
    issue_date = issue_date or timezone.localdate()
    if period.end >= issue_date:
        raise CloseError(
            _(
                "%(period)s ends on %(end)s: a period can only be closed after it has ended"
                " (issue date %(issue)s)."
            )
            % {"period": period.label, "end": period.end, "issue": issue_date}
        )
    done = PeriodClose.objects.filter(state=PeriodClose.State.DONE, period_end__gt=period.end)
    if book is not ALL_BOOKS:
        done = done.filter(Q(all_books=True) | Q(book=book))
    done = done.filter(period__contains="Q") if period.is_quarter else done.exclude(period__contains="Q")
    later = done.order_by("-period_end").values_list("period", flat=True).first()
    if later:
        raise CloseError(
            _("%(later)s is already closed: an earlier period (%(period)s) can no longer be closed.")
            % {"later": later, "period": period.label}
        )


def closing_customers(period: Period, book=ALL_BOOKS) -> list[int]:
    """The customers a close of ``period`` invoices, in id order: those on credit terms of its cadence
    (monthly at a month, quarterly at a quarter), and at every month close each customer now on prepaid
    that was ever on credit: the credit-span usage it has not been invoiced for yet (usage delivered late,
    or the span it just left) gets a final invoice. Taking one with nothing left makes no invoice. Only
    the customers sold in ``book`` unless it is ``ALL_BOOKS``."""
    mode = BillingTerms.Mode.QUARTERLY if period.is_quarter else BillingTerms.Mode.MONTHLY
    closing = Q(mode=mode)
    if not period.is_quarter:
        was_credit = TermsSpan.objects.filter(mode__in=CREDIT_MODES).values("customer_id")
        closing |= Q(mode=BillingTerms.Mode.PREPAID, customer_id__in=was_credit)
    return list(
        _in_book(BillingTerms.objects.filter(closing), book)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )


def close_period(
    period: Period | str,
    *,
    actor=None,
    issue_date: date | None = None,
    chunk_size: int = CHUNK,
    book=ALL_BOOKS,
) -> CloseResult:
    """Close ``period``: invoice its credit customers, give prepaid ones statements; record a PeriodClose.

    ``book``: every book (default), or only the customers sold in one: a resale sub-distributor's, None
    for the operator's. Each invoice is issued in its customer's seller's book and number series either
    way. Safe to re-run: customers already invoiced for the period are skipped, and late usage goes to the
    next close. ``issue_date`` defaults to today in the operator's time zone.
    """
    if isinstance(period, str):
        period = period_parse(period)
    issue_date = issue_date or timezone.localdate()
    close_refusal(period, issue_date=issue_date, book=book)
    record = PeriodClose.objects.create(
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        started_by=actor,
        all_books=book is ALL_BOOKS,
        book=None if book is ALL_BOOKS else book,
    )
    result = CloseResult(period_close=record)
    try:
        credit_ids = closing_customers(period, book)
        intervals = credit_intervals(credit_ids)
        prepaid_ids = [] if period.is_quarter else statement_customers(period, book)
        models = {m.pk: m for m in AIModel.objects.all()}
        prices = UnitPrices(period=period, customer_ids=credit_ids)
        staged = usage_stage(period, [cid for cid in credit_ids if intervals.get(cid, ALWAYS) == ALWAYS])
        try:
            for i in range(0, len(credit_ids), chunk_size):
                result.invoices += _close_chunk(
                    customer_ids=credit_ids[i : i + chunk_size],
                    period=period,
                    issue_date=issue_date,
                    models=models,
                    prices=prices,
                    actor=actor,
                    staged=staged,
                    intervals=intervals,
                )
        finally:
            if staged:
                usage_stage_drop()
        for i in range(0, len(prepaid_ids), chunk_size):
            result.statements += _statements_make(prepaid_ids[i : i + chunk_size], period, models)
    except Exception as exc:
        record.state = PeriodClose.State.FAILED
        record.error = f"{type(exc).__name__}: {exc}"[:5000]
        record.finished_at = timezone.now()
        record.save(update_fields=["state", "error", "finished_at"])
        raise
    record.state = PeriodClose.State.DONE
    record.customers = len({*credit_ids, *prepaid_ids})
    record.invoices_created = len(result.invoices)
    record.statements_created = len(result.statements)
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "customers", "invoices_created", "statements_created", "finished_at"])
    logger.info(
        "Closed %s: %s invoices, %s statements", period.label, len(result.invoices), len(result.statements)
    )
    return result


def book_close_allowed(*, actor, book: Customer | None) -> bool:
    """Whether ``actor`` may run ``book``'s close: operator finance or admin staff for any book, the owner
    or a billing member of a resale sub-distributor for its own."""
    if actor is None or not actor.is_active:
        return False
    if actor.is_operator_staff:
        return actor.staff_role in (StaffRole.FINANCE, StaffRole.ADMIN)
    return manages_book(actor, book.pk if book is not None else None)


def period_close_book(
    *, book: Customer | None, period: Period | str, actor, issue_date: date | None = None
) -> CloseResult:
    """Close ``period`` for one book only: a resale sub-distributor's customers (``book``) or the operator's
    own (None), e.g. from the reseller's portal. ``PermissionDenied`` unless ``book_close_allowed``;
    ``CloseError`` as :func:`close_period` (the period has not ended, or a later one of this book — or of
    every book — was closed)."""
    if book is not None and not book.is_reseller:
        raise CloseError(_("%(book)s keeps no books: only a resale sub-distributor does.") % {"book": book})
    if not book_close_allowed(actor=actor, book=book):
        raise PermissionDenied(_("You may not run this book's period close."))
    return close_period(period, actor=actor, issue_date=issue_date, book=book)
