"""Loss rates per aging bucket from the history of receivables: the loss-rate method of a provision matrix.

A cohort is every invoice (of one book) that fell due within ``history_months`` before the date and whose
fate is known: due at least 91 days before the date, so it has either been settled or sat in the last
bucket. For each bucket the cohort's amount that *reached* it is what was still open on the day an aging
report first shows it there — the due date (current), due + 1 (1–30), due + 31, due + 61 and due + 91
(over 90) — read from the dated allocation and credit-note rows as ``billing.receivables.aging`` reads
them. Write-offs do not settle anything here: an amount written off was never paid, it reached every bucket
it lived through. The current bucket is what was invoiced, less credit notes issued by the due date (a
correction of the sale, never a receivable that could be lost).

The cohort's final loss is what was written off (approved write-off lines with an effective date by the
date) less what was recovered by then. The loss rate of a bucket is the final loss ÷ the amount that
reached it (S. Firer, ``goldens/accounting.md``): 10 lost of 100 sold, 70 / 45 / 35 / 10 still open after
30 / 60 / 90 / over 90 days → 10%, 14.29%, 22.22%, 28.57%, 100%. A forward-looking adjustment then scales
every rate (relative: +10 → × 1.10), capped at 100%, and rounds to whole percent when asked.

Each currency is a cohort of its own; the rates applied are those of all currencies pooled in the base
currency at the date's rates (one matrix for the whole book). Be careful changing what "reached" means:
runs already posted keep the cohort figures they used (``EclRun.matrix``), and a different reading makes
this month's rates incomparable with theirs.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, DateField, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _

from billing.fx.rates import BaseRates, FxRatesMissing
from billing.invoicing.models import Invoice
from billing.money import quantize_money
from billing.receivables.aging import BUCKET_KEYS, POSTED
from billing.receivables.models import BadDebtRecovery, CreditNote, PaymentAllocation, WriteOffLine
from billing.receivables.moments import day_end

ZERO = Decimal("0")
HUNDRED = Decimal("100")
# The matrix stores rates in percent with six places; derived rates are kept at that precision.
RATE_QUANTUM = Decimal("0.000001")
# The day after the due date on which each bucket first holds an amount (the aging boundary rule).
READ_AFTER_DUE = (0, 1, 31, 61, 91)
# An invoice's fate is known once it has been due this long: paid, or it sat in the last bucket.
FATE_KNOWN_DAYS = READ_AFTER_DUE[-1]


class EclError(Exception):
    """A measurement that cannot be made (no history to derive rates from, a date in the future…)."""


def loss_rates(reached: list[Decimal], loss: Decimal) -> list[Decimal]:
    """Loss rate in percent per bucket: ``loss`` ÷ the amount that reached it, at full precision, capped
    at 100%. A bucket nothing reached has no loss to spread: 0% (100% if a loss exists nevertheless)."""
    rates = []
    for amount in reached:
        if amount <= 0:
            rates.append(HUNDRED if loss > 0 else ZERO)
        else:
            rates.append(min(max(loss, ZERO) * HUNDRED / amount, HUNDRED))
    return rates


def adjusted(rates: list[Decimal], forward_pct: Decimal, round_whole: bool) -> list[Decimal]:
    """Apply the forward-looking adjustment: each rate × (1 + ``forward_pct`` / 100), within 0–100%,
    then rounded half up to whole percent (``round_whole``) or to the matrix's six places."""
    factor = 1 + Decimal(forward_pct) / HUNDRED
    quantum = Decimal(1) if round_whole else RATE_QUANTUM
    out = []
    for rate in rates:
        value = min(max(rate * factor, ZERO), HUNDRED)
        out.append(value.quantize(quantum, rounding=ROUND_HALF_UP))
    return out


@dataclass(frozen=True)
class Cohort:
    """One currency's history (or all pooled in the base currency): amounts reached per bucket, loss."""

    currency: str
    invoices: int
    reached: tuple[Decimal, ...]
    loss: Decimal

    @property
    def rates(self) -> list[Decimal]:
        return loss_rates(list(self.reached), self.loss)

    def as_json(self) -> dict:
        return {
            "currency": self.currency,
            "invoices": self.invoices,
            # Shown to the currency's minor unit; the rates are computed from the exact amounts.
            "reached": [str(quantize_money(amount, self.currency)) for amount in self.reached],
            "loss": str(quantize_money(self.loss, self.currency)),
            "raw_rates": [str(rate.quantize(RATE_QUANTUM)) for rate in self.rates],
        }


@dataclass(frozen=True)
class Derivation:
    """Rates derived from history at ``as_of``: the cohorts, the pooled one, raw and adjusted rates."""

    as_of: date
    due_from: date
    due_to: date
    history_months: int
    forward_adjustment: Decimal
    round_whole: bool
    cohorts: tuple[Cohort, ...]
    pooled: Cohort
    raw_rates: tuple[Decimal, ...]
    rates: tuple[Decimal, ...]

    def as_json(self) -> dict:
        return {
            "due_from": self.due_from.isoformat(),
            "due_to": self.due_to.isoformat(),
            "history_months": self.history_months,
            "forward_adjustment": str(self.forward_adjustment),
            "round_whole": self.round_whole,
            "cohorts": [cohort.as_json() for cohort in self.cohorts],
            "pooled": self.pooled.as_json(),
            "raw_rates": [str(rate.quantize(RATE_QUANTUM)) for rate in self.raw_rates],
            "rates": [str(rate) for rate in self.rates],
        }


def book_invoices(book_id: int | None):
    """Invoices of one book's customers: the operator's (None) or a resale sub-distributor's."""
    if book_id is None:
        return Invoice.objects.filter(customer__seller_id__isnull=True)
    return Invoice.objects.filter(customer__seller_id=book_id)


