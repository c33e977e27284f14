"""What a close's usage lines take out of the unbilled accrual: re-billed shares and the rounding trace.

Be extremely careful changing this: it decides which account an invoice's usage is credited to, and posted
history can only be corrected by reversal.

* **Re-billing a voided invoice.** Issuing an invoice relieved the unbilled accrual by its usage lines;
  voiding it issued a credit note that reversed the receivable against usage revenue. Its usage is billed
  again by the next close (``measure.usage_billed`` counts no void invoice), and that share of a line is
  marked ``details.rebilled``: it is credited to usage revenue, never to unbilled a second time.
* **The rounding trace.** Each usage batch is posted rounded to the ledger's 12 places, while a close
  relieves the usage summed over every batch, rounded once: the accrual and the usage differ by a trace
  (−3e-12 after a month of API batches). The close moves that trace to the rounding account in the
  invoice's own posting, so unbilled ends at exactly the credit usage still to invoice (zero when
  everything was invoiced). Only a trace is moved — at most half a ledger unit per posting the account
  ever took; anything larger is a real disagreement, left for ``billing_verify`` to report.
"""

import json
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count

from billing.invoicing.close.measure import ZERO, Interval, unbilled_relieved, usage_credit
from billing.invoicing.models import InvoiceLine
from billing.invoicing.periods import Period
from billing.invoicing.services import BuiltLine
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.money import LEDGER_QUANTUM, ledger_round
from common.days import local_midnight


def rebill_mark(
    built_of: dict[tuple[int, str], list[BuiltLine]], billed: dict[tuple[int, int, str], dict]
) -> None:
    """Mark the share of each usage line that bills a voided issued invoice's usage again.

    ``relief - amount`` (``measure.usage_billed``) is what voided invoices took out of unbilled that no
    standing line has billed again; a line re-bills at most its own amount of it.
    """
    for (cid, ccy), lines in built_of.items():
        for ln in lines:
            before = billed.get((cid, ln.ai_model_id, ccy)) if ln.kind == InvoiceLine.Kind.USAGE else None
            if before is None or ln.amount_exact <= 0:
                continue
            outstanding = before["relief"] - before["amount"]
            if outstanding <= 0:
                continue
            details = ln.details if ln.details is not None else json.loads(ln.details_json)
            details["rebilled"] = str(min(outstanding, ln.amount_exact))
            ln.details = details
            ln.details_json = json.dumps(details, separators=(",", ":"))


def unbilled_accounts_lock(customer_ids: list[int]) -> dict[tuple[int, str], LedgerAccount]:
    """Lock the customers' unbilled accounts (id order, as every poster does) and return them by
    (customer, currency): from here until the chunk commits no usage batch of theirs posts, so the
    balances read and the usage measured agree."""
    return {
        (a.customer_id, a.currency): a
        for a in LedgerAccount.objects.select_for_update()
        .filter(kind=AccountKind.UNBILLED_RECEIVABLE, customer_id__in=customer_ids)
        .order_by("pk")
    }


def unbilled_residuals(
    *,
    issuing: list[tuple[int, str]],
    accounts: dict[tuple[int, str], LedgerAccount],
    cumulative: dict[tuple[int, int, str], dict],
    intervals: dict[int, list[Interval]],
    period: Period,
) -> dict[tuple[int, str], Decimal]:
    """Per (customer, currency) being invoiced: the unbilled balance minus the credit usage not yet
    invoiced (per model, rounded once, less what posted invoices relieved), when it is only a trace.

    ``cumulative`` is the credit usage up to the period's end (``measure.usage_cumulative``); the usage
    after it (already delivered for the next period) stays in unbilled and is added here.
    """
    issuing = [key for key in issuing if key in accounts]
    if not issuing:
        return {}
    cids = sorted({cid for cid, _ccy in issuing})
    after = usage_credit(
        {cid: intervals[cid] for cid in cids}, low=local_midnight(period.end + timedelta(days=1)), high=None
    )
    per_model: dict[tuple[int, int, str], Decimal] = {}
    for source in (cumulative, after):
        for key, sums in source.items():
            per_model[key] = per_model.get(key, ZERO) + (sums["amount"] or ZERO)
    usage: dict[tuple[int, str], Decimal] = {}
    for (cid, _model, ccy), amount in per_model.items():
        usage[(cid, ccy)] = usage.get((cid, ccy), ZERO) + ledger_round(Decimal(amount))
    relieved = unbilled_relieved(cids)
    postings = dict(
        JournalEntry.objects.filter(account_id__in=[accounts[k].pk for k in issuing])
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    out = {}
    for key in issuing:
        account = accounts[key]
        residual = account.balance - (usage.get(key, ZERO) - relieved.get(key, ZERO))
        if residual and abs(residual) * 2 <= LEDGER_QUANTUM * postings.get(account.pk, 0):
            out[key] = residual
    return out
