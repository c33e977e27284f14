"""Reads for the seller console: a sub-distributor's own customers, their balances in its book, usage,
invoices, holds and dunning state.

"Its customers" are those it sells to in its own book (``seller`` is it, resale) or whose plans it sets
(``price_owner`` is it, agency): deeper customers of a resale sub-distributor below it are that one's
business, in that one's book, and are not shown. Every figure is per customer, so nothing is counted
twice across hops (``billing.usage``: a derived hop row is the buyer's own usage).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Customer
from billing.dunning.models import DunningNotice
from billing.gateway.models import GatewayHold
from billing.gateway.status import customer_status
from billing.invoicing.models import Invoice, PeriodClose
from billing.ledger.models import AccountKind, LedgerAccount
from billing.payments.models import BankTransfer, RedemptionBatch
from billing.payments.selectors import with_reference_clash
from billing.terms.selectors import customer_currency
from billing.usage.models import UsageDaily
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balances

OPEN_INVOICES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)
USAGE_DAYS = 30


def seller_customers(seller: Customer) -> QuerySet[Customer]:
    """The customers ``seller`` sells to or prices, below it in the tree, with their terms."""
    return (
        Customer.objects.filter(path__startswith=seller.path)
        .filter(Q(seller=seller) | Q(price_owner=seller))
        .exclude(pk=seller.pk)
        .select_related("billing_terms", "parent", "seller")
    )


def seller_customer(seller: Customer, pk: int) -> Customer | None:
    return seller_customers(seller).filter(pk=pk).first()


@dataclass
class Balances:
    """One customer's position in its seller's book, in its billing currency, full precision.

    ``wallet``: available prepaid credit (customer-side, positive = held for it); ``receivable`` and
    ``unbilled``: what it owes (invoiced, and used but not invoiced yet).
    """

    currency: str
    wallet: Decimal = Decimal("0")
    receivable: Decimal = Decimal("0")
    unbilled: Decimal = Decimal("0")
    usage_30d: Decimal = Decimal("0")
    requests_30d: int = 0
    open_invoices: int = 0
    suspended: bool = False
    reasons: list[str] = field(default_factory=list)


def customer_balances(customers: list[Customer]) -> dict[int, Balances]:
    """Balances, last 30 days' usage, open invoices and gateway status of each of ``customers`` by id.

    A handful of queries for a whole page: accounts are read by customer (a customer's own accounts are
    always in its seller's book, ``billing.ledger.accounts``), wallets through their cached balances.
    """
    ids = [c.pk for c in customers]
    out = {c.pk: Balances(currency=customer_currency(c)) for c in customers}
    # Only the book the customer is sold in now: a customer moved between books (``chain_migrate``)
    # keeps its emptied accounts in the old one.
    in_its_book = Q(book=F("customer__seller")) | Q(book__isnull=True, customer__seller__isnull=True)
    owed = (
        LedgerAccount.objects.filter(
            customer_id__in=ids, kind__in=(AccountKind.RECEIVABLE, AccountKind.UNBILLED_RECEIVABLE)
        )
        .filter(in_its_book)
        .values_list("customer_id", "kind", "currency", "balance")
    )
    for customer_id, kind, currency, balance in owed:
        row = out[customer_id]
        if currency != row.currency:
            continue
        if kind == AccountKind.RECEIVABLE:
            row.receivable += balance
        else:
            row.unbilled += balance
    wallets = list(Wallet.objects.filter(customer_id__in=ids).select_related("customer"))
    for wallet_id, balance in wallet_balances(wallets=wallets).items():
        wallet = next(w for w in wallets if w.pk == wallet_id)
        if wallet.currency == out[wallet.customer_id].currency:
            out[wallet.customer_id].wallet = balance.available
    since = timezone.localdate() - timedelta(days=USAGE_DAYS)
    usage = (
        UsageDaily.objects.filter(customer_id__in=ids, day__gte=since)
        .values("customer_id", "sell_currency")
        .annotate(amount=Sum("sell_amount"), n=Sum("requests"))
    )
    for row in usage:
        balances = out[row["customer_id"]]
        if row["sell_currency"] == balances.currency:
            balances.usage_30d += row["amount"] or 0
            balances.requests_30d += row["n"] or 0
    invoices = (
        Invoice.objects.filter(customer_id__in=ids, status__in=OPEN_INVOICES)
        .values("customer_id")
        .annotate(n=Count("id"))
    )
    for row in invoices:
        out[row["customer_id"]].open_invoices = row["n"]
    for customer in customers:
        status = customer_status(customer_id=customer.pk)
        out[customer.pk].suspended = status["status"] == "suspended"
        out[customer.pk].reasons = [reason["code"] for reason in status["reasons"]]
    return out


def open_holds(customer: Customer) -> QuerySet[GatewayHold]:
    return GatewayHold.objects.filter(customer=customer, ended_at__isnull=True).select_related("created_by")


def dunning_notices(customers: QuerySet[Customer]) -> QuerySet[DunningNotice]:
    """Reminders sent to these customers, newest first, with the invoice and level."""
    return (
        DunningNotice.objects.filter(invoice__customer__in=customers)
        .select_related("invoice", "invoice__customer", "level")
        .order_by("-sent_at")
    )


def dunning_state(customers: QuerySet[Customer]) -> dict[int, DunningNotice]:
    """The highest open reminder per customer (an unpaid invoice's latest level), by customer id."""
    latest: dict[int, DunningNotice] = {}
    notices = dunning_notices(customers).filter(invoice__status__in=OPEN_INVOICES, lifted_at__isnull=True)
    for notice in notices.order_by("level__days_from_due"):
        latest[notice.invoice.customer_id] = notice
    return latest


def seller_invoices(seller: Customer) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer__in=seller_customers(seller)).select_related("customer")


def seller_transfers(seller: Customer) -> QuerySet[BankTransfer]:
    """Bank transfers of the customers ``seller`` sells to in its book, a notice whose bank line another
    transfer holds flagged (``reference_clash``)."""
    return with_reference_clash(
        BankTransfer.objects.filter(customer__seller=seller).select_related(
            "customer", "recorded_by", "decided_by"
        )
    )


def seller_batches(seller: Customer) -> QuerySet[RedemptionBatch]:
    """The redemption batches ``seller`` issued, with how many of their codes were redeemed."""
    return (
        RedemptionBatch.objects.filter(book=seller)
        .annotate(redeemed=Count("codes", filter=Q(codes__redeemed_at__isnull=False)))
        .order_by("-created_at", "-id")
    )


def book_totals(seller: Customer) -> dict[str, dict[str, Decimal]]:
    """What ``seller``'s customers hold and owe in its book, per currency: wallets (customer-side),
    receivable and unbilled. Read from the book's cached account balances (one query)."""
    kinds = {
        AccountKind.WALLET_PAID: "wallet",
        AccountKind.WALLET_GRANTED: "wallet",
        AccountKind.WALLET_PACK: "wallet",
        AccountKind.RECEIVABLE: "receivable",
        AccountKind.UNBILLED_RECEIVABLE: "unbilled",
    }
    rows = (
        LedgerAccount.objects.filter(book=seller, customer__isnull=False, kind__in=list(kinds))
        .values("currency", "kind")
        .annotate(total=Sum("balance"))
    )
    totals: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {"wallet": Decimal("0"), "receivable": Decimal("0"), "unbilled": Decimal("0")}
    )
    for row in rows:
        name = kinds[row["kind"]]
        # Deposits are liabilities (credit balances): what customers hold is the negation.
        totals[row["currency"]][name] += -row["total"] if name == "wallet" else row["total"]
    return dict(sorted(totals.items()))


def seller_closes(seller: Customer) -> QuerySet[PeriodClose]:
    """The period closes that reached ``seller``'s book: its own, and the operator's runs of every book."""
    return PeriodClose.objects.filter(Q(all_books=True) | Q(book=seller)).select_related("started_by")[:12]