def history_window(as_of: date, history_months: int) -> tuple[date, date]:
    """The due dates of the cohort: from ``history_months`` before ``as_of`` to 91 days before it."""
    return as_of - relativedelta(months=history_months), as_of - timedelta(days=FATE_KNOWN_DAYS)


def _aged_from(prefix: str = ""):
    return Coalesce(F(f"{prefix}due_date"), F(f"{prefix}issue_date"), output_field=DateField())


def _settled_by_reading(rows, day_field, amount_field: str) -> dict[str, list[Decimal]]:
    """Per currency, the amounts of ``rows`` (allocations or credit notes) dated by each reading day."""
    age = ExpressionWrapper(day_field - _aged_from("invoice__"), output_field=DurationField())
    sums = {
        f"r{index}": Sum(amount_field, filter=Q(age__lte=timedelta(days=days)))
        for index, days in enumerate(READ_AFTER_DUE)
    }
    out: dict[str, list[Decimal]] = {}
    for row in rows.annotate(age=age).order_by().values("invoice__currency").annotate(**sums):
        out[row["invoice__currency"]] = [row[f"r{i}"] or ZERO for i in range(len(READ_AFTER_DUE))]
    return out


def _by_currency(rows, amount_field: str) -> dict[str, Decimal]:
    totals = rows.order_by().values("invoice__currency").annotate(s=Sum(amount_field))
    return {row["invoice__currency"]: row["s"] or ZERO for row in totals}


def cohorts_read(as_of: date, *, history_months: int, book_id: int | None = None) -> list[Cohort]:
    """Each currency's cohort at ``as_of`` (see the module docstring): a handful of grouped queries."""
    due_from, due_to = history_window(as_of, history_months)
    invoices = (
        book_invoices(book_id)
        .filter(POSTED, issue_date__lte=as_of)
        .annotate(aged_from=_aged_from())
        .filter(aged_from__gte=due_from, aged_from__lte=due_to)
    )
    totals = {
        row["currency"]: (row["n"], row["s"] or ZERO)
        for row in invoices.order_by().values("currency").annotate(n=Count("id"), s=Sum("total"))
    }
    if not totals:
        return []
    in_window = Q(invoice__in=invoices.values("pk"))
    paid = _settled_by_reading(
        PaymentAllocation.objects.filter(in_window, allocated_at__lt=day_end(as_of)),
        TruncDate("allocated_at"),
        "amount",
    )
    credited = _settled_by_reading(
        CreditNote.objects.filter(in_window, issue_date__lte=as_of), F("issue_date"), "total"
    )
    written = _by_currency(
        WriteOffLine.objects.filter(
            in_window, write_off__status="approved", write_off__effective_date__lte=as_of
        ),
        "amount",
    )
    recovered = _by_currency(BadDebtRecovery.objects.filter(in_window, recovered_on__lte=as_of), "amount")
    none = [ZERO] * len(READ_AFTER_DUE)
    cohorts = []
    for currency, (count, total) in sorted(totals.items()):
        paid_by, credited_by = paid.get(currency, none), credited.get(currency, none)
        # The sale itself reaches the current bucket: payments before the due date do not unmake it.
        reached = [total - credited_by[0]]
        reached += [total - paid_by[i] - credited_by[i] for i in range(1, len(READ_AFTER_DUE))]
        loss = written.get(currency, ZERO) - recovered.get(currency, ZERO)
        cohorts.append(
            Cohort(
                currency=currency,
                invoices=count,
                reached=tuple(max(amount, ZERO) for amount in reached),
                loss=max(loss, ZERO),
            )
        )
    return cohorts


def cohorts_pooled(cohorts: list[Cohort], as_of: date, rates: BaseRates) -> Cohort:
    """All currencies' cohorts in the base currency at ``as_of``'s rates; a missing rate raises
    ``FxRatesMissing`` naming every pair."""
    reached = [ZERO] * len(BUCKET_KEYS)
    loss, count = ZERO, 0
    for cohort in cohorts:
        fx = rates.rate(cohort.currency, as_of)
        if fx is None:
            continue
        reached = [total + amount * fx for total, amount in zip(reached, cohort.reached, strict=True)]
        loss += cohort.loss * fx
        count += cohort.invoices
    if rates.missing:
        raise FxRatesMissing(rates.missing)
    return Cohort(currency=rates.base, invoices=count, reached=tuple(reached), loss=loss)


def rates_derive(
    as_of: date,
    *,
    history_months: int,
    forward_adjustment: Decimal,
    round_whole: bool,
    book_id: int | None = None,
) -> Derivation:
    """Derive the five rates at ``as_of`` from history; ``EclError`` when there is none to derive from."""
    due_from, due_to = history_window(as_of, history_months)
    cohorts = cohorts_read(as_of, history_months=history_months, book_id=book_id)
    pooled = cohorts_pooled(cohorts, as_of, BaseRates())
    if pooled.reached[0] <= 0:
        raise EclError(
            _(
                "No history to derive loss rates from: no invoice fell due between %(start)s and %(end)s "
                "(%(months)s months before %(date)s, at least 91 days before it). Enter the rates, or "
                "lengthen the history."
            )
            % {"start": due_from, "end": due_to, "months": history_months, "date": as_of}
        )
    raw = pooled.rates
    return Derivation(
        as_of=as_of,
        due_from=due_from,
        due_to=due_to,
        history_months=history_months,
        forward_adjustment=Decimal(forward_adjustment),
        round_whole=round_whole,
        cohorts=tuple(cohorts),
        pooled=pooled,
        raw_rates=tuple(raw),
        rates=tuple(adjusted(raw, forward_adjustment, round_whole)),
    )
