"""Customer risk: each credit customer's exposure against its limit, and how concentrated exposure is.

Exposure = receivables + unbilled − paid deposits (DESIGN.md §9, ``billing.terms.selectors``), from the
cached account balances in the customer's terms currency. Utilisation = exposure ÷ credit limit; headroom =
limit − exposure (both only with a limit). Concentration is read in the base currency at today's rate over
positive exposures (deposits beyond what is owed carry no risk): each customer's share of the total, the
top ten's share, and the Herfindahl–Hirschman index Σ (share in %)², from near 0 (spread thin) to 10,000
(one customer holds it all). A customer whose currency has no rate today is listed with "no rate" and left
out of the concentration figures, never counted at 0 or 1.

**One book at a time.** A customer's receivable, unbilled usage and deposits are held in its seller's book
(``customer.seller``; None = the operator's). The operator's book is what customers owe the operator; a
resale sub-distributor's own customers owe the sub-distributor, in its book, and the operator's exposure to
that chain is the sub-distributor itself (its receivable in the operator's book, a row like any other credit
customer). Summing both books would count the chain twice and mix two creditors, so the rows, the total and
the concentration are always of one book, the operator's unless ``book_id`` names a sub-distributor's, as
the dashboard, aging, ECL and forecast read it.

Load once (four grouped queries, whatever the number of customers), compute on plain rows: the page
filters, sorts and pages these rows in memory, which stays fast for 10,000 customers.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce

from billing.dunning.selectors import OPEN_STATUSES
from billing.fx.rates import BaseRates
from billing.invoicing.models import Invoice
from billing.ledger.models import AccountKind, LedgerAccount
from billing.terms.models import CREDIT_MODES, BillingTerms, RiskFlag

ZERO = Decimal("0")
HUNDRED = Decimal("100")
HIGH_UTILISATION = Decimal("80")  # percent: the "over 80%" filter
TOP = 10
# HHI bands of the 2010 US merger guidelines, the usual reading of the index.
HHI_MODERATE, HHI_HIGH = 1500, 2500
SORTS = {
    "customer": lambda r: r.name.lower(),
    "currency": lambda r: r.currency,
    "exposure": lambda r: r.exposure_base,
    "limit": lambda r: r.credit_limit,
    "utilisation": lambda r: r.utilisation,
    "headroom": lambda r: r.headroom,
    "share": lambda r: r.share,
    "overdue": lambda r: r.overdue_days,
    "flags": lambda r: len(r.flags),
    "policy": lambda r: r.policy,
}
DEFAULT_SORT = "-exposure"


@dataclass(slots=True)
class RiskRow:
    """One credit customer's risk figures; amounts in its terms currency, full precision.

    The derived figures are computed once (``_derive``, ``concentration``), not on every read: the page
    sorts 10,000 of these.
    """

    customer_id: int
    code: str
    name: str
    seller_id: int | None
    seller_name: str
    currency: str
    credit_limit: Decimal
    policy: str
    receivables: Decimal = ZERO
    unbilled: Decimal = ZERO
    deposits: Decimal = ZERO  # paid deposits held, positive
    exposure: Decimal = ZERO  # receivables + unbilled − deposits
    utilisation: Decimal | None = None  # exposure as a percent of the limit; None without a limit
    headroom: Decimal | None = None  # limit − exposure; None without a limit
    overdue_days: int | None = None  # age of the oldest invoice unpaid past its due date
    flags: list = field(default_factory=list)  # open RiskFlags
    rate: Decimal | None = None  # 1 currency = rate base currency, today
    exposure_base: Decimal | None = None
    share: Decimal | None = None  # percent of total positive exposure in the base currency
    flag_texts: list = field(default_factory=list)  # (flag, sentence) pairs, set by the page for its rows

    def _derive(self) -> None:
        self.exposure = self.receivables + self.unbilled - self.deposits
        if self.credit_limit > 0:
            self.utilisation = self.exposure * HUNDRED / self.credit_limit
            self.headroom = self.credit_limit - self.exposure

    @property
    def policy_label(self) -> str:
        return BillingTerms.CreditPolicy(self.policy).label


@dataclass
class Concentration:
    """Exposure concentration over every credit customer, in the base currency."""

    currency: str
    total: Decimal
    top_share: Decimal | None  # percent held by the ``TOP`` largest
    hhi: int | None
    top: list[RiskRow]
    missing: list[str]  # currencies without a rate today
    customers: int
    flagged: int
    over_limit: int

    @property
    def band(self) -> str:
        if self.hhi is None:
            return ""
        return "high" if self.hhi > HHI_HIGH else "moderate" if self.hhi >= HHI_MODERATE else "low"


def risk_rows(*, today: dt.date, book_id: int | None = None) -> list[RiskRow]:
    """Every customer on credit terms billed in ``book_id``'s book (None: the operator's) with its
    exposure parts, oldest overdue invoice and open flags."""
    in_book = Q(customer__seller__isnull=True) if book_id is None else Q(customer__seller_id=book_id)
    rows = {
        t[0]: RiskRow(*t)
        for t in BillingTerms.objects.filter(in_book, mode__in=CREDIT_MODES).values_list(
            "customer_id",
            "customer__code",
            "customer__name",
            "customer__seller_id",
            Coalesce("customer__seller__name", Value("")),
            "currency",
            "credit_limit",
            "credit_policy",
        )
    }
    # Summed per customer in SQL, in its terms currency only (another currency's balance is not owed in
    # this one); a paid wallet is credit-normal, so its balance is the deposit negated.
    balances = (
        LedgerAccount.objects.filter(
            in_book,
            kind__in=(AccountKind.RECEIVABLE, AccountKind.UNBILLED_RECEIVABLE, AccountKind.WALLET_PAID),
            customer__billing_terms__mode__in=CREDIT_MODES,
            currency=F("customer__billing_terms__currency"),
        )
        .order_by()
        .values_list("customer_id")
        .annotate(
            receivable=Sum("balance", filter=Q(kind=AccountKind.RECEIVABLE)),
            unbilled=Sum("balance", filter=Q(kind=AccountKind.UNBILLED_RECEIVABLE)),
            paid=Sum("balance", filter=Q(kind=AccountKind.WALLET_PAID)),
        )
    )
    for customer_id, receivable, unbilled, paid in balances:
        row = rows[customer_id]
        row.receivables, row.unbilled, row.deposits = receivable or ZERO, unbilled or ZERO, -(paid or ZERO)
    oldest = (
        Invoice.objects.filter(
            in_book, status__in=OPEN_STATUSES, customer__billing_terms__mode__in=CREDIT_MODES
        )
        .annotate(aged_from=Coalesce(F("due_date"), F("issue_date")))
        .filter(aged_from__lt=today)
        .order_by()
        .values_list("customer_id")
        .annotate(oldest=Min("aged_from"))
    )
    for customer_id, day in oldest:
        rows[customer_id].overdue_days = (today - day).days
    for flag in RiskFlag.objects.filter(ended_at__isnull=True).order_by("kind"):
        if flag.customer_id in rows:
            rows[flag.customer_id].flags.append(flag)
    for row in rows.values():
        row._derive()
    return list(rows.values())


def concentration(rows: list[RiskRow], *, today: dt.date, rates: BaseRates | None = None) -> Concentration:
    """Set each row's rate and share; return the concentration figures over all of ``rows`` (one book's)."""
    rates = rates or BaseRates()
    by_currency = {currency: rates.rate(currency, today) for currency in {r.currency for r in rows}}
    missing = {currency for currency, rate in by_currency.items() if rate is None}
    weighed = []
    for row in rows:
        row.rate = by_currency[row.currency]
        if row.rate is not None:
            row.exposure_base = row.exposure * row.rate
            weighed.append(row)
    positive = sorted(
        (r for r in weighed if r.exposure > 0), key=lambda r: (r.exposure_base, r.code), reverse=True
    )
    total = sum((r.exposure_base for r in positive), ZERO)
    for row in weighed:
        row.share = row.exposure_base * HUNDRED / total if total > 0 and row.exposure > 0 else ZERO
    top = positive[:TOP]
    return Concentration(
        currency=rates.base,
        total=total,
        top_share=sum((r.share for r in top), ZERO) if total > 0 else None,
        hhi=round(sum((r.share * r.share for r in positive), ZERO)) if total > 0 else None,
        top=top,
        missing=sorted(missing),
        customers=len(rows),
        flagged=sum(1 for r in rows if r.flags),
        over_limit=sum(1 for r in rows if r.credit_limit > 0 and r.exposure >= r.credit_limit),
    )


def rows_filter(rows: list[RiskRow], *, q: str = "", policy: str = "", flagged=False, high=False):
    """Narrow ``rows``: a name or code containing ``q``; one credit policy; flagged only; over 80% of the
    limit only. (The book is chosen before, in ``risk_rows``.)"""
    q = q.strip().lower()
    if q:
        rows = [r for r in rows if q in r.name.lower() or q in r.code.lower()]
    if policy:
        rows = [r for r in rows if r.policy == policy]
    if flagged:
        rows = [r for r in rows if r.flags]
    if high:
        rows = [r for r in rows if r.utilisation is not None and r.utilisation > HIGH_UTILISATION]
    return rows


def rows_sort(rows: list[RiskRow], sort: str) -> tuple[list[RiskRow], str]:
    """Sort by a key of ``SORTS`` ("-" first: descending), blanks (no limit, no rate) always last; an
    unknown key sorts by the default. Returns the rows and the sort applied."""
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    key, reverse = SORTS[sort.lstrip("-")], sort.startswith("-")
    known = [r for r in rows if key(r) is not None]
    blank = [r for r in rows if key(r) is None]
    known.sort(key=lambda r: r.code)
    known.sort(key=key, reverse=reverse)  # stable, also reversed: equal figures stay in code order
    return known + sorted(blank, key=lambda r: r.code), sort
