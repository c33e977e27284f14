"""Post a batch's rated usage to the ledger: per batch × customer, never per request.

Every event is charged under the terms in force when it *happened* (``timeline``), whenever it arrives, so
one batch × customer may post both of these:
Prepaid-time usage: ``wallet_debit`` (burn-down through the grants and packs valid when it was used, then
paid credit) to usage revenue, allowed below the floor because the usage already happened — the wallet is
then suspended. Credit-time usage: Dr unbilled receivable / Cr usage revenue, which the close invoices.
Cost at contract price: Dr cost of tokens (the vendor's) / Cr, per channel (``usage_cost_credit``), the
channel's upstream prepaid asset (a prepaid contract) or accrued upstream liability (postpaid), kept under
the contract's vendor and the channel's reference; cost on an upstream account no channel names goes to the
vendor's own account (``USAGE_COST_CREDIT_KIND``), where mapping the account later moves it from
(``channel_map``). The cost goes with the accrual when there is one (one journal
transaction), else it rides on the wallet debit (``extra_lines``: one journal transaction too; one per
sell currency in the rare case of several, the cost with the first). A batch's wallet debits and its
other postings are written in bulk (``wallets.debits_many.wallet_debits_many``, which posts the others
with the debits): the same journal transactions, a few statements instead of ~25 queries per customer.
All run inside the batch's database transaction, so a batch's postings commit with its events or not at
all.

Books (``accounts.chain``): a customer's sale is posted in its seller's book. An agency sub-distributor's
commission on its customers' usage (``Charged.commission``) is the selling book's expense and a payable to
the agent: Dr commission expense / Cr commission payable (customer = the agent), one posting per batch ×
agent × currency, never a sale.

A resale sub-distributor S's purchases are mirrored in its own book by its customers' cost lines (what S
owes its seller for them); what else its seller charged it in the batch — its own traffic, and the trace of
rounding each posting to the ledger's places — is mirrored there too (``_own_use_postings``), so S's
DUE_TO_SELLER keeps equal to minus its net balance at its seller (``ledger.verify``).

Be extremely careful changing the idempotency keys: they are what makes a redelivered batch post once.
"""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings

from accounts.models import Customer
from billing.ledger.accounts import account_code, account_get, channel_reference
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.ledger.services import Line, Posting, credit, debit
from billing.money import ledger_round
from billing.terms.credit import credit_limit_watch
from billing.usage.models import UsageBatch
from billing.usage.timeline import Timeline
from billing.wallets.debits_many import WalletDebit, wallet_debits_many
from catalog.models import Channel, Settlement
from common.stored_text import stored


def _cost_credit_kind() -> str:
    return getattr(settings, "USAGE_COST_CREDIT_KIND", AccountKind.UPSTREAM_PREPAID)


def usage_cost_credit(channel: Channel | None, vendor) -> tuple[str, dict]:
    """The account kind and owner that usage cost is credited to: a channel's upstream prepaid (prepaid
    contract) or accrued (postpaid) account, under its contract's vendor; with no channel, ``vendor``'s
    own account without a reference. Dr is cost of tokens of the same vendor."""
    if channel is None:
        return _cost_credit_kind(), {"vendor": vendor}
    contract = channel.contract
    kind = (
        AccountKind.UPSTREAM_PREPAID
        if contract.settlement == Settlement.PREPAID
        else AccountKind.UPSTREAM_ACCRUED
    )
    return kind, {"vendor": contract.vendor, "reference": channel_reference(channel.pk)}


def _accounts_existing(
    *, accruals: dict, debits: dict, costs: dict, customers: dict, vendors: dict, channels: dict
) -> dict[str, object]:
    """The ledger accounts a batch's postings may use that exist already, by code, in one query."""
    codes = {
        account_code(kind=AccountKind.REVENUE_USAGE, currency=ccy, book=customers[cid].seller)
        for sales in (accruals, debits)
        for cid, lines in sales.items()
        for ccy in lines
    }
    codes |= {
        account_code(kind=AccountKind.UNBILLED_RECEIVABLE, currency=ccy, customer=customers[cid])
        for cid, lines in accruals.items()
        for ccy in lines
    }
    codes |= {
        code
        for cid, lines in costs.items()
        for vendor_id, ccy, channel_id, _ in lines
        for code in _cost_codes(customers[cid], vendors.get(vendor_id), channels.get(channel_id), ccy)
    }
    return {a.code: a for a in LedgerAccount.objects.filter(code__in=codes)}


def _cost_codes(customer: Customer, vendor, channel, currency: str) -> list[str]:
    if customer.seller_id is None:
        kind, owner = usage_cost_credit(channel, vendor)
        return [
            account_code(kind=AccountKind.COST_OF_TOKENS, currency=currency, vendor=owner["vendor"]),
            account_code(kind=kind, currency=currency, **owner),
        ]
    book = customer.seller
    return [
        account_code(kind=AccountKind.COST_OF_TOKENS, currency=currency, book=book),
        account_code(kind=AccountKind.DUE_TO_SELLER, currency=currency, book=book),
    ]


