"""Margin per hop: for a period and a currency, one row per seller → buyer hop of the distribution chain.

Each hop of an end customer's request is stored as its own usage row under the buyer of that hop (helper
rows ``hop`` 1, 2… under each sub-distributor up the chain, ``billing.usage.rating``), rated at the buyer's
plan (``sell``, the seller's revenue) and at the seller's own buy price (``cost``: the next hop's sell, or
contract cost when the seller is the operator). So a hop is simply the daily rollups of one buyer (its
customer id) in the book of its ``seller``: the operator → S row is S's rollups (its whole subtree at
wholesale plus its own traffic), each S → C row is C's rollups (retail, costed at wholesale). Summing
margins over every hop gives the chain's margin without counting any request twice; summing *revenue*
over hops does not give anyone's sales (each hop re-sells the one below), so pages total per seller.

Agency commissions are not rolled up: they are read from the commission usage rows of the period (customer
= the agent, indexed with ``occurred_at``; ``end_customer`` = the buyer) and reported in ``commission``,
which is part of ``cost``: the seller that bills an agency customer pays the agent out of its margin.

Amounts are full-precision ``Decimal`` in the report's (sell) currency; cost in another currency is
converted at the rate of each rollup day as the usage overview does (``cost_in_sell_currency``), and a
row whose rate is missing adds no cost (``missing_fx`` lists the pairs). ``reported`` rounds for output.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.chain import agent_of
from accounts.models import Customer
from billing.invoicing.periods import Period
from billing.money import currency_exponent, ledger_round, quantize_money
from billing.usage.models import UsageDaily, UsageEvent
from billing.usage.selectors import cost_in_sell_currency, fx_missing, money_sum

Mode = Customer.ChainMode
COMMISSION_STATE = "commission"
OPERATOR = "operator"
"""How the command and CSV name the operator as a seller (customers are named by their code)."""
FIELDS = ("seller", "buyer", "mode", "revenue", "cost", "margin", "requests", "tokens")
"""The columns of the report's CSV and JSON, in order."""
SORTS = ("seller", "buyer", "mode", "revenue", "cost", "commission", "margin", "requests", "tokens")


class _EveryBook:
    def __repr__(self) -> str:
        return "EVERY_BOOK"


EVERY_BOOK = _EveryBook()
"""``book=`` value for hops of every seller (None is the operator's book only)."""


@dataclass
class Hop:
    """One seller → buyer hop: full-precision amounts in the report's currency.

    ``cost`` is what the seller paid for what it sold on this hop, commission to an agent included;
    ``commission`` repeats that part on its own.
    """

    seller: Customer | None
    buyer: Customer
    mode: str
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    requests: int = 0
    tokens: int = 0

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        return 100 * self.margin / self.revenue if self.revenue else None

    @property
    def seller_id(self) -> int | None:
        return self.seller.pk if self.seller else None

    @property
    def mode_label(self) -> str:
        return Mode(self.mode).label

    @property
    def seller_code(self) -> str:
        return self.seller.code if self.seller else OPERATOR


@dataclass
class SellerTotal:
    """A seller's sales on the report: the sum of its hops (its book's usage revenue in the currency)."""

    seller: Customer | None
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    requests: int = 0
    tokens: int = 0
    hops: int = 0

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


@dataclass
class HopReport:
    period: Period
    currency: str
    hops: list[Hop] = field(default_factory=list)
    missing_fx: list[tuple[str, str]] = field(default_factory=list)

    @property
    def margin(self) -> Decimal:
        """The chain's margin: every hop's, each request's spread counted once per hop it crossed."""
        return sum((h.margin for h in self.hops), Decimal(0))

    @property
    def commission(self) -> Decimal:
        return sum((h.commission for h in self.hops), Decimal(0))

    def by_seller(self) -> list[SellerTotal]:
        """Totals per seller (the operator first, then by revenue)."""
        totals: dict[int | None, SellerTotal] = {}
        for hop in self.hops:
            total = totals.setdefault(hop.seller_id, SellerTotal(seller=hop.seller))
            total.revenue += hop.revenue
            total.cost += hop.cost
            total.commission += hop.commission
            total.requests += hop.requests
            total.tokens += hop.tokens
            total.hops += 1
        return sorted(totals.values(), key=lambda t: (t.seller is not None, -t.revenue))


def hop_mode(buyer: Customer) -> str:
    """The hop's mode, from its buyer: a resale or agency sub-distributor buys in its own mode, a customer
    priced by an agency is sold "via" it (agency), anyone else is sold directly."""
    if buyer.is_sub_distributor and buyer.chain_mode in (Mode.RESALE, Mode.AGENCY):
        return buyer.chain_mode
    if agent_of(buyer) is not None:
        return Mode.AGENCY
    return Mode.DIRECT


