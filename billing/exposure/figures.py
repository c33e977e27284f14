"""The owner's morning figures for one day: the ledger's balances, what is overdue, this month's and last
month's revenue and cost of tokens, each per currency and converted into the base currency.

The balances are ``billing.exposure.balances``'s (the one definition of cash, funded float and the rest,
operator's book), overdue is ``billing.receivables.aging``'s (everything not current, the operator's
invoices), revenue and cost of tokens are the ledger's income and expense accounts of the operator's book
summed by effective date. ``day`` None reads today from the cached balances; a past day reads the ledger
as of its end, so it reproduces that day whatever was posted since.

Base amounts use ``BaseRates`` at the day for every figure (the month before included, so this month and
last compare at one rate). A currency without a rate is left out of the base totals and named in
``missing_rates``: the page says so; it is never counted at 0 or 1.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.exposure.balances import figures_by_currency
from billing.fx.rates import BaseRates
from billing.invoicing.models import Invoice
from billing.ledger.models import AccountKind as K
from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount
from billing.receivables.aging import BUCKET_KEYS, aging_totals

ZERO = Decimal("0")

# Sales revenue of the operator's book (credit-normal) and the cost of the tokens sold (debit-normal).
REVENUE_KINDS = (K.REVENUE_USAGE, K.REVENUE_SUBSCRIPTIONS, K.REVENUE_SERVICES)
COST_KINDS = (K.COST_OF_TOKENS,)

BALANCE_NAMES = (
    "cash",
    "funded_float",
    "receivables",
    "overdue",
    "unbilled",
    "deposits",
    "upstream_prepaid",
    "payables",
    "allowance",
)
PL_NAMES = ("revenue", "cost", "margin", "revenue_prev", "cost_prev", "margin_prev")
NAMES = BALANCE_NAMES + PL_NAMES


@dataclass(frozen=True)
class Figure:
    """How a figure is explained on the page: its label, its formula (shown on hover)."""

    name: str
    label: str
    formula: str


FIGURES = {
    f.name: f
    for f in (
        Figure("cash", _("Cash"), _("Cash = bank accounts + Stripe clearing (operator's book)")),
        Figure(
            "funded_float",
            _("Funded float (垫资)"),
            _("Funded float = upstream prepaid + unbilled + receivables − deposits − payables"),
        ),
        Figure(
            "receivables",
            _("Receivables"),
            _(
                "Receivables = customers' receivable accounts (invoices and opening items) "
                "− unapplied payments"
            ),
        ),
        Figure(
            "overdue",
            _("Overdue"),
            _("Overdue = open invoice amounts past their due date (every aging bucket but current)"),
        ),
        Figure(
            "unbilled", _("Unbilled usage"), _("Unbilled = credit customers' usage accrued, not yet invoiced")
        ),
        Figure(
            "deposits",
            _("Customer deposits"),
            _("Customer deposits = paid wallet credit + packs, unused (granted credit is left out)"),
        ),
        Figure(
            "upstream_prepaid",
            _("Upstream prepaid"),
            _("Upstream prepaid = prepayments and packs bought from vendors, not yet consumed or expired"),
        ),
        Figure(
            "payables",
            _("Payables"),
            _("Payables = vendor bills unpaid + upstream cost accrued, not yet invoiced"),
        ),
        Figure(
            "allowance",
            _("Allowance for doubtful debts"),
            _("Allowance = expected credit loss booked against receivables"),
        ),
        Figure(
            "revenue",
            _("Revenue"),
            _("Revenue = usage + subscription + service revenue posted, by effective date"),
        ),
        Figure("cost", _("Cost of tokens"), _("Cost of tokens = token cost posted, by effective date")),
        Figure("margin", _("Gross margin"), _("Gross margin = revenue − cost of tokens")),
    )
}


@dataclass
class DayFigures:
    """Every figure of ``day`` per currency and in ``base`` (None: no currency had a rate for it)."""

    day: date
    base_currency: str
    currencies: dict[str, dict[str, Decimal]]
    base: dict[str, Decimal]
    missing_rates: list[str] = field(default_factory=list)

    def split(self, name: str) -> list[tuple[str, Decimal]]:
        """``(currency, amount)`` of one figure, currencies where it is not zero, by currency code."""
        return [(c, f[name]) for c, f in sorted(self.currencies.items()) if f.get(name)]


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(day: date) -> tuple[date, date]:
    """The first and last day of the month before ``day``'s."""
    last = month_start(day) - timedelta(days=1)
    return month_start(last), last


