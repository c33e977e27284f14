"""Agency commission statements: what an agent earned in a month, read from the ledger, and who it came from.

An agency sub-distributor A (``accounts.chain``) earns a commission on every request of its customers:
usage rating stores it as a derived usage row (``rating_state`` "commission", customer A, ``end_customer`` C,
``sell_amount`` = the commission) and usage posting accrues it per batch as Dr COMMISSION_EXPENSE /
Cr COMMISSION_PAYABLE (customer A) in the book of A's seller. The statement's money comes from that payable
account only, by ``effective_date``: opening balance, net accrual of the month (re-rating corrections
included), settlements (``billing.chain.commission_settle``) and closing balance, so statement = ledger.
The lines per end customer and model come from the commission rows and the end customers' own (hop 0)
rows of the month, by ``occurred_at`` in the operator's time zone; they explain the accrual and may differ
from it by what a batch posted in another month (a late batch, a re-rating) and by rounding.

Be careful changing this module: an issued statement is a document the agent keeps; re-running a month
must give the same figures unless the ledger changed, in which case the statement says so (``revision``).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import Customer
from billing.chain.models import CommissionStatement
from billing.invoicing.periods import Period
from billing.ledger.accounts import account_code
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.money import quantize_money
from billing.usage.models import UsageEvent
from catalog.models import AIModel

# Kinds of the transactions that pay a commission out (commission_settle); every other movement on the
# payable is accrual (usage batches, re-rating corrections).
SETTLEMENT_KIND_PREFIX = "commission.settle."
COMMISSION_STATE = "commission"


@dataclass
class CommissionFigures:
    """An agent's payable in one currency over one period, from the ledger (major units, full precision)."""

    opening: Decimal = Decimal(0)
    accrued: Decimal = Decimal(0)
    settled: Decimal = Decimal(0)
    lines: list[dict] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        return self.opening + self.accrued - self.settled


def agents() -> list[Customer]:
    """Every agency sub-distributor, by name."""
    return list(
        Customer.objects.filter(
            kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.AGENCY
        ).order_by("name")
    )


def payable_account(agent: Customer, currency: str) -> LedgerAccount | None:
    """The agent's commission payable in ``currency``, kept in its seller's book, if it exists yet."""
    code = account_code(kind=AccountKind.COMMISSION_PAYABLE, currency=currency, customer=agent)
    return LedgerAccount.objects.filter(code=code).first()


def payable_currencies(agent: Customer) -> list[str]:
    """The currencies the agent has ever been owed a commission in (in its seller's book)."""
    return sorted(
        LedgerAccount.objects.filter(
            kind=AccountKind.COMMISSION_PAYABLE, customer=agent, book_id=agent.seller_id
        ).values_list("currency", flat=True)
    )


def payable_outstanding(agent: Customer, currency: str) -> Decimal:
    """What the agent is owed now in ``currency`` (the payable is credit-normal: its balance is negative)."""
    account = payable_account(agent, currency)
    return -account.balance if account is not None else Decimal(0)


def figures_from_ledger(agent: Customer, currency: str, period: Period) -> CommissionFigures:
    """Opening, accrued and settled from the payable's entries dated up to the period's end."""
    figures = CommissionFigures()
    account = payable_account(agent, currency)
    if account is None:
        return figures
    entries = JournalEntry.objects.filter(account=account, transaction__effective_date__lte=period.end)
    settlement = Q(transaction__kind__startswith=SETTLEMENT_KIND_PREFIX)
    before = Q(transaction__effective_date__lt=period.start)
    sums = entries.aggregate(
        before=Sum("amount", filter=before),
        accrued=Sum("amount", filter=~before & ~settlement),
        settled=Sum("amount", filter=~before & settlement),
    )
    # Credit-normal: a credit (negative amount) raises what is owed.
    figures.opening = -(sums["before"] or Decimal(0))
    figures.accrued = -(sums["accrued"] or Decimal(0))
    figures.settled = sums["settled"] or Decimal(0)
    return figures


