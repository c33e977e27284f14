"""Month-end revaluation of foreign-currency receivables, customer deposits and payables.

The ledger keeps each account in its own currency. Its *carried* base value is every entry at the rate of
its own date, plus the realised FX already posted for it (``FxRealisation`` for receivables; for payables
the vendor payments' entries on FX_REVALUATION_PAYABLE sourced ``fx.realised:payable:<code>``); at the
month-end rate it is worth ``balance × rate``. The difference is unrealised gain or loss: one base-currency
transaction per account and month (Dr/Cr the kind's FX revaluation account against unrealised FX
gain/loss), dated the month end and reversed on the 1st of the next month, so each month starts again from
carried values.

Be careful changing how the carried value is computed: the reversal of last month assumes this month
recomputes from history, so a change here changes what every future month reports.

Books (``accounts.chain``): each account is revalued in its own book, against that book's FX accounts, so
every book (the operator's and each reseller's) stays balanced on its own.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.fx.accounts import ADJUSTMENT_KIND, adjustment_account, unrealised_account
from billing.fx.models import FxRealisation, FxRevaluation
from billing.fx.rates import BaseRates
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post, transaction_reverse
from billing.money import quantize_money
from common.stored_text import day, money, stored

# The source of the realised FX a vendor payment posts for a foreign payable, followed by its code.
PAYABLE_REALISED = "fx.realised:payable:"


@dataclass(frozen=True)
class _Plan:
    account: LedgerAccount
    balance: Decimal
    rate: Decimal
    carried_base: Decimal
    difference: Decimal


def month_end_check(month_end: date) -> None:
    """Refuse a date that is not the last day of a month that has ended."""
    last = calendar.monthrange(month_end.year, month_end.month)[1]
    if month_end.day != last:
        raise ValidationError({"month_end": _("%(date)s is not a month end.") % {"date": month_end}})
    if month_end >= timezone.localdate():
        raise ValidationError({"month_end": _("A month is revalued only after it has ended.")})


def revalued_accounts(rates: BaseRates):
    return (
        LedgerAccount.objects.filter(kind__in=list(ADJUSTMENT_KIND))
        .exclude(currency=rates.base)
        .select_related("book")
    )


def _plans(month_end: date, rates: BaseRates) -> list[_Plan]:
    accounts = {a.pk: a for a in revalued_accounts(rates)}
    done = set(FxRevaluation.objects.filter(month_end=month_end).values_list("account_id", flat=True))
    balances: dict[int, Decimal] = {}
    carried: dict[int, Decimal] = {}
    by_day = (
        JournalEntry.objects.filter(account_id__in=accounts, transaction__effective_date__lte=month_end)
        .values("account_id", "transaction__effective_date")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in by_day:
        pk, total = row["account_id"], row["total"]
        balances[pk] = balances.get(pk, Decimal(0)) + total
        rate = rates.rate(accounts[pk].currency, row["transaction__effective_date"])
        carried[pk] = carried.get(pk, Decimal(0)) + total * (rate or 0)
    realised = (
        FxRealisation.objects.filter(account_id__in=accounts, effective_date__lte=month_end)
        .values("account_id")
        .annotate(total=Sum("base_amount"))
        .order_by()
    )
    for row in realised:
        carried[row["account_id"]] = carried.get(row["account_id"], Decimal(0)) + row["total"]
    for pk, total in _payables_realised(accounts, month_end).items():
        carried[pk] = carried.get(pk, Decimal(0)) + total
    plans = []
    for pk in sorted(set(balances) | set(carried)):
        if pk in done:
            continue
        account = accounts[pk]
        rate = rates.rate(account.currency, month_end)
        if rate is None:
            continue
        balance = balances.get(pk, Decimal(0))
        difference = quantize_money(balance * rate - carried.get(pk, Decimal(0)), rates.base)
        if difference:
            plans.append(_Plan(account, balance, rate, carried.get(pk, Decimal(0)), difference))
    return plans


def _payables_realised(accounts: dict[int, LedgerAccount], month_end: date) -> dict[int, Decimal]:
    """Payable account id → the realised FX posted for it until ``month_end`` (base currency).

    Vendor payments (``billing.upstream.vendor_payments``) post it on the payables' FX revaluation account
    with the source ``fx.realised:payable:<the payable's code>``, not as an ``FxRealisation``."""
    payables = {a.code: pk for pk, a in accounts.items() if a.kind == AccountKind.PAYABLE}
    if not payables:
        return {}
    rows = (
        JournalEntry.objects.filter(
            account__kind=AccountKind.FX_REVALUATION_PAYABLE,
            transaction__source__in=[f"{PAYABLE_REALISED}{code}" for code in payables],
            transaction__effective_date__lte=month_end,
        )
        .values("transaction__source")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {payables[r["transaction__source"].removeprefix(PAYABLE_REALISED)]: r["total"] for r in rows}


def fx_revaluation_run(*, month_end: date) -> list[FxRevaluation]:
    """Revalue every foreign-currency receivable, deposit and payable at ``month_end``; return new rows.

    Posts, per account with a difference, the revaluation dated ``month_end`` and its reversal dated the
    next day. All or nothing: a missing rate raises ``FxRatesMissing`` naming every pair and date before
    anything is posted. Re-running a month posts nothing twice (one row and one ledger key per account ×
    month).
    """
    month_end_check(month_end)
    rates = BaseRates()
    plans = _plans(month_end, rates)
    rates.raise_if_missing()
    with transaction.atomic(durable=True):
        return [_post(plan, month_end, rates.base) for plan in plans]


def _post(plan: _Plan, month_end: date, base: str) -> FxRevaluation:
    account, difference = plan.account, plan.difference
    adjustment, unrealised = adjustment_account(account.kind, account.book), unrealised_account(account.book)
    lines = (
        [debit(adjustment, difference, base), credit(unrealised, difference, base)]
        if difference > 0
        else [credit(adjustment, -difference, base), debit(unrealised, -difference, base)]
    )
    month = f"{month_end:%Y-%m}"
    posted = transaction_post(
        idempotency_key=f"fx.revaluation:{account.code}:{month}",
        kind="fx.revaluation",
        lines=lines,
        memo=f"FX revaluation of {account.code}: {plan.balance} at {plan.rate} on {month_end}",
        memo_message=stored(
            "fx.memo.revaluation",
            account=account.code,
            balance=money(plan.balance, account.currency),
            rate=str(plan.rate),
            day=day(month_end),
        ),
        source=f"fx_revaluation:{account.code}:{month}",
        effective_date=month_end,
    )
    reversal = transaction_reverse(
        original=posted,
        idempotency_key=f"fx.revaluation.reversal:{account.code}:{month}",
        memo=f"Reversal of the {month} FX revaluation of {account.code}",
        memo_message=stored("fx.memo.revaluation_reversal", month=month, account=account.code),
        effective_date=month_end + timedelta(days=1),
    )
    return FxRevaluation.objects.create(
        account=account,
        month_end=month_end,
        balance=plan.balance,
        rate=plan.rate,
        carried_base=plan.carried_base,
        difference=difference,
        journal_transaction=posted,
        reversal_transaction=reversal,
    )