def operator_invoices():
    """Invoices of the operator's book: customers it sells to itself (a resale seller's are its own)."""
    return Invoice.objects.filter(customer__seller__isnull=True)


def overdue_by_currency(day: date) -> dict[str, Decimal]:
    """What was past due at the end of ``day`` per currency: every aging bucket but current."""
    return {
        currency: sum((buckets[key] for key in BUCKET_KEYS[1:]), ZERO)
        for currency, buckets in aging_totals(day, operator_invoices()).items()
    }


def pl_by_currency(start: date, end: date) -> dict[str, dict[str, Decimal]]:
    """Revenue and cost of tokens of the operator's book effective in [start, end], per currency.

    The period's transactions are picked by their effective-date index first and joined to the entries of
    these few accounts, rather than walking every entry the revenue accounts ever had.
    """
    accounts = LedgerAccount.objects.filter(kind__in=REVENUE_KINDS + COST_KINDS, book__isnull=True)
    period = JournalTransaction.objects.filter(effective_date__gte=start, effective_date__lte=end)
    rows = (
        JournalEntry.objects.filter(
            account_id__in=list(accounts.values_list("pk", flat=True)),
            transaction_id__in=period.values("pk"),
        )
        .order_by()
        .values("account__kind", "account__currency")
        .annotate(total=Sum("amount"))
    )
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"revenue": ZERO, "cost": ZERO})
    for row in rows:
        total = row["total"] or ZERO
        if row["account__kind"] in REVENUE_KINDS:
            out[row["account__currency"]]["revenue"] -= total  # credit-normal
        else:
            out[row["account__currency"]]["cost"] += total
    return dict(out)


def figures_for_day(day: date | None = None) -> DayFigures:
    """Every figure at the end of ``day`` (None: now, from the cached balances), per currency and in base."""
    on = day or timezone.localdate()
    per: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(NAMES, ZERO))
    for currency, figures in figures_by_currency(day).items():
        per[currency].update(figures)
    for currency, amount in overdue_by_currency(on).items():
        per[currency]["overdue"] = amount
    prev_start, prev_end = previous_month(on)
    for suffix, (start, end) in (("", (month_start(on), on)), ("_prev", (prev_start, prev_end))):
        for currency, pl in pl_by_currency(start, end).items():
            per[currency]["revenue" + suffix] = pl["revenue"]
            per[currency]["cost" + suffix] = pl["cost"]
            per[currency]["margin" + suffix] = pl["revenue"] - pl["cost"]
    currencies = {c: f for c, f in per.items() if any(f.values())}
    return convert(on, currencies)


def convert(
    day: date, currencies: dict[str, dict[str, Decimal]], rates: BaseRates | None = None
) -> DayFigures:
    """Sum ``currencies``' figures into the base currency at ``day``'s rates, naming the missing ones."""
    rates = rates or BaseRates()
    base = dict.fromkeys(NAMES, ZERO)
    missing = []
    for currency, figures in sorted(currencies.items()):
        rate = rates.rate(currency, day)
        if rate is None:
            missing.append(currency)
            continue
        for name in NAMES:
            base[name] += figures.get(name, ZERO) * rate
    return DayFigures(
        day=day, base_currency=rates.base, currencies=currencies, base=base, missing_rates=missing
    )