def period_instants(period: Period) -> tuple[datetime, datetime]:
    """The period as [start, end) instants: midnights of the operator's time zone, as rollup days are."""
    zone = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(period.start, time.min), zone)
    end = timezone.make_aware(datetime.combine(period.end + timedelta(days=1), time.min), zone)
    return start, end


def buyers_seen(*, within: Customer | None = None, book=EVERY_BOOK) -> QuerySet[Customer] | None:
    """The buyers whose hops a reader may see: those sold by ``within`` or by any seller below it (None:
    every buyer), narrowed to one seller's book when ``book`` is given (None: the operator's). Returns
    None for every buyer, so that unscoped reads need no subquery."""
    if within is None and book is EVERY_BOOK:
        return None
    buyers = Customer.objects.all()
    if within is not None:
        buyers = buyers.filter(seller__path__startswith=within.path)
    if book is not EVERY_BOOK:
        buyers = buyers.filter(seller=book)
    return buyers


def period_rows(period: Period, buyers: QuerySet[Customer] | None = None) -> QuerySet[UsageDaily]:
    """The daily rollups of ``buyers`` (None: every customer) in ``period``, every currency."""
    rows = UsageDaily.objects.filter(day__gte=period.start, day__lte=period.end)
    if buyers is not None:
        rows = rows.filter(customer__in=buyers)
    return rows


def report_currencies(period: Period, *, within: Customer | None = None, book=EVERY_BOOK) -> list[str]:
    """The sell currencies of the reader's hops in ``period``, most revenue first."""
    rows = period_rows(period, buyers_seen(within=within, book=book)).order_by().values("sell_currency")
    ranked = rows.annotate(revenue=Sum("sell_amount")).order_by("-revenue", "sell_currency")
    return [r["sell_currency"] for r in ranked]


def _commissions(period: Period, currency: str, buyers: QuerySet[Customer] | None) -> dict[int, Decimal]:
    """Commission owed to agents on each buyer's usage in the period, by buyer (the end customer), for
    ``buyers`` (None: every buyer)."""
    agents = list(
        Customer.objects.filter(kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Mode.AGENCY).values_list(
            "pk", flat=True
        )
    )
    if not agents:
        return {}
    start, end = period_instants(period)
    # customer + occurred_at is the events' index: the agents' rows of the month, not a scan of the month.
    events = UsageEvent.objects.filter(
        customer_id__in=agents,
        occurred_at__gte=start,
        occurred_at__lt=end,
        rating_state=COMMISSION_STATE,
        sell_currency=currency,
    )
    if buyers is not None:
        events = events.filter(end_customer_id__in=buyers.values("pk"))
    rows = events.order_by().values("end_customer_id").annotate(commission=Sum("sell_amount"))
    return {r["end_customer_id"]: r["commission"] or Decimal(0) for r in rows}


def hop_report(
    period: Period, currency: str, *, within: Customer | None = None, book=EVERY_BOOK
) -> HopReport:
    """Every hop of ``period`` in ``currency`` that the reader may see, in tree order (seller, buyer).

    ``within``: a sub-distributor reading its own report sees the hops sold by itself or by any seller
    below it, never the hop above it; None (operator staff) sees every hop. ``book``: only one seller's
    hops (a customer, or None for the operator's).
    """
    return _report(period, currency, buyers_seen(within=within, book=book))


def hop_of(period: Period, currency: str, buyer: Customer) -> Hop | None:
    """The one hop selling to ``buyer`` in ``period`` and ``currency``, or None without usage."""
    report = _report(period, currency, Customer.objects.filter(pk=buyer.pk))
    return report.hops[0] if report.hops else None


def _report(period: Period, currency: str, buyers: QuerySet[Customer] | None) -> HopReport:
    rows = period_rows(period, buyers).filter(sell_currency=currency).order_by()
    grouped = rows.values("customer_id").annotate(
        revenue=money_sum("sell_amount"),
        cost=money_sum(cost_in_sell_currency()),
        n=Coalesce(Sum("requests"), 0),
        t=Coalesce(Sum(F("prompt_tokens") + F("completion_tokens")), 0),
    )
    by_buyer = {r["customer_id"]: r for r in grouped}
    commissions = _commissions(period, currency, buyers)
    customers = Customer.objects.filter(pk__in=set(by_buyer) | set(commissions))
    hops = []
    for buyer in customers.select_related("seller", "price_owner"):
        sums = by_buyer.get(buyer.pk, {})
        commission = commissions.get(buyer.pk, Decimal(0))
        hops.append(
            Hop(
                seller=buyer.seller,
                buyer=buyer,
                mode=hop_mode(buyer),
                revenue=sums.get("revenue", Decimal(0)),
                cost=sums.get("cost", Decimal(0)) + commission,
                commission=commission,
                requests=sums.get("n", 0),
                tokens=sums.get("t", 0),
            )
        )
    hops.sort(key=lambda h: (h.seller.path if h.seller else "", h.buyer.path))
    return HopReport(period=period, currency=currency, hops=hops, missing_fx=fx_missing(rows))