def _sales_split(sell: dict, timeline: Timeline) -> tuple[dict, dict]:
    """Split the sale by the terms in force when it happened: credit-time amounts per customer and
    currency (to accrue), prepaid-time ``(since, amount)`` parts per customer and currency, oldest first
    (to debit, each from the lots valid then). Rounded to the ledger's places once per accrual and part."""
    accrued: dict = defaultdict(lambda: defaultdict(Decimal))
    parts: dict = defaultdict(lambda: defaultdict(list))
    for (cid, currency, segment), amount in sorted(sell.items()):
        if timeline.is_credit(cid, segment):
            accrued[cid][currency] += amount
        else:
            part = ledger_round(amount)
            if part:
                parts[cid][currency].append((timeline.since(cid, segment), part))
    accruals = {
        cid: {ccy: ledger_round(amount) for ccy, amount in own.items() if ledger_round(amount)}
        for cid, own in accrued.items()
    }
    return accruals, {cid: dict(own) for cid, own in parts.items()}


def sums_post(
    *,
    batch: UsageBatch,
    sell: dict[tuple[int, str, int], Decimal],
    cost: dict[tuple[int, int, str, int], Decimal],
    timeline: Timeline,
    customers: dict[int, Customer],
    vendors: dict,
    commission: dict[tuple[int, str], Decimal] | None = None,
    channels: dict[int, Channel] | None = None,
) -> list[JournalTransaction]:
    """Post per customer: ``sell`` by (customer, currency, segment of ``timeline``), ``cost`` by
    (customer, vendor, currency, channel: 0 for none; ``channels`` by id, their contracts loaded);
    ``commission`` by (agent, currency)."""
    debits, postings = [], []
    channels = channels or {}
    accruals, prepaid = _sales_split(sell, timeline)
    costs = defaultdict(list)
    for (cid, vendor_id, currency, channel_id), amount in sorted(_cost_sums(cost, customers).items()):
        costs[cid].append((vendor_id, currency, channel_id, ledger_round(amount)))
    accounts = _accounts_existing(
        accruals=accruals,
        debits=prepaid,
        costs=costs,
        customers=customers,
        vendors=vendors,
        channels=channels,
    )

    def account(kind: str, currency: str, **owner):
        """The account of (kind, currency, owner): read above in one query, created here if missing."""
        code = account_code(kind=kind, currency=currency, **owner)
        if code not in accounts:
            accounts[code] = account_get(kind=kind, currency=currency, **owner)
        return accounts[code]

    # Customers in id order, so the postings (and their ids) come in one order run after run.
    for customer_id in sorted(accruals.keys() | prepaid.keys() | costs.keys()):
        customer = customers[customer_id]
        memo = f"Usage batch {batch.pk} ({batch.idempotency_key})"[:500]
        memo_message = stored("usage.memo.batch", batch=batch.pk, batch_key=batch.idempotency_key)
        source = f"usage_batch:{batch.pk}"
        cost_lines = []
        book = customer.seller
        for vendor_id, currency, channel_id, amount in costs[customer_id]:
            if not amount:
                continue
            if book is None:
                # The operator's contract cost: owed on the event's channel, or the vendor's own account.
                kind, owner = usage_cost_credit(channels.get(channel_id), vendors.get(vendor_id))
                expense = account(AccountKind.COST_OF_TOKENS, currency, vendor=owner["vendor"])
                cost_lines += [
                    debit(expense, amount, currency),
                    credit(account(kind, currency, **owner), amount, currency),
                ]
            else:
                # A resale sub-distributor's cost is what its seller charges it (the event's cost was rated
                # at its wholesale plan): owed to that seller, in its own book.
                cost_lines += [
                    debit(account(AccountKind.COST_OF_TOKENS, currency, book=book), amount, currency),
                    credit(account(AccountKind.DUE_TO_SELLER, currency, book=book), amount, currency),
                ]
        sale_lines = []
        for currency, amount in sorted(accruals.get(customer_id, {}).items()):
            unbilled = account(AccountKind.UNBILLED_RECEIVABLE, currency, customer=customer)
            revenue = account(AccountKind.REVENUE_USAGE, currency, book=book)
            sale_lines += [debit(unbilled, amount, currency), credit(revenue, amount, currency)]
        if sale_lines:
            sale_lines += cost_lines  # the cost goes with the accrual: one journal transaction
            cost_lines = []
        for currency, parts in sorted(prepaid.get(customer_id, {}).items()):
            # The cost rides on the (first) wallet debit: one journal transaction per batch × customer.
            debits.append(
                WalletDebit(
                    customer=customer,
                    currency=currency,
                    amount=sum(amount for _since, amount in parts),
                    idempotency_key=f"usage:b{batch.pk}:c{customer_id}:{currency}",
                    target_account=account(AccountKind.REVENUE_USAGE, currency, book=book),
                    kind="usage.prepaid",
                    memo=memo,
                    memo_message=memo_message,
                    source=source,
                    allow_below_floor=True,
                    extra_lines=cost_lines,
                    parts=tuple(parts),
                )
            )
            cost_lines = []
        lines = sale_lines + cost_lines
        if lines:
            # Credit-time sale with its cost; or the cost alone when nothing was charged in money (usage
            # covered by token allowances still costs us).
            postings.append(
                Posting(
                    idempotency_key=f"usage:b{batch.pk}:c{customer_id}",
                    kind="usage.accrual" if sale_lines else "usage.cost",
                    lines=lines,
                    memo=memo,
                    memo_message=memo_message,
                    source=source,
                )
            )
    postings += _commission_postings(batch, commission or {}, account)
    postings += _own_use_postings(batch, accruals, prepaid, costs, customers, account)
    # All at once — the same journal transactions as one wallet_debit or transaction_post each, with every
    # wallet, then every ledger account, locked once in id order and written once per batch.
    posted = wallet_debits_many(debits=debits, postings=postings)
    credit_limit_watch(transactions=posted)  # accruals raise a credit customer's exposure
    return posted


