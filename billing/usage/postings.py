"""Post a batch's rated usage to the ledger: per batch × customer, never per request.

Prepaid customers: ``wallet_debit`` (burn-down through grants and packs, then paid credit) to usage
revenue, allowed below the floor because the usage already happened — the wallet is then suspended.
Credit-terms customers: Dr unbilled receivable / Cr usage revenue. Cost at contract price: Dr cost of
tokens / Cr upstream prepaid credit (or payable, ``USAGE_COST_CREDIT_KIND``) per vendor. For credit
customers sale and cost are one journal transaction; for prepaid ones the cost lines ride on the wallet
debit (``extra_lines``), so they are one journal transaction too (one per sell currency in the rare case
of several; the cost goes with the first). A batch's wallet debits and its other postings are written in
bulk (``wallets.debits_many.wallet_debits_many``, which posts the others with the debits): the same journal
transactions, a few statements instead of ~25 queries per customer. All run inside the batch's
database transaction, so a batch's postings commit with its events or not at all.

Be extremely careful changing the idempotency keys: they are what makes a redelivered batch post once.
"""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings

from accounts.models import Customer
from billing.ledger.accounts import account_code, account_get
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.ledger.services import Posting, credit, debit
from billing.money import ledger_round
from billing.terms.credit import credit_limit_watch
from billing.usage.models import UsageBatch
from billing.wallets.debits_many import WalletDebit, wallet_debits_many


def _cost_credit_kind() -> str:
    return getattr(settings, "USAGE_COST_CREDIT_KIND", AccountKind.UPSTREAM_PREPAID)


def _accounts_existing(*, sells: dict, costs: dict, customers: dict, vendors: dict) -> dict[str, object]:
    """The ledger accounts a batch's postings may use that exist already, by code, in one query."""
    kinds = (AccountKind.COST_OF_TOKENS, _cost_credit_kind())
    codes = {
        account_code(kind=AccountKind.REVENUE_USAGE, currency=ccy)
        for lines in sells.values()
        for ccy, _ in lines
    }
    codes |= {
        account_code(kind=AccountKind.UNBILLED_RECEIVABLE, currency=ccy, customer=customers[cid])
        for cid, lines in sells.items()
        for ccy, _ in lines
    }
    codes |= {
        account_code(kind=kind, currency=ccy, vendor=vendors[vendor_id])
        for lines in costs.values()
        for vendor_id, ccy, _ in lines
        for kind in kinds
    }
    return {a.code: a for a in LedgerAccount.objects.filter(code__in=codes)}


def sums_post(
    *,
    batch: UsageBatch,
    sell: dict[tuple[int, str], Decimal],
    cost: dict[tuple[int, int, str], Decimal],
    customers: dict[int, Customer],
    vendors: dict,
) -> list[JournalTransaction]:
    """Post per customer: ``sell`` by (customer, currency), ``cost`` by (customer, vendor, currency)."""
    debits, postings = [], []
    sells, costs = defaultdict(list), defaultdict(list)
    for (cid, currency), amount in sorted(sell.items()):
        sells[cid].append((currency, ledger_round(amount)))
    for (cid, vendor_id, currency), amount in sorted(cost.items()):
        costs[cid].append((vendor_id, currency, ledger_round(amount)))
    accounts = _accounts_existing(sells=sells, costs=costs, customers=customers, vendors=vendors)

    def account(kind: str, currency: str, **owner):
        """The account of (kind, currency, owner): read above in one query, created here if missing."""
        code = account_code(kind=kind, currency=currency, **owner)
        if code not in accounts:
            accounts[code] = account_get(kind=kind, currency=currency, **owner)
        return accounts[code]

    # Customers in id order, so the postings (and their ids) come in one order run after run.
    for customer_id in sorted(sells.keys() | costs.keys()):
        customer = customers[customer_id]
        terms = getattr(customer, "billing_terms", None)
        is_credit = terms is not None and terms.is_credit
        memo = f"Usage batch {batch.pk} ({batch.idempotency_key})"[:500]
        source = f"usage_batch:{batch.pk}"
        cost_lines = []
        for vendor_id, currency, amount in costs[customer_id]:
            if not amount:
                continue
            vendor = vendors[vendor_id]
            cost_lines += [
                debit(account(AccountKind.COST_OF_TOKENS, currency, vendor=vendor), amount, currency),
                credit(account(_cost_credit_kind(), currency, vendor=vendor), amount, currency),
            ]
        sale_lines = []
        for currency, amount in sells[customer_id]:
            if not amount:
                continue
            revenue = account(AccountKind.REVENUE_USAGE, currency)
            if is_credit:
                unbilled = account(AccountKind.UNBILLED_RECEIVABLE, currency, customer=customer)
                sale_lines += [debit(unbilled, amount, currency), credit(revenue, amount, currency)]
            else:
                # The cost rides on the (first) wallet debit: one journal transaction per batch × customer.
                debits.append(
                    WalletDebit(
                        customer=customer,
                        currency=currency,
                        amount=amount,
                        idempotency_key=f"usage:b{batch.pk}:c{customer_id}:{currency}",
                        target_account=revenue,
                        kind="usage.prepaid",
                        memo=memo,
                        source=source,
                        allow_below_floor=True,
                        extra_lines=cost_lines,
                    )
                )
                cost_lines = []
        lines = sale_lines + cost_lines
        if lines:
            # Credit customers: sale and cost together. Prepaid: only when nothing was charged to the
            # wallet (usage covered by token allowances still costs us), so the cost stands alone.
            postings.append(
                Posting(
                    idempotency_key=f"usage:b{batch.pk}:c{customer_id}",
                    kind="usage.accrual" if sale_lines else "usage.cost",
                    lines=lines,
                    memo=memo,
                    source=source,
                )
            )
    # All at once — the same journal transactions as one wallet_debit or transaction_post each, with every
    # wallet, then every ledger account, locked once in id order and written once per batch.
    posted = wallet_debits_many(debits=debits, postings=postings)
    credit_limit_watch(transactions=posted)  # accruals raise a credit customer's exposure
    return posted
