"""The dashboard's short lists: the largest exposures, customers over their limit or overdue, low wallets,
unrated events and open reconciliation differences — each a few grouped queries, never a walk over every
customer in Python.

Exposure is ``billing.terms.selectors``'s (receivables + unbilled − paid deposits, the accounts of
``EXPOSURE_KINDS``), of customers the operator sells to (its own book). Rows are plain data with amounts as
decimal strings rounded to the currency's minor unit, so a day's lists can be stored in its snapshot and
shown again as they were.
"""

from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import Customer
from billing.exposure.figures import operator_invoices
from billing.fx.rates import BaseRates
from billing.ledger.models import JournalEntry, LedgerAccount
from billing.money import quantize_money
from billing.receivables.aging import open_items_as_of
from billing.terms.models import CREDIT_MODES
from billing.terms.selectors import EXPOSURE_KINDS
from billing.upstream.models import ReconciliationLine, ReconciliationRun, ReconClass
from billing.usage.selectors import unrated_events
from billing.wallets.models import BalanceSuspension, Wallet
from billing.wallets.selectors import BUCKET_KINDS

ZERO = Decimal("0")
TOP = 10
_AMOUNT = DecimalField(max_digits=30, decimal_places=12)


def _money(amount, currency: str) -> str:
    return str(quantize_money(Decimal(amount or 0), currency))


def _rated(field: str, currencies, day: date, rates: BaseRates):
    """SQL: 1 unit of the row's currency in base at ``day`` (NULL where there is no rate)."""
    whens = [
        When(**{field: c}, then=Value(rate))
        for c in sorted(currencies)
        if (rate := rates.rate(c, day)) is not None
    ]
    return Case(*whens, default=Value(None), output_field=_AMOUNT)


def _exposure_rows(day: date | None):
    """Grouped rows ``cid``, ``ccy``, ``exposure`` of customers of the operator's book, and the field
    holding the currency (for SQL on it): cached balances now, the ledger's entries for a past day."""
    if day is None:
        rows = LedgerAccount.objects.filter(
            kind__in=EXPOSURE_KINDS, book__isnull=True, customer__isnull=False
        ).values(cid=F("customer_id"), ccy=F("currency"))
        return rows.order_by().annotate(exposure=Sum("balance")), "currency", ""
    rows = JournalEntry.objects.filter(
        account__kind__in=EXPOSURE_KINDS,
        account__book__isnull=True,
        account__customer__isnull=False,
        transaction__effective_date__lte=day,
    ).values(cid=F("account__customer_id"), ccy=F("account__currency"))
    return rows.order_by().annotate(exposure=Sum("amount")), "account__currency", "account__"


def _names(ids) -> dict[int, Customer]:
    return {c.pk: c for c in Customer.objects.filter(pk__in=list(ids)).select_related("billing_terms")}


def _limit(customer: Customer, currency: str) -> Decimal | None:
    terms = getattr(customer, "billing_terms", None)
    if (
        terms is None
        or terms.mode not in CREDIT_MODES
        or terms.currency != currency
        or terms.credit_limit <= 0
    ):
        return None
    return terms.credit_limit


def _utilisation(exposure: Decimal, limit: Decimal | None) -> str | None:
    if limit is None:
        return None
    return str((exposure / limit * 100).quantize(Decimal("0.1")))


def top_exposures(day: date | None, on: date, rates: BaseRates, currencies) -> list[dict]:
    """The ``TOP`` largest positive exposures in base at ``on`` (a currency without a rate sorts last),
    each with its credit limit (in that currency) and utilisation in percent."""
    rows, field, _prefix = _exposure_rows(day)
    rated = rows.filter(exposure__gt=0).annotate(base=F("exposure") * _rated(field, currencies, on, rates))
    top = list(rated.order_by(F("base").desc(nulls_last=True), "-exposure", "cid")[:TOP])
    customers = _names(r["cid"] for r in top)
    out = []
    for row in top:
        customer, exposure = customers[row["cid"]], row["exposure"]
        limit = _limit(customer, row["ccy"])
        out.append(
            {
                "customer_id": customer.pk,
                "customer": customer.name,
                "currency": row["ccy"],
                "exposure": _money(exposure, row["ccy"]),
                "base": None if row["base"] is None else _money(row["base"], rates.base),
                "limit": None if limit is None else _money(limit, row["ccy"]),
                "utilisation": _utilisation(exposure, limit),
            }
        )
    return out


