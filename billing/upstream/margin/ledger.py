"""The report's figures beside the operator's books: usage revenue and cost of tokens posted in the period.

The rollups count usage on the day it *happened*; the ledger on the day it was *posted* (a batch that
arrives after the month ends is posted in the next one), and the ledger also holds what no rollup has:
credit notes and invoice adjustments that reverse usage revenue, the upstream side's pack adjustments and
rebates on cost of tokens, expired upstream credit and commitment shortfalls. So the comparison is made
per currency, with the ledger's side split by the kind of journal transaction, to show what a difference
is made of. Both sides cover the operator's book (``book`` None) and every sale in it, whatever filter the
report has.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from billing.ledger.models import AccountKind, JournalEntry
from billing.money import quantize_money
from billing.upstream.margin.selectors import Scope, scope_rows
from billing.usage.selectors import money_sum

TRANSACTION_LABELS = {
    "usage.accrual": _("Usage on credit terms (accrued for the invoice)"),
    "usage.prepaid": _("Usage charged to prepaid wallets"),
    "usage.cost": _("Cost of usage charged nothing (covered by allowances)"),
    "usage.correction": _("Re-rating corrections"),
    "credit_note.issue": _("Credit notes"),
    "invoice.issue": _("Invoice adjustments (usage re-billed)"),
    "upstream.pack.draw": _("Packs bought below or above contract cost"),
    "upstream.tier.rebate": _("Volume tier rebates"),
    "upstream.bill.usage": _("Vendor invoices differing from the accrued cost"),
    "upstream.bill.commitment": _("Commitment shortfall invoiced"),
    "upstream.pack.expiry": _("Expired upstream credit"),
}
USAGE_PREFIX = "usage."
"""Transactions of this kind post the same rated usage the rollups sum (on its posting day)."""


@dataclass
class LedgerPart:
    kind: str
    amount: Decimal

    @property
    def label(self) -> str:
        return str(TRANSACTION_LABELS.get(self.kind, self.kind))

    @property
    def is_usage(self) -> bool:
        return self.kind.startswith(USAGE_PREFIX)


@dataclass
class CurrencyCheck:
    """One currency: the rollups' sum against the ledger's, and the ledger's by transaction kind."""

    currency: str
    rollups: Decimal = Decimal(0)
    parts: list[LedgerPart] = field(default_factory=list)

    @property
    def ledger(self) -> Decimal:
        return sum((p.amount for p in self.parts), Decimal(0))

    @property
    def difference(self) -> Decimal:
        """Ledger less rollups: what the books hold that the usage of the period does not (or lacks)."""
        return self.ledger - self.rollups

    @property
    def agrees(self) -> bool:
        """Equal once both are rounded to the currency's minor unit (the ledger keeps 12 places)."""
        return quantize_money(self.difference, self.currency) == 0


@dataclass
class LedgerComparison:
    start: date
    end: date
    revenue: list[CurrencyCheck]
    cost: list[CurrencyCheck]
    other_cost: list[tuple[str, str, Decimal]]
    """Upstream expense the rollups never carry: (account kind label, currency, amount)."""


def _ledger_sums(kind: str, start: date, end: date, *, credit_normal: bool) -> dict[str, list[LedgerPart]]:
    entries = JournalEntry.objects.filter(
        account__kind=kind,
        account__book__isnull=True,
        transaction__effective_date__gte=start,
        transaction__effective_date__lte=end,
    )
    sums = entries.order_by().values("currency", "transaction__kind").annotate(total=Sum("amount"))
    out: dict[str, list[LedgerPart]] = {}
    for row in sums.order_by("currency", "transaction__kind"):
        amount = -row["total"] if credit_normal else row["total"]
        out.setdefault(row["currency"], []).append(LedgerPart(row["transaction__kind"], amount))
    return out


def _checks(rollups: dict[str, Decimal], ledger: dict[str, list[LedgerPart]]) -> list[CurrencyCheck]:
    checks = []
    for currency in sorted(rollups.keys() | ledger.keys()):
        parts = sorted(ledger.get(currency, []), key=lambda p: (not p.is_usage, p.kind))
        checks.append(CurrencyCheck(currency, rollups.get(currency, Decimal(0)), parts))
    return checks


def ledger_comparison(start: date, end: date) -> LedgerComparison:
    """The operator book's usage revenue and cost of tokens posted from ``start`` to ``end`` (effective
    dates), each beside the same period's rollups of the operator's own sales."""
    rows = scope_rows(Scope(start=start, end=end)).order_by()
    revenue_rollups = {
        r["sell_currency"]: r["s"] for r in rows.values("sell_currency").annotate(s=money_sum("sell_amount"))
    }
    cost_rollups = {
        r["cost_currency"]: r["s"]
        for r in rows.exclude(cost_currency="").values("cost_currency").annotate(s=money_sum("cost_amount"))
    }
    revenue = _ledger_sums(AccountKind.REVENUE_USAGE, start, end, credit_normal=True)
    cost = _ledger_sums(AccountKind.COST_OF_TOKENS, start, end, credit_normal=False)
    other = []
    for kind in (AccountKind.UPSTREAM_EXPIRED, AccountKind.COMMIT_SHORTFALL):
        for currency, parts in _ledger_sums(kind, start, end, credit_normal=False).items():
            other.append((str(AccountKind(kind).label), currency, sum((p.amount for p in parts), Decimal(0))))
    return LedgerComparison(
        start=start,
        end=end,
        revenue=_checks(revenue_rollups, revenue),
        cost=_checks(cost_rollups, cost),
        other_cost=other,
    )
