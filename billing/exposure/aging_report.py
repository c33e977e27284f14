"""The AR aging report: open receivables by age at an as-of date, per customer, per sub-distributor and
in total, in each currency and in the base currency.

Ages follow ``billing.receivables.aging`` (the goldens' boundary rule: age 0 is current, 1–30, 31–60,
61–90, over 90 by due date); a past as-of date is read from history there, so the report of a past day is
the one taken on that day, whatever was paid, credited or written off since.

**Books.** The report reads one book: the operator's by default (invoices of customers whose ``seller`` is
None: end customers the operator bills, agency customers, and each resale sub-distributor itself as the
operator's customer). A resale sub-distributor's own customers are billed in *its* book: their invoices
are its receivables, not the operator's (the operator's exposure to that chain is what the sub-distributor
itself owes), so they appear only in the report of that book (``book_id`` = the sub-distributor).

**Per sub-distributor.** Each resale or agency sub-distributor in the book's tree gets its subtree summed
(itself and every customer below it at any depth whose invoices are in this book); a nested one is also
inside its parent's sum. Customers under no such sub-distributor form the "direct" group, so the direct
group and the top-level sub-distributors add up to the book's total.

**Base currency.** Each currency's amounts × its rate to ``settings.BASE_CURRENCY`` in force at the as-of
date (``billing.fx.rates.BaseRates``), rounded to the base currency's minor unit. A currency with no rate
is listed in ``missing_rates`` and its base figures are None, never counted as 0 or 1: the base totals then
cover only the currencies that have a rate.

**Speed.** The open amounts are summed in SQL per customer, currency and bucket, once per book, as-of day
and *receivables version* (``receivables_version``: the newest of each row that can change an invoice's
open amount or its existence, and nothing else) and cached; a page then sorts, filters and paginates the
cached rows in memory. Usage batches, wallet debits, top-ups and upstream burns post all the time and leave
the report cached: only an invoice issued, a payment allocated or released, a credit note, an approved
write-off or a recovery (or its reversal) makes the next request sum again. Customer names and tree
positions are cached with the sums for ``CACHE_SECONDS`` at most, so a rename shows within that time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection

from accounts.models import Customer
from billing.fx.rates import BaseRates
from billing.invoicing.models import Invoice
from billing.money import quantize_money
from billing.receivables.aging import BUCKET_KEYS, aging_by_customer
from billing.receivables.models import BadDebtRecovery, CreditNote, PaymentAllocation, WriteOff
from common.cache_fallback import cache_read, cache_write

ZERO = Decimal("0")
CACHE_SECONDS = 300
SELLER_MODES = (Customer.ChainMode.RESALE, Customer.ChainMode.AGENCY)
# Sort keys a page or the API may ask for, each a function of a row.
AMOUNT_KEYS = (*BUCKET_KEYS, "total")


@dataclass(frozen=True)
class Party:
    """What the report prints of a customer: it and its place in the tree."""

    pk: int
    code: str
    name: str
    path: str
    parent_code: str | None
    seller_code: str | None
    kind: str
    chain_mode: str


@dataclass
class AgingRow:
    """One customer (or one sub-distributor's subtree, or the direct group) in one currency.

    ``buckets`` are rounded to the currency's minor unit; ``total`` is their sum; ``base_total`` is None
    when the currency has no rate at the as-of date."""

    party: Party | None
    currency: str
    buckets: dict[str, Decimal]
    total: Decimal
    base_total: Decimal | None
    customers: int = 1

    @property
    def cells(self) -> list[Decimal]:
        """The bucket amounts in the buckets' order (what a table row prints)."""
        return [self.buckets[key] for key in BUCKET_KEYS]

    def sort_value(self, key: str):
        if key in AMOUNT_KEYS:
            return self.buckets.get(key, self.total)
        if key == "base_total":
            # A row without a rate sorts as above every converted amount.
            return (self.base_total is None, self.base_total or ZERO)
        party = self.party
        if key == "seller":
            return (party.seller_code or "") if party else ""
        if key == "parent":
            return (party.parent_code or "") if party else ""
        if key == "currency":
            return self.currency
        if key == "name":
            return (party.name.casefold(), party.code) if party else ("", "")
        return party.code if party else ""


@dataclass
class AgingReport:
    as_of: dt.date
    book_id: int | None
    base_currency: str
    rows: list[AgingRow]
    # Per currency: bucket key → amount, plus "total".
    totals: dict[str, dict[str, Decimal]]
    # Bucket key → amount in the base currency over the currencies with a rate, plus "total".
    base_totals: dict[str, Decimal]
    rates: dict[str, Decimal | None]
    # What readers derive from the whole, unfiltered report, kept for the next request (None: filtered).
    derived: dict | None = None

    def kept(self, name: str, build):
        """``build()``, computed once per report version when the report is unfiltered."""
        if self.derived is None:
            return build()
        if name not in self.derived:
            self.derived[name] = build()
        return self.derived[name]

    @property
    def missing_rates(self) -> list[str]:
        return sorted(currency for currency, rate in self.rates.items() if rate is None)

    @property
    def currencies(self) -> list[str]:
        return sorted(self.totals)

    def currency_lines(self) -> list[dict]:
        """Per currency: its bucket amounts in order, total, rate and total in the base currency (None
        without a rate)."""
        lines = []
        for currency, sums in self.totals.items():
            rate = self.rates.get(currency)
            lines.append(
                {
                    "currency": currency,
                    "cells": [sums[key] for key in BUCKET_KEYS],
                    "total": sums["total"],
                    "rate": rate,
                    "base": _base(sums["total"], rate, self.base_currency),
                }
            )
        return lines

    @property
    def base_cells(self) -> list[Decimal]:
        return [self.base_totals[key] for key in BUCKET_KEYS]


# What the open amounts are made of, each with an indexed column that only grows when one of them moves
# (the invoice issued, the approval posted: both one-to-one to a new journal transaction; allocations,
# their releases, credit notes and recoveries, their reversals too, are new rows). A due date, a total or
# an allocation is never edited in place; a void issues a credit note for whatever was still open.
VERSION_COLUMNS = (
    (Invoice, "journal_transaction_id"),
    (PaymentAllocation, "id"),
    (CreditNote, "id"),
    (WriteOff, "journal_transaction_id"),
    (BadDebtRecovery, "id"),
)


def receivables_version() -> tuple[int, ...]:
    """A value that changes whenever any invoice's open amount, at any day, may have: the newest issued
    invoice's posting, allocation row, credit note, write-off approval's posting and recovery row.

    Not the ledger as a whole: usage accruals, wallet moves and cash clearings post continuously and would
    make every request pay the SQL sum. One statement of index-backed maxima (about a millisecond). A row
    committed after a higher id was (concurrent writers) shows within ``CACHE_SECONDS`` at most."""
    quote = connection.ops.quote_name
    maxima = ", ".join(
        f"(SELECT MAX({quote(column)}) FROM {quote(model._meta.db_table)})"
        for model, column in VERSION_COLUMNS
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {maxima}")
        return tuple(value or 0 for value in cursor.fetchone())


def _book_invoices(book_id: int | None):
    if book_id is None:
        return Invoice.objects.filter(customer__seller_id__isnull=True)
    return Invoice.objects.filter(customer__seller_id=book_id)


def _parties(customer_ids) -> dict[int, Party]:
    rows = Customer.objects.filter(pk__in=customer_ids).values_list(
        "pk", "code", "name", "path", "parent__code", "seller__code", "kind", "chain_mode"
    )
    return {row[0]: Party(*row) for row in rows}


def _sub_distributors(book_id: int | None) -> dict[int, Party]:
    """The resale and agency sub-distributors whose subtrees are grouped in this book's report."""
    subs = Customer.objects.filter(kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode__in=SELLER_MODES)
    if book_id is not None:
        owner_path = Customer.objects.values_list("path", flat=True).get(pk=book_id)
        subs = subs.filter(path__startswith=owner_path).exclude(pk=book_id)
    return _parties(subs.values("pk"))


def _raw(as_of: dt.date, book_id: int | None) -> tuple[str, tuple[dict, dict[int, Party]]]:
    """The cache key and the open amounts per (customer id, currency) and bucket, with the customers
    printed: from this process's memo, the shared cache (other workers' sums) or SQL (see above)."""
    key = f"exposure:aging:{book_id or 0}:{as_of.isoformat()}:{'.'.join(map(str, receivables_version()))}"
    memo = _MEMO.get(key)
    if memo is not None and time.monotonic() - memo.built < CACHE_SECONDS:
        return key, ({}, {})
    _MEMO.pop(key, None)
    cached = cache_read(key)  # None too when the cache is down: the report is then summed here
    if cached is not None:
        return key, cached
    amounts = aging_by_customer(as_of, _book_invoices(book_id))
    parties = _parties({customer_id for customer_id, _currency in amounts})
    value = (amounts, parties)
    cache_write(key, value, CACHE_SECONDS)
    return key, value


def _rounded(buckets: dict[str, Decimal], currency: str) -> dict[str, Decimal]:
    return {key: quantize_money(buckets.get(key, ZERO), currency) for key in BUCKET_KEYS}


def _base(amount: Decimal, rate: Decimal | None, base: str) -> Decimal | None:
    return None if rate is None else quantize_money(amount * rate, base)


@dataclass
class _Memo:
    """One book's report at one day and receivables version, built once per process: the rows (base
    figures at ``rates``), their totals, and whatever readers derive from the unfiltered report (orders,
    groups, the API's body) under ``derived``."""

    rows: list[AgingRow]
    totals: dict[str, dict[str, Decimal]]
    rates: dict[str, Decimal | None]
    derived: dict = field(default_factory=dict)
    built: float = field(default_factory=time.monotonic)


# Recent reports in this process, newest last: the version in the key makes a stale entry unreachable.
_MEMO: OrderedDict[str, _Memo] = OrderedDict()
MEMO_SIZE = 8


def _rates_at(currencies, as_of: dt.date, base: str) -> dict[str, Decimal | None]:
    fx = BaseRates(base)
    return {currency: fx.rate(currency, as_of) for currency in sorted(currencies)}


def _memo(as_of: dt.date, book_id: int | None, base: str) -> _Memo:
    key, (amounts, parties) = _raw(as_of, book_id)
    memo = _MEMO.get(key)
    if memo is None:
        rows = []
        for (customer_id, ccy), buckets in amounts.items():
            party = parties.get(customer_id)
            rounded = _rounded(buckets, ccy)
            total = sum(rounded.values(), ZERO)
            if party is not None and total:
                rows.append(AgingRow(party, ccy, rounded, total, None))
        rows.sort(key=lambda row: (row.party.code, row.currency))
        memo = _Memo(rows, _totals(rows), {})
        _MEMO[key] = memo
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    # Rates are read at every request (a rate entered for a past day changes its report) and the base
    # figures redone only when they moved.
    rates = _rates_at(memo.totals, as_of, base)
    if rates != memo.rates or not memo.derived.get("based"):
        for row in memo.rows:
            row.base_total = _base(row.total, rates.get(row.currency), base)
        memo.rates, memo.derived = rates, {"based": True}
    return memo


def aging_report(
    as_of: dt.date,
    *,
    book_id: int | None = None,
    currency: str | None = None,
    search: str = "",
    customer_ids=None,
) -> AgingReport:
    """The report at the end of ``as_of`` for ``book_id`` (None: the operator's), one row per customer and
    currency with anything open, ordered by customer code. ``currency`` keeps one currency; ``search``
    keeps customers whose code or name contains it (case-insensitive); ``customer_ids`` keeps only those
    customers. Totals are those of the rows kept. The rows are shared with later calls: never change them."""
    base = settings.BASE_CURRENCY
    memo = _memo(as_of, book_id, base)
    needle = search.strip().casefold()
    filtered = bool(currency or needle or customer_ids is not None)
    rows, totals = memo.rows, memo.totals
    if filtered:
        allowed = set(customer_ids) if customer_ids is not None else None
        rows = [
            row
            for row in rows
            if (not currency or row.currency == currency)
            and (allowed is None or row.party.pk in allowed)
            and (not needle or needle in row.party.code.casefold() or needle in row.party.name.casefold())
        ]
        totals = _totals(rows)
    rates = {ccy: memo.rates.get(ccy) for ccy in totals}
    return AgingReport(
        as_of=as_of,
        book_id=book_id,
        base_currency=base,
        rows=rows,
        totals=totals,
        base_totals=_base_totals(totals, rates, base),
        rates=rates,
        derived=None if filtered else memo.derived,
    )


def _totals(rows: list[AgingRow]) -> dict[str, dict[str, Decimal]]:
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(AMOUNT_KEYS, ZERO))
    for row in rows:
        sums = totals[row.currency]
        for key in BUCKET_KEYS:
            sums[key] += row.buckets[key]
        sums["total"] += row.total
    return dict(sorted(totals.items()))


def _base_totals(totals, rates, base: str) -> dict[str, Decimal]:
    out = dict.fromkeys(AMOUNT_KEYS, ZERO)
    for ccy, sums in totals.items():
        rate = rates.get(ccy)
        if rate is None:
            continue
        for key in AMOUNT_KEYS:
            out[key] += sums[key] * rate
    return {key: quantize_money(amount, base) for key, amount in out.items()}


def by_sub_distributor(report: AgingReport) -> list[AgingRow]:
    """The report's rows summed per resale or agency sub-distributor's subtree (and the direct group,
    ``party`` None), per currency; nested sub-distributors are inside their parents' sums too."""
    subs = _sub_distributors(report.book_id)
    groups: dict[tuple[int | None, str], AgingRow] = {}
    for row in report.rows:
        ancestors = [int(part) for part in row.party.path.strip("/").split("/") if part]
        owners = [pk for pk in ancestors if pk in subs] or [None]
        for owner in owners:
            group = groups.get((owner, row.currency))
            if group is None:
                party = subs.get(owner) if owner is not None else None
                group = AgingRow(party, row.currency, dict.fromkeys(BUCKET_KEYS, ZERO), ZERO, None, 0)
                groups[(owner, row.currency)] = group
            for key in BUCKET_KEYS:
                group.buckets[key] += row.buckets[key]
            group.total += row.total
            group.customers += 1
    for group in groups.values():
        group.base_total = _base(group.total, report.rates.get(group.currency), report.base_currency)
    return sorted(groups.values(), key=_group_order)


def _group_order(group: AgingRow):
    return (group.party is None, group.party.path if group.party else "", group.currency)


def sorted_rows(rows: list[AgingRow], sort: str) -> list[AgingRow]:
    """``rows`` ordered by ``sort`` (a key of ``SORTS``, ``-`` for descending); amounts ties by code."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    return sorted(rows, key=lambda row: row.sort_value(key), reverse=descending)


SORTS = ("code", "name", "parent", "seller", "currency", *AMOUNT_KEYS, "base_total")
