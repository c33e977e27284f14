"""One hop to a reseller split by the end customers whose traffic it carried (issue #17 item 6).

The hop operator → S is S's rated usage rows: its own requests (hop-0 rows of customer S) and one derived
row per request of its subtree (customer S, ``hop`` ≥ 1, ``end_customer`` = the hop-0 customer). Rollups
keep no end customer, so the split reads the period's events of S (the ``(customer, occurred_at)`` index)
grouped by ``coalesce(end_customer, customer)`` in one aggregate query. In a deeper tree S1 → S2 → C the
operator's hop to S1 is split by C, the customer who sent the request, never by S2.

Costs in another currency are converted at the rate of the event's day (operator's time zone), as the
rollups' are. An agent's commission on the hop (a commission row rides on S's purchase, not on one end
customer's) is not split: the rows sum to the hop's revenue, requests and tokens, and to its cost less
that commission.
"""

from django.db.models import Case, Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import Customer
from billing.chain.report import period_instants, reported
from billing.invoicing.periods import Period
from billing.usage.models import RatingState, UsageEvent
from billing.usage.selectors import money_sum
from catalog.models import FxRate

SORTS = ("name", "code", "revenue", "cost", "margin", "requests", "tokens")
FIELDS = ("end_customer", "name", "revenue", "cost", "margin", "requests", "tokens")
"""The columns of the split's CSV, in order."""
_RATE = DecimalField(max_digits=24, decimal_places=12)
_MONEY = DecimalField(max_digits=60, decimal_places=36)


def _cost_in_sell_currency() -> Case:
    """Per event: its cost in its sell currency at its ``day``'s rate (no cost book: 0; no rate: NULL)."""
    rates = FxRate.objects.filter(
        base=OuterRef("cost_currency"), quote=OuterRef("sell_currency"), date__lte=OuterRef("day")
    ).order_by("-date")
    return Case(
        When(Q(cost_currency=F("sell_currency")) | Q(cost_currency=""), then=F("cost_amount")),
        default=F("cost_amount") * Subquery(rates.values("rate")[:1], output_field=_RATE),
        output_field=_MONEY,
    )


def hop_by_end_customer(period: Period, currency: str, buyer: Customer, order: str = "") -> QuerySet:
    """The hop selling to ``buyer`` in ``period`` and ``currency``, one row per end customer: ``who`` (its
    id), ``name``, ``code``, ``revenue``, ``cost``, ``margin``, ``requests``, ``tokens`` (full precision),
    sorted by a column of ``SORTS`` ("-revenue": descending; default: most revenue first)."""
    start, end = period_instants(period)
    events = UsageEvent.objects.alias(day=TruncDate("occurred_at", tzinfo=timezone.get_default_timezone()))
    events = events.filter(
        customer=buyer,
        occurred_at__gte=start,
        occurred_at__lt=end,
        rating_state=RatingState.RATED,
        sell_currency=currency,
    )
    customer = Customer.objects.filter(pk=OuterRef("who"))
    rows = (
        events.order_by()
        .values(who=Coalesce("end_customer_id", "customer_id"))
        .annotate(
            revenue=money_sum("sell_amount"),
            cost=money_sum(_cost_in_sell_currency()),
            requests=Count("pk"),
            tokens=Coalesce(Sum(F("prompt_tokens") + F("completion_tokens")), 0),
        )
        .annotate(
            margin=F("revenue") - F("cost"),
            name=Subquery(customer.values("name")[:1]),
            code=Subquery(customer.values("code")[:1]),
        )
    )
    name = order.lstrip("-")
    if name not in SORTS:
        return rows.order_by("-revenue", "code")
    return rows.order_by(f"-{name}" if order.startswith("-") else name, "code")


def split_csv_rows(rows, currency: str):
    """The split as CSV rows (header first) for ``common.csv_export``: each amount rounded once to the
    currency's minor unit, the margin as the rounded revenue less the rounded cost so a row adds up."""
    yield FIELDS
    for row in rows:
        revenue, cost = reported(row["revenue"], currency), reported(row["cost"], currency)
        yield [row["code"], row["name"], revenue, cost, revenue - cost, row["requests"], row["tokens"]]