def month_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period's first instant and the next period's, in the operator's time zone."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(period.start, time.min, tzinfo=zone)
    end = datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def commission_lines(agent: Customer, currency: str, period: Period) -> list[dict]:
    """Per end customer and model: requests, retail revenue and commission of the month (full precision)."""
    start, end = month_bounds(period)
    in_month = Q(occurred_at__gte=start, occurred_at__lt=end)
    commissions = (
        UsageEvent.objects.filter(
            in_month, customer_id=agent.pk, rating_state=COMMISSION_STATE, sell_currency=currency
        )
        .values("end_customer_id", "model_id")
        .annotate(requests=Count("id"), commission=Sum("sell_amount"))
    )
    rows: dict[tuple[int, int | None], dict] = {}
    for row in commissions:
        rows[(row["end_customer_id"], row["model_id"])] = {
            "requests": row["requests"],
            "commission": row["commission"] or Decimal(0),
            "revenue": Decimal(0),
        }
    customer_ids = {customer_id for customer_id, _model in rows}
    # The buyer's rated rows are its purchases at the agent's retail plan, the retail revenue: an end
    # customer's own events (hop 0), a resale sub-distributor's own events and its purchases of its
    # customers' (hop 1…). An agency buying at the agent's plan buys nothing itself: no revenue shown.
    retail = (
        UsageEvent.objects.filter(
            in_month, customer_id__in=customer_ids, rating_state="rated", sell_currency=currency
        )
        .values("customer_id", "model_id")
        .annotate(revenue=Sum("sell_amount"))
    )
    for row in retail:
        line = rows.get((row["customer_id"], row["model_id"]))
        if line is not None:
            line["revenue"] = row["revenue"] or Decimal(0)
    names = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "name"))
    codes = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "code"))
    model_ids = {model_id for _customer, model_id in rows if model_id}
    models = dict(AIModel.objects.filter(pk__in=model_ids).values_list("pk", "name"))
    lines = [
        {
            "customer_id": customer_id,
            "customer": names.get(customer_id, ""),
            "customer_code": codes.get(customer_id, ""),
            "model": models.get(model_id, ""),
            "requests": line["requests"],
            "revenue": str(line["revenue"]),
            "commission": str(line["commission"]),
        }
        for (customer_id, model_id), line in rows.items()
    ]
    return sorted(lines, key=lambda line: (line["customer"], line["customer_id"], line["model"]))


def line_totals(lines: list[dict]) -> dict:
    """The lines' requests, retail revenue and commission summed (full precision)."""
    totals: dict = defaultdict(Decimal)
    for line in lines:
        totals["requests"] += line["requests"]
        totals["revenue"] += Decimal(line["revenue"])
        totals["commission"] += Decimal(line["commission"])
    return {
        "requests": int(totals["requests"]),
        "revenue": totals["revenue"],
        "commission": totals["commission"],
    }


def statement_number(agent: Customer, period: Period, currency: str) -> str:
    return f"COM-{period.label}-{agent.code}-{currency}"


def commission_statement_issue(agent: Customer, period: Period, currency: str) -> CommissionStatement | None:
    """Issue (or bring up to date) ``agent``'s statement for ``period`` in ``currency``; return it, or None
    when the agent had no payable and no commission at all up to the period's end.

    Idempotent: a second run with an unchanged ledger changes nothing; a run after the ledger moved (a late
    batch, a settlement dated in the month) rewrites the figures and raises ``revision``.
    """
    figures = figures_from_ledger(agent, currency, period)
    lines = commission_lines(agent, currency, period)
    if not lines and not (figures.opening or figures.accrued or figures.settled):
        return None
    values = {
        "book_id": agent.seller_id,
        "period_start": period.start,
        "period_end": period.end,
        "opening": quantize_money(figures.opening, currency),
        "accrued": quantize_money(figures.accrued, currency),
        "settled": quantize_money(figures.settled, currency),
        "closing": quantize_money(figures.closing, currency),
        "basis": agent.commission_basis,
        "rate": agent.commission_rate if agent.commission_basis == Customer.CommissionBasis.PERCENT else None,
        "lines": lines,
    }
    with transaction.atomic():
        statement, created = CommissionStatement.objects.select_for_update().get_or_create(
            agent=agent,
            period=period.label,
            currency=currency,
            defaults={**values, "number": statement_number(agent, period, currency)},
        )
        if created:
            return statement
        # The stored lines went through JSON: compare them as stored, not as freshly computed objects.
        changed = [
            name for name, value in values.items() if name != "lines" and getattr(statement, name) != value
        ]
        if statement.lines != lines:
            changed.append("lines")
        if changed:
            for name in changed:
                setattr(statement, name, values[name])
            statement.revision += 1
            statement.save(update_fields=[*changed, "revision", "updated_at"])
    return statement


def commission_statements_issue(
    period: Period, *, agent: Customer | None = None
) -> list[CommissionStatement]:
    """Issue every agent's statements for ``period`` (each currency it has a payable in); safe to re-run."""
    statements = []
    for each in [agent] if agent is not None else agents():
        currencies = set(payable_currencies(each))
        start, end = month_bounds(period)
        currencies |= set(
            UsageEvent.objects.filter(
                customer_id=each.pk,
                rating_state=COMMISSION_STATE,
                occurred_at__gte=start,
                occurred_at__lt=end,
            )
            .values_list("sell_currency", flat=True)
            .distinct()
        )
        for currency in sorted(currencies):
            statement = commission_statement_issue(each, period, currency)
            if statement is not None:
                statements.append(statement)
    return statements


def statement_lines(statement: CommissionStatement) -> list[dict]:
    """The stored lines with their amounts as Decimal, for pages and the PDF."""
    return [
        {**line, "revenue": Decimal(line["revenue"]), "commission": Decimal(line["commission"])}
        for line in statement.lines
    ]


def settlements_of(statement: CommissionStatement):
    """The settlements dated in the statement's month, in its currency (what its ``settled`` sums)."""
    return statement.agent.commission_settlements.filter(
        currency=statement.currency,
        settled_on__gte=statement.period_start,
        settled_on__lte=statement.period_end,
    ).order_by("settled_on", "id")
