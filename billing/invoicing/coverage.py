"""Is every rated usage event accounted for? The reads behind ``manage.py billing_verify``.

Every rated event must be in exactly one of three places: a wallet debit (prepaid terms when it happened),
an invoice (credit terms, up to the last closed period), or the unbilled accrual of the open period (credit
terms, not invoiced yet). Each check compares, per customer and currency, what the usage says with what
the money side holds; a line per disagreement. Usage is read from the rollups (the raw events only for
switch hours and for what the last close could have seen), so the check is cheap enough for the test
suite to run after every money test.

Tolerances: usage batches and wallet parts are each rounded once to the ledger's 12 places, so a
comparison of their sum with the usage's may differ by half a ledger unit per posting — never more.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Customer
from billing.invoicing.close.measure import (
    Interval,
    credit_intervals,
    unbilled_relieved,
    usage_billed,
    usage_credit,
)
from billing.invoicing.models import Invoice, InvoiceLine, PeriodClose
from billing.invoicing.periods import period_parse
from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount
from billing.ledger.verify import sums_in_python
from billing.money import LEDGER_QUANTUM, ledger_round, quantize_money
from billing.terms.models import BillingTerms
from billing.usage.models import RatingState, UsageDaily, UsageEvent
from common.days import local_midnight

ZERO = Decimal("0")
BATCH_SOURCE = "usage_batch:"  # the ``source`` of every usage posting (``billing.usage.postings``)


def _tolerance(postings: int) -> Decimal:
    # SQLite sums decimals as floats (``billing.ledger.verify.sums_in_python``): allow its noise there.
    slack = Decimal("1e-9") if sums_in_python() else ZERO
    return LEDGER_QUANTUM * postings / 2 + slack


def _name(customers: dict[int, str], cid: int) -> str:
    return f"{customers.get(cid, '?')} (#{cid})"


def _amount(value) -> str:
    """An amount at the ledger's places, written out the same on every database (no 0E-12, no 7)."""
    return format(ledger_round(Decimal(value)), "f")


def _sales(customer_ids: list[int], intervals: dict[int, list[Interval]]) -> tuple[dict, dict]:
    """All rated sales per (customer, currency), and the credit-time ones per (customer, model, currency)."""
    total: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for cid, ccy, amount in (
        UsageDaily.objects.filter(customer_id__in=customer_ids)
        .values("customer_id", "sell_currency")
        .annotate(amount=Sum("sell_amount"))
        .values_list("customer_id", "sell_currency", "amount")
    ):
        total[(cid, ccy)] += amount or ZERO
    credit = usage_credit(intervals, low=None, high=None)
    return total, {key: Decimal(sums["amount"] or ZERO) for key, sums in credit.items()}


def _per_currency(per_model: dict[tuple[int, int, str], Decimal], *, rounded: bool) -> dict:
    out: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for (cid, _model, ccy), amount in per_model.items():
        out[(cid, ccy)] += ledger_round(amount) if rounded else amount
    return out


def _wallet_problems(total: dict, credit: dict, names: dict) -> list[str]:
    """Prepaid-time sales against the wallet debits of the usage batches that charged them (a wallet
    debit posted by other means, such as a manual charge, stands behind no usage event)."""
    debited = {
        (r["account__customer_id"], r["currency"]): (r["amount"] or ZERO, r["n"])
        for r in JournalEntry.objects.filter(
            transaction__kind="usage.prepaid",
            transaction__source__startswith=BATCH_SOURCE,
            account__kind__in=WALLET_KINDS,
        )
        .values("account__customer_id", "currency")
        .annotate(amount=Sum("amount"), n=Count("transaction", distinct=True))
    }
    credit_sales = _per_currency(credit, rounded=False)
    problems = []
    for key in sorted(total.keys() | debited.keys()):
        prepaid = total.get(key, ZERO) - credit_sales.get(key, ZERO)
        amount, n = debited.get(key, (ZERO, 0))
        if abs(prepaid - amount) > _tolerance(n + 1):
            cid, ccy = key
            problems.append(
                f"{_name(names, cid)} {ccy}: prepaid-time usage sold {_amount(prepaid)} but usage"
                f" debits took {_amount(amount)} from the wallet"
            )
    return problems


