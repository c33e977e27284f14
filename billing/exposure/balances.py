"""The working-capital figures read from the ledger: one definition of each, for every page and job.

Funded float (垫资, DESIGN.md §9) = upstream prepaid unused + unbilled usage + receivables − customer
deposits − payables: the money the distributor has advanced, to vendors before customers consume and to
customers before they pay. Each term is the balance of some account kinds in the operator's book (a resale
sub-distributor's book is its own money, kept apart):

* ``cash``: bank and Stripe clearing;
* ``receivables``: customers' receivable accounts (net of unapplied payments) — invoices and opening items;
* ``unbilled``: usage of credit customers accrued, not yet invoiced;
* ``deposits``: what customers paid in advance and have not consumed — paid wallet credit and packs
  (granted credit is a promise, not money received, so it is left out);
* ``upstream_prepaid``: prepayments and packs bought from vendors, unused;
* ``payables``: vendor bills not yet paid, and upstream cost accrued before the vendor invoices it;
* ``allowance``: the allowance for doubtful debts (expected credit loss).

Balances are shown on their normal side (a deposit or a payable is positive). ``day`` None reads the
cached account balances (now); a date sums the entries of transactions effective by then, so a past date
reproduces that day from the ledger.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from billing.ledger.models import AccountKind as K
from billing.ledger.models import JournalEntry, LedgerAccount

ZERO = Decimal("0")

FIGURE_KINDS: dict[str, tuple[str, ...]] = {
    "cash": (K.CASH_BANK, K.STRIPE_CLEARING),
    "receivables": (K.RECEIVABLE,),
    "unbilled": (K.UNBILLED_RECEIVABLE,),
    "deposits": (K.WALLET_PAID, K.WALLET_PACK),
    "upstream_prepaid": (K.UPSTREAM_PREPAID,),
    "payables": (K.PAYABLE, K.UPSTREAM_ACCRUED),
    "allowance": (K.ALLOWANCE_DOUBTFUL,),
}
# Figures whose accounts are credit-normal: their balances are flipped to read positive.
CREDIT_NORMAL = frozenset({"deposits", "payables", "allowance"})
_FIGURE_OF = {kind: name for name, kinds in FIGURE_KINDS.items() for kind in kinds}


def kind_balances(day: date | None = None, *, book_id: int | None = None) -> dict[tuple[str, str], Decimal]:
    """Debit-positive balances per (account kind, currency) of the figures' kinds in one book (None: the
    operator's), at the end of ``day`` (None: now)."""
    accounts = LedgerAccount.objects.filter(kind__in=list(_FIGURE_OF), book_id=book_id)
    if day is None:
        rows = accounts.order_by().values("kind", "currency").annotate(b=Sum("balance"))
    else:
        rows = (
            JournalEntry.objects.filter(account__in=accounts, transaction__effective_date__lte=day)
            .order_by()
            .values("account__kind", "account__currency")
            .annotate(b=Sum("amount"))
        )
    out: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        kind = row.get("kind") or row["account__kind"]
        currency = row.get("currency") or row["account__currency"]
        out[(kind, currency)] = out.get((kind, currency), ZERO) + (row["b"] or ZERO)
    return out


def figures_by_currency(
    day: date | None = None, *, book_id: int | None = None
) -> dict[str, dict[str, Decimal]]:
    """Per currency: every figure of ``FIGURE_KINDS`` on its normal side, and ``funded_float``."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(FIGURE_KINDS, ZERO))
    for (kind, currency), balance in kind_balances(day, book_id=book_id).items():
        name = _FIGURE_OF[kind]
        out[currency][name] += -balance if name in CREDIT_NORMAL else balance
    for figures in out.values():
        figures["funded_float"] = funded_float(figures)
    return dict(out)


def funded_float(figures: dict[str, Decimal]) -> Decimal:
    """Upstream prepaid unused + unbilled + receivables − customer deposits − payables."""
    return (
        figures["upstream_prepaid"]
        + figures["unbilled"]
        + figures["receivables"]
        - figures["deposits"]
        - figures["payables"]
    )