def hops_sorted(hops: list[Hop], order: str) -> list[Hop]:
    """``hops`` sorted by a column of ``SORTS`` ("-revenue": descending); unknown: as given."""
    name = order.lstrip("-")
    if name not in SORTS:
        return hops
    keys = {
        "seller": lambda h: (h.seller.name if h.seller else "").lower(),
        "buyer": lambda h: h.buyer.name.lower(),
        "mode": lambda h: h.mode,
    }
    key = keys.get(name, lambda h: getattr(h, name))
    return sorted(hops, key=key, reverse=order.startswith("-"))


def hop_by_model(period: Period, currency: str, buyer: Customer) -> list[dict]:
    """One hop broken down by model: the buyer's rollups per model, with the agent's commission per
    model (from the commission rows) in ``commission`` and inside ``cost``."""
    rows = UsageDaily.objects.filter(
        customer=buyer, day__gte=period.start, day__lte=period.end, sell_currency=currency
    ).order_by()
    models = {
        r["model_id"]: r
        for r in rows.values("model_id", "model__name", "model__vendor__name").annotate(
            revenue=money_sum("sell_amount"),
            cost=money_sum(cost_in_sell_currency()),
            requests=Coalesce(Sum("requests"), 0),
            tokens=Coalesce(Sum(F("prompt_tokens") + F("completion_tokens")), 0),
        )
    }
    commission: dict[int, Decimal] = defaultdict(Decimal)
    agent = agent_of(buyer)
    if agent is not None:
        start, end = period_instants(period)
        events = UsageEvent.objects.filter(
            customer_id=agent,
            occurred_at__gte=start,
            occurred_at__lt=end,
            rating_state=COMMISSION_STATE,
            sell_currency=currency,
            end_customer_id=buyer.pk,
        )
        for r in events.order_by().values("model_id").annotate(s=Sum("sell_amount")):
            commission[r["model_id"]] = r["s"] or Decimal(0)
    out = []
    for model_id, row in models.items():
        row["commission"] = commission.get(model_id, Decimal(0))
        row["cost"] += row["commission"]
        row["margin"] = row["revenue"] - row["cost"]
        out.append(row)
    return sorted(out, key=lambda r: (-r["revenue"], r["model__name"]))


def reported(amount: Decimal, currency: str, *, exact: bool = False) -> Decimal:
    """An amount as the report writes it: rounded once, half up, to ``currency``'s minor unit
    (``billing.money.quantize_money``); ``exact``: at the ledger's precision (12 places, half even), with
    trailing zeros dropped down to the minor unit."""
    if not exact:
        return quantize_money(amount, currency)
    value = ledger_round(amount).normalize()
    places = currency_exponent(currency)
    return value if -value.as_tuple().exponent >= places else quantize_money(value, currency)


def hop_record(hop: Hop, currency: str, *, exact: bool = False) -> dict:
    """A hop as the CSV and JSON write it (``FIELDS``), amounts as ``Decimal``. Rounded, the margin is the
    rounded revenue less the rounded cost, so each row adds up as printed; exact, every amount is exact."""
    revenue, cost = reported(hop.revenue, currency, exact=exact), reported(hop.cost, currency, exact=exact)
    return {
        "seller": hop.seller_code,
        "buyer": hop.buyer.code,
        "mode": hop.mode,
        "revenue": revenue,
        "cost": cost,
        "margin": reported(hop.margin, currency, exact=True) if exact else revenue - cost,
        "requests": hop.requests,
        "tokens": hop.tokens,
    }


def report_csv_rows(report: HopReport, *, exact: bool = False):
    """The report as CSV rows (header first) for ``common.csv_export``: amounts stay numbers."""
    yield FIELDS
    for hop in report.hops:
        record = hop_record(hop, report.currency, exact=exact)
        yield [record[name] for name in FIELDS]


def report_json(report: HopReport, *, exact: bool = False) -> list[dict]:
    """The report as JSON-ready records: amounts as decimal strings, counts as integers."""
    records = []
    for hop in report.hops:
        record = hop_record(hop, report.currency, exact=exact)
        records.append({k: format(v, "f") if isinstance(v, Decimal) else v for k, v in record.items()})
    return records