def _unbilled_problems(credit: dict, names: dict) -> list[str]:
    """Each unbilled accrual against the credit-time usage no posted invoice relieved yet."""
    accounts = {
        (a.customer_id, a.currency): a
        for a in LedgerAccount.objects.filter(kind=AccountKind.UNBILLED_RECEIVABLE, customer__isnull=False)
    }
    usage = _per_currency(credit, rounded=True)
    keys = sorted(usage.keys() | accounts.keys())
    relieved = unbilled_relieved(sorted({cid for cid, _ccy in keys}))
    entries = dict(
        JournalEntry.objects.filter(account__in=list(accounts.values()))
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    problems = []
    for key in keys:
        account = accounts.get(key)
        balance = account.balance if account else ZERO
        expected = usage.get(key, ZERO) - relieved.get(key, ZERO)
        if abs(balance - expected) > _tolerance(entries.get(account.pk, 0) if account else 0):
            cid, ccy = key
            problems.append(
                f"{_name(names, cid)} {ccy}: unbilled holds {_amount(balance)} but the credit-time usage"
                f" not yet invoiced is {_amount(expected)}"
            )
    return problems


def _last_closes(cids: list[int], quarterly: set[int]) -> dict[PeriodClose, list[int]]:
    """The latest done close of each customer's cadence (a month or quarter close) that covered it — one of
    every book, or of its seller's book only (``close_period(book=)``) — with the customers it is theirs."""
    latest: dict[tuple[bool, object], PeriodClose] = {}
    for close in PeriodClose.objects.filter(state=PeriodClose.State.DONE).order_by("period_end", "pk"):
        latest["Q" in close.period, "all" if close.all_books else close.book_id] = close
    sellers = dict(Customer.objects.filter(pk__in=cids).values_list("pk", "seller_id"))
    out: dict[PeriodClose, list[int]] = defaultdict(list)
    for cid in cids:
        is_quarter = cid in quarterly
        found = [c for c in (latest.get((is_quarter, "all")), latest.get((is_quarter, sellers[cid]))) if c]
        if found:
            out[max(found, key=lambda c: (c.period_end, c.pk))].append(cid)
    return out


def _voided_since(customer_ids: list[int], close: PeriodClose) -> dict[tuple[int, int, str], Decimal]:
    """Usage lines of invoices voided after ``close`` began: the next close bills them again, so until
    then the open period accounts for them. (An issued invoice is voided by a credit note, read here
    through the relation's name: receivables stands above invoicing and is never imported.)"""
    voided = Q(
        invoice__journal_transaction__isnull=True,
        invoice__issue_date__gte=timezone.localdate(close.started_at),
    ) | Q(invoice__credit_notes__voids_invoice=True, invoice__credit_notes__created_at__gte=close.started_at)
    rows = (
        InvoiceLine.objects.filter(
            voided,
            invoice__customer_id__in=customer_ids,
            invoice__status=Invoice.Status.VOID,
            invoice__period_end__lte=close.period_end,
            kind=InvoiceLine.Kind.USAGE,
        )
        .values("invoice__customer_id", "ai_model_id", "invoice__currency")
        .annotate(amount=Sum("amount_exact"))
        .order_by()
    )
    return {
        (r["invoice__customer_id"], r["ai_model_id"], r["invoice__currency"]): r["amount"] or ZERO
        for r in rows
    }


def _invoice_problems(intervals: dict[int, list[Interval]], names: dict) -> list[str]:
    """Credit-time usage up to the last closed period, charged before that close began, against the usage
    lines invoiced for it: the close must have billed all of it (later deliveries wait for the next)."""
    quarterly = set(
        BillingTerms.objects.filter(mode=BillingTerms.Mode.QUARTERLY).values_list("customer_id", flat=True)
    )
    closes = _last_closes([c for c, ivs in intervals.items() if ivs], quarterly)
    problems = []
    for close, cids in sorted(closes.items(), key=lambda item: item[0].pk):
        end = local_midnight(close.period_end + timedelta(days=1))
        within = Q(pk__in=[])
        for cid in cids:
            for since, until in intervals[cid]:
                q = Q(customer_id=cid, occurred_at__lt=min(until, end) if until else end)
                within |= q & Q(occurred_at__gte=since) if since else q
        rows = (
            UsageEvent.objects.filter(within, rating_state=RatingState.RATED)
            .filter(Q(rated_in__created_at__lt=close.started_at) | Q(rated_in__isnull=True))
            .values("customer_id", "model_id", "sell_currency")
            .annotate(amount=Sum("sell_amount"))
            .order_by()
        )
        billed = usage_billed(cids, period_parse(close.period))
        pending = _voided_since(cids, close)
        short: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for r in rows:
            key = (r["customer_id"], r["model_id"], r["sell_currency"])
            before = billed.get(key, {}).get("amount", ZERO) + pending.get(key, ZERO)
            short[(key[0], key[2])] += quantize_money(ledger_round(r["amount"] or ZERO) - before, key[2])
        for (cid, ccy), amount in sorted(short.items()):
            if amount > 0:
                problems.append(
                    f"{_name(names, cid)} {ccy}: {amount} of credit-time usage up to"
                    f" {close.period_end} is on no invoice although {close.period} is closed"
                )
    return problems


def _batch_problems() -> list[str]:
    """Rated events with a sale whose batch posted nothing."""
    charged = (
        UsageEvent.objects.filter(rating_state=RatingState.RATED)
        .exclude(sell_amount=0)
        .annotate(charged_by=Coalesce("rated_in_id", "batch_id"))
        .values_list("charged_by", flat=True)
        .distinct()
    )
    posted = {
        int(source.removeprefix(BATCH_SOURCE))
        for source in JournalTransaction.objects.filter(source__startswith=BATCH_SOURCE).values_list(
            "source", flat=True
        )
    }
    missing = sorted(set(charged) - posted)
    if not missing:
        return []
    shown = ", ".join(str(b) for b in missing[:20]) + (" …" if len(missing) > 20 else "")
    return [f"{len(missing)} usage batch(es) rated events with a sale but posted nothing: {shown}"]


def usage_coverage_problems() -> list[str]:
    """A line per rated usage that no invoice, wallet debit or open period accounts for; empty: all is."""
    customer_ids = sorted(
        set(UsageDaily.objects.values_list("customer_id", flat=True).distinct())
        | set(
            LedgerAccount.objects.filter(
                kind=AccountKind.UNBILLED_RECEIVABLE, customer__isnull=False
            ).values_list("customer_id", flat=True)
        )
    )
    names = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "name"))
    intervals = credit_intervals(customer_ids)
    total, credit = _sales(customer_ids, intervals)
    return [
        *_wallet_problems(total, credit, names),
        *_unbilled_problems(credit, names),
        *_invoice_problems(intervals, names),
        *_batch_problems(),
    ]