def over_limit(day: date | None) -> dict:
    """Credit customers whose exposure in their terms' currency is at or above their credit limit (limits
    as they are now): how many, and the ``TOP`` most used."""
    rows, field, prefix = _exposure_rows(day)
    terms = f"{prefix}customer__billing_terms__"
    rows = rows.filter(
        **{
            f"{terms}mode__in": list(CREDIT_MODES),
            f"{terms}credit_limit__gt": 0,
            field: F(f"{terms}currency"),
        }
    ).annotate(limit=Max(f"{terms}credit_limit"))
    crossed = rows.filter(exposure__gte=F("limit")).annotate(
        used=ExpressionWrapper(F("exposure") / F("limit"), output_field=_AMOUNT)
    )
    top = list(crossed.order_by("-used", "cid")[:TOP])
    customers = _names(r["cid"] for r in top)
    return {
        "count": crossed.count(),
        "rows": [
            {
                "customer_id": r["cid"],
                "customer": customers[r["cid"]].name,
                "currency": r["ccy"],
                "exposure": _money(r["exposure"], r["ccy"]),
                "limit": _money(r["limit"], r["ccy"]),
                "utilisation": _utilisation(r["exposure"], r["limit"]),
            }
            for r in top
        ],
    }


def overdue_customers(on: date, rates: BaseRates, currencies) -> dict:
    """Customers with invoices past due at the end of ``on`` (operator's book): how many (customer and
    currency), and the ``TOP`` largest in base with the oldest due date."""
    rows = (
        open_items_as_of(on, operator_invoices())
        .exclude(bucket="current")
        .order_by()
        .values("customer_id", "currency")
        .annotate(overdue=Sum("open_then"), oldest=Min("aged_from"))
    )
    rated = rows.annotate(base=F("overdue") * _rated("currency", currencies, on, rates))
    top = list(rated.order_by(F("base").desc(nulls_last=True), "-overdue", "customer_id")[:TOP])
    customers = _names(r["customer_id"] for r in top)
    return {
        "count": rows.count(),
        "rows": [
            {
                "customer_id": r["customer_id"],
                "customer": customers[r["customer_id"]].name,
                "currency": r["currency"],
                "overdue": _money(r["overdue"], r["currency"]),
                "base": None if r["base"] is None else _money(r["base"], rates.base),
                "oldest_due": r["oldest"].isoformat(),
                "days": (on - r["oldest"]).days,
            }
            for r in top
        ],
    }


def low_wallets() -> dict:
    """Prepaid wallets (operator's customers) at or below their low-balance threshold — the wallet's own
    alert is open — or suspended at their floor: how many, and the ``TOP`` closest to (or under) the floor.

    The alert and the suspension are kept current by every wallet write (``billing.wallets.status``), so
    this reads their flags rather than every wallet's balance.
    """
    suspended = BalanceSuspension.objects.filter(wallet=OuterRef("pk"), ended_at__isnull=True)
    held = (
        LedgerAccount.objects.filter(
            customer=OuterRef("customer_id"),
            currency=OuterRef("currency"),
            kind__in=list(BUCKET_KINDS.values()),
        )
        .order_by()
        .values("customer")
        .annotate(s=Sum("balance"))
        .values("s")
    )
    wallets = (
        Wallet.objects.filter(customer__seller__isnull=True)
        .annotate(is_suspended=Exists(suspended))
        .filter(Q(low_balance_alerted_at__isnull=False) | Q(is_suspended=True))
    )
    # Deposit accounts are credit-normal: what the customer holds is the negated balance.
    ranked = wallets.annotate(
        available=-Coalesce(Subquery(held, output_field=_AMOUNT), Value(ZERO), output_field=_AMOUNT)
    ).annotate(headroom=ExpressionWrapper(F("available") - F("floor"), output_field=_AMOUNT))
    top = list(ranked.select_related("customer").order_by("headroom", "pk")[:TOP])
    return {
        "count": wallets.count(),
        "rows": [
            {
                "customer_id": w.customer_id,
                "customer": w.customer.name,
                "currency": w.currency,
                "available": _money(w.available, w.currency),
                "floor": _money(w.floor, w.currency),
                "threshold": None
                if w.low_balance_threshold is None
                else _money(w.low_balance_threshold, w.currency),
                "suspended": w.is_suspended,
            }
            for w in top
        ],
    }


def unrated_count() -> int:
    """Usage events waiting in the unrated queue."""
    return unrated_events().count()


def recon_open(base: str) -> dict:
    """Open reconciliation differences: for each channel × model × day, the line of the latest finished
    run that compared it, when that line is not matched; how many and the value at stake (base)."""
    done = ReconciliationLine.objects.filter(run__state=ReconciliationRun.State.DONE)
    newer = done.filter(
        channel_id=OuterRef("channel_id"),
        model_name=OuterRef("model_name"),
        day=OuterRef("day"),
        run_id__gt=OuterRef("run_id"),
    )
    open_lines = done.exclude(klass=ReconClass.MATCHED).filter(~Exists(newer))
    totals = open_lines.aggregate(lines=Count("pk"), value=Sum("value"))
    return {"lines": totals["lines"], "value": _money(totals["value"] or ZERO, base)}
