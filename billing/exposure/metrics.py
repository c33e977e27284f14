"""The cash conversion cycle from the ledger: DSO, DPO, days of prepaid cover and CCC, now or as of a day.

Every figure is read from one book (None: the operator's) as of the end of ``day``, over the window of
``window_days`` days ending that day (``day − window_days`` exclusive to ``day`` inclusive), in the base
currency. These are the definitions the dashboard shows on hover:

* **Receivables** — ``balances.figures_by_currency(day)["receivables"]``: customers' receivable accounts
  (invoices and opening items, net of unapplied payments).
* **Credit sales** — what we invoiced on credit over the window: the receivable debits of invoices issued
  (interim and opening items included, tax included as the receivable includes it) less the receivable
  credits of credit notes issued. Netting credit notes matters: a voided and reissued invoice would
  otherwise count one sale twice and flatter DSO.
* **DSO** (days sales outstanding) = receivables ÷ credit sales × days. Golden: 50,000 ÷ 200,000 × 365 =
  91.25 days. Undefined (None) when credit sales are zero or less.
* **Payables** — ``figures_by_currency(day)["payables"]``: vendor bills unpaid plus upstream cost accrued
  before the vendor invoices it (both are money we hold that the vendor is owed).
* **Purchases** — upstream cost we took on over the window, i.e. every movement that *creates* an amount
  owed to (or already paid to) a vendor: prepayments and packs bought (the upstream-prepaid debit of a pack
  buy, whether bought on a vendor invoice or paid from the bank at once), postpaid usage accrued at contract
  cost, commitment shortfalls, and the differences a vendor invoice or a true-up posts against the accrual
  (a volume-tier rebate on a postpaid channel counts negative: it lowers what we owe; on a prepaid
  channel it is free credit, neither owed nor paid, so it is no purchase, and the pack's price
  differences are not either: the price paid was counted when it was bought). Movements that only
  *move* or *settle* what is owed are not purchases: a postpaid month's invoice turning the accrual
  into a payable (only its variance is a purchase), a vendor payment, FX realisation and revaluation.
  In ledger terms: the upstream-prepaid debits of pack buys, plus the net credits to payables and
  upstream accrued by every other transaction except vendor payments and FX postings (a reversal counts
  as the kind it reverses).
* **DPO** (days payables outstanding) = payables ÷ purchases × days; None when purchases are zero or less.
* **Upstream prepaid** — ``figures_by_currency(day)["upstream_prepaid"]``: prepaid credit and packs bought
  from vendors, not yet consumed or expired.
* **Daily cost** — the cost of tokens over the window (net debits of cost of tokens: usage at contract
  cost, pack price differences, rebates) ÷ days.
* **Days of prepaid cover** = upstream prepaid ÷ daily cost; None when nothing was consumed. This is the
  company-wide figure, the textbook's days of inventory: ``billing.upstream.cover`` gives each channel's
  cover from its own 7-day burn for the low-cover alerts, which is not reproducible at a past date and
  answers another question (when does *this* channel run dry), so it is not reused here.
* **CCC** (cash conversion cycle) = DSO + days of prepaid cover − DPO. Prepaid upstream credit plays the
  part inventory plays in the textbook cycle (DIO): it is paid for before it is sold. CCC is computed from
  the rounded components so the figures shown add up, and is None when any component is.

Base currency: every currency's stock and flow is converted at the rate in force on ``day`` (one rate for
numerator and denominator, so a currency's own ratio is not distorted by rate moves inside the window).
A missing rate is never counted as 0 or 1: the result then carries ``missing_rates`` (each
``"USD→CNY 2026-12-06"``) and every amount and metric is None; ``reason`` says what to enter.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.exposure.balances import figures_by_currency
from billing.fx.rates import BaseRates
from billing.ledger.models import AccountKind as K
from billing.ledger.models import JournalEntry
from billing.money import quantize_money

ZERO = Decimal(0)
DAYS_PLACES = Decimal("0.01")

INVOICE_KIND = "invoice.issue"
CREDIT_NOTE_KIND = "credit_note.issue"
PACK_BUY_KIND = "upstream.pack.buy"
# Transactions that settle or revalue what a vendor is owed: never a purchase.
SETTLING_KINDS = frozenset({"upstream.payment", "fx.realised", "fx.revaluation"})
VENDOR_LIABILITY_KINDS = (K.PAYABLE, K.UPSTREAM_ACCRUED)
FLOW_KINDS = (K.RECEIVABLE, K.UPSTREAM_PREPAID, K.COST_OF_TOKENS, *VENDOR_LIABILITY_KINDS)
INPUTS = ("receivables", "credit_sales", "payables", "purchases", "upstream_prepaid", "cost")
_NONE_FIELDS = (
    "dso",
    "dpo",
    "cover_days",
    "ccc",
    "receivables",
    "credit_sales",
    "payables",
    "purchases",
    "upstream_prepaid",
    "daily_cost",
)


def _days(numerator: Decimal, denominator: Decimal, days: int) -> Decimal | None:
    if denominator <= 0:
        return None
    return (numerator / denominator * days).quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)


def dso(receivables: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """Days sales outstanding: ``receivables ÷ credit_sales × days`` to two places; None without sales."""
    return _days(receivables, credit_sales, days)


def dpo(payables: Decimal, purchases: Decimal, days: int) -> Decimal | None:
    """Days payables outstanding: ``payables ÷ purchases × days`` to two places; None without purchases."""
    return _days(payables, purchases, days)


def cover_days(upstream_prepaid: Decimal, cost: Decimal, days: int) -> Decimal | None:
    """Days of prepaid cover: ``upstream_prepaid ÷ (cost ÷ days)`` to two places; None without cost."""
    return _days(upstream_prepaid, cost, days)


def ccc(dso: Decimal | None, cover_days: Decimal | None, dpo: Decimal | None) -> Decimal | None:
    """Cash conversion cycle: ``DSO + days of prepaid cover − DPO``; None when any part is undefined."""
    if dso is None or cover_days is None or dpo is None:
        return None
    return (dso + cover_days - dpo).quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CycleMetrics:
    """The cycle as of ``day`` over ``window_days``; amounts in ``currency`` (the base), days to 2 places."""

    day: date
    window_days: int
    currency: str
    dso: Decimal | None
    dpo: Decimal | None
    cover_days: Decimal | None
    ccc: Decimal | None
    receivables: Decimal | None
    credit_sales: Decimal | None
    payables: Decimal | None
    purchases: Decimal | None
    upstream_prepaid: Decimal | None
    daily_cost: Decimal | None
    missing_rates: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """Why the figures are missing ("" when they are not)."""
        if not self.missing_rates:
            return ""
        return _("No exchange rate on or before: %(pairs)s. Enter these rates to see the cycle.") % {
            "pairs": ", ".join(self.missing_rates)
        }


def flows_by_currency(start: date, end: date, *, book_id: int | None = None) -> dict[str, dict[str, Decimal]]:
    """Per currency: ``credit_sales``, ``purchases`` and ``cost`` (of tokens) effective in [start, end].

    One grouped query over the window's entries on the accounts these flows touch; each row is classed by
    its transaction's kind, or for a reversal by the kind it reverses.
    """
    rows = (
        JournalEntry.objects.filter(
            account__kind__in=FLOW_KINDS,
            account__book_id=book_id,
            transaction__effective_date__gte=start,
            transaction__effective_date__lte=end,
        )
        .order_by()
        .values("account__kind", "account__currency", "transaction__kind", "transaction__reverses__kind")
        .annotate(total=Sum("amount"))
    )
    out: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(("credit_sales", "purchases", "cost"), ZERO)
    )
    for row in rows:
        kind, total = row["account__kind"], row["total"] or ZERO
        event = row["transaction__reverses__kind"] or row["transaction__kind"]
        flows = out[row["account__currency"]]
        if kind == K.RECEIVABLE and event in (INVOICE_KIND, CREDIT_NOTE_KIND):
            flows["credit_sales"] += total
        elif kind == K.UPSTREAM_PREPAID and event == PACK_BUY_KIND:
            flows["purchases"] += total
        elif kind in VENDOR_LIABILITY_KINDS and event != PACK_BUY_KIND and event not in SETTLING_KINDS:
            flows["purchases"] -= total
        elif kind == K.COST_OF_TOKENS:
            flows["cost"] += total
    return dict(out)


def cycle_metrics(day: date | None = None, window_days: int = 90, book_id: int | None = None) -> CycleMetrics:
    """DSO, DPO, days of prepaid cover and CCC as of the end of ``day`` (None: today, from the cached
    balances) over the ``window_days`` days ending that day, in the base currency (module docstring)."""
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    on = day or timezone.localdate()
    figures = figures_by_currency(day, book_id=book_id)
    flows = flows_by_currency(on - timedelta(days=window_days - 1), on, book_id=book_id)
    rates = BaseRates()
    base = rates.base
    totals = dict.fromkeys(INPUTS, ZERO)
    for currency in sorted(set(figures) | set(flows)):
        amounts = {**figures.get(currency, {}), **flows.get(currency, {})}
        if not any(amounts.get(name) for name in INPUTS):
            continue
        rate = rates.rate(currency, on)
        if rate is None:
            continue
        for name in INPUTS:
            totals[name] += amounts.get(name, ZERO) * rate
    if rates.missing:
        unknown = dict.fromkeys(_NONE_FIELDS, None)
        pairs = tuple(f"{ccy}→{to} {when:%Y-%m-%d}" for ccy, to, when in sorted(rates.missing))
        return CycleMetrics(day=on, window_days=window_days, currency=base, missing_rates=pairs, **unknown)
    sales_days = dso(totals["receivables"], totals["credit_sales"], window_days)
    payable_days = dpo(totals["payables"], totals["purchases"], window_days)
    cover = cover_days(totals["upstream_prepaid"], totals["cost"], window_days)
    return CycleMetrics(
        day=on,
        window_days=window_days,
        currency=base,
        dso=sales_days,
        dpo=payable_days,
        cover_days=cover,
        ccc=ccc(sales_days, cover, payable_days),
        receivables=quantize_money(totals["receivables"], base),
        credit_sales=quantize_money(totals["credit_sales"], base),
        payables=quantize_money(totals["payables"], base),
        purchases=quantize_money(totals["purchases"], base),
        upstream_prepaid=quantize_money(totals["upstream_prepaid"], base),
        daily_cost=quantize_money(totals["cost"] / window_days, base),
    )