def _cost_sums(cost: dict, customers: dict) -> dict:
    """``cost`` as posted: a resale sub-distributor's customers' cost is owed to their seller in its book,
    whatever the vendor or channel, so it is summed per currency alone (vendor and channel 0)."""
    sums: dict = defaultdict(Decimal)
    for (cid, vendor_id, currency, channel_id), amount in cost.items():
        if customers[cid].seller_id is None:
            sums[(cid, vendor_id, currency, channel_id)] += amount
        else:
            sums[(cid, 0, currency, 0)] += amount
    return sums


def _commission_postings(batch: UsageBatch, commission: dict, account) -> list[Posting]:
    """Dr commission expense (the book's) / Cr commission payable (the agent's, kept in the same book: the
    agent's seller's) per agent and currency, keyed like the usage postings."""
    if not commission:
        return []
    people = Customer.objects.select_related("seller").in_bulk({agent for agent, _ccy in commission})
    postings = []
    for (agent_id, currency), amount in sorted(commission.items()):
        amount = ledger_round(amount)
        if not amount:
            continue
        agent = people[agent_id]
        # The payable is the agent's own account, so it is kept in the agent's seller's book, which is the
        # book that sold its customers (an agency sells nothing itself): the expense goes there too.
        expense = account(AccountKind.COMMISSION_EXPENSE, currency, book=agent.seller)
        payable = account(AccountKind.COMMISSION_PAYABLE, currency, customer=agent)
        postings.append(
            Posting(
                idempotency_key=f"usage:b{batch.pk}:commission:a{agent_id}:{currency}",
                kind="usage.commission",
                lines=[debit(expense, amount, currency), credit(payable, amount, currency)],
                memo=f"Agency commission, usage batch {batch.pk} ({batch.idempotency_key})"[:500],
                memo_message=stored("usage.memo.commission", batch=batch.pk, batch_key=batch.idempotency_key),
                source=f"usage_batch:{batch.pk}",
            )
        )
    return postings


def _own_use_postings(
    batch: UsageBatch, accruals: dict, prepaid: dict, costs: dict, customers: dict, account
) -> list[Posting]:
    """In each resale sub-distributor's own book, what its seller charged it in this batch beyond its
    customers' cost lines posted there (its own traffic, and rounding traces): Dr cost of tokens / Cr due
    to seller, per currency. An event's derived rows are in its batch, so the two meet here; nothing is
    posted for a reseller that only resold."""
    resellers = {cid for cid in accruals.keys() | prepaid.keys() if customers[cid].is_reseller}
    if not resellers:
        return []
    bought: dict = defaultdict(Decimal)
    for cid, lines in costs.items():
        if customers[cid].seller_id in resellers:
            for _vendor_id, currency, _channel_id, amount in lines:
                bought[(customers[cid].seller_id, currency)] += amount
    postings = []
    for sid in sorted(resellers):
        sold: dict = defaultdict(Decimal, accruals.get(sid, {}))
        for currency, parts in prepaid.get(sid, {}).items():
            sold[currency] += sum(amount for _since, amount in parts)
        book = customers[sid]
        for currency, amount in sorted(sold.items()):
            own = amount - bought[(sid, currency)]
            if not own:
                continue
            postings.append(
                Posting(
                    idempotency_key=f"usage:b{batch.pk}:c{sid}:{currency}:own",
                    kind="usage.own_use",
                    lines=[
                        Line(account(AccountKind.COST_OF_TOKENS, currency, book=book), own, currency),
                        Line(account(AccountKind.DUE_TO_SELLER, currency, book=book), -own, currency),
                    ],
                    memo=f"Own use bought from our seller, usage batch {batch.pk} ({batch.idempotency_key})"[
                        :500
                    ],
                    source=f"usage_batch:{batch.pk}",
                    memo_message=stored(
                        "usage.memo.own_use", batch=batch.pk, batch_key=batch.idempotency_key
                    ),
                )
            )
    return postings
