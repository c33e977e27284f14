"""Statements of account, read from the ledger.

A statement lists every movement on the customer's receivable account(s) in the period — not the
documents — and classifies each by the document that caused it (invoice, payment, credit note, other).
Because the rows *are* the ledger, nothing can be missed: opening + the rows = the ledger's balance at
``date_to``, and this is asserted (``Section.difference``). The documents are cross-checked the other way:
an invoice, payment or credit note dated in the period whose ledger total differs from its own total is
listed in ``Section.discrepancies``, and the PDF and page show it in red.

Prepaid customers: the statement also carries a *deposit* section per wallet currency (top-ups, grants,
usage, expiries on the customer's wallet accounts), built the same way; with it, a prepaid customer's
statement is the history of its balance. Monthly prepaid usage statements of the period are listed too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.models import Invoice, UsageStatement
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.money import quantize_money
from billing.receivables.aging import BUCKETS, open_items_as_of
from billing.receivables.models import CreditNote, CustomerPayment
from billing.terms.models import TermsSpan
from billing.terms.spans import terms_switches
from common.days import local_midnight
from common.stored_text import stored_render

ZERO = Decimal("0")
WALLET_KINDS = (AccountKind.WALLET_PAID, AccountKind.WALLET_GRANTED, AccountKind.WALLET_PACK)

# Aging buckets by days past due at the statement date: the one rule of billing.receivables.aging.
AGING_BUCKETS = BUCKETS

CATEGORY_LABELS = {
    "invoice": _("Invoice"),
    "payment": _("Payment"),
    "credit_note": _("Credit note"),
    "write_off": _("Written off"),
    "recovery": _("Bad debt recovered"),
    "adjustment": _("Adjustment"),
    "topup": _("Top-up"),
    "grant": _("Credit grant"),
    "usage": _("Usage"),
    "expiry": _("Expired credit"),
    "refund": _("Refund"),
    "fee": _("Card fee"),
    "pack": _("Pack"),
}


class StatementReconciliationError(Exception):
    """The statement's rows do not add up to the ledger's balance (should never happen; shown loudly)."""


@dataclass
class StatementRow:
    date: dt.date
    category: str
    reference: str
    description: str  # lazy: made in the language it is shown in
    increase: Decimal  # receivable: charged to the customer; deposit: added to the balance
    decrease: Decimal  # receivable: paid or credited; deposit: used or expired
    balance: Decimal
    due_date: dt.date | None = None
    transaction_id: int | None = None

    @property
    def category_label(self) -> str:
        return str(CATEGORY_LABELS.get(self.category, self.category))


@dataclass
class AgingBucket:
    key: str
    label: str  # lazy: "Current" … "Over 90 days" in the language the statement is shown in
    amount: Decimal


@dataclass
class Section:
    """One currency of one kind of balance: ``receivable`` (what the customer owes) or ``deposit``."""

    kind: str
    currency: str
    opening: Decimal
    rows: list[StatementRow] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # per category, signed as the balance moves
    closing: Decimal = ZERO
    ledger_closing: Decimal = ZERO
    aging: list[AgingBucket] = field(default_factory=list)
    discrepancies: list[str] = field(default_factory=list)

    @property
    def charges(self) -> Decimal:
        return self.totals.get("invoice", ZERO)

    @property
    def payments(self) -> Decimal:
        return -self.totals.get("payment", ZERO)

    @property
    def credits(self) -> Decimal:
        return -self.totals.get("credit_note", ZERO)

    @property
    def written_off(self) -> Decimal:
        return -self.totals.get("write_off", ZERO)

    @property
    def recovered(self) -> Decimal:
        return self.totals.get("recovery", ZERO)

    @property
    def adjustments(self) -> Decimal:
        return self.totals.get("adjustment", ZERO)

    @property
    def difference(self) -> Decimal:
        """Closing by the identity minus the ledger's balance at the end date: zero when it reconciles."""
        return self.opening + sum(self.totals.values(), ZERO) - self.ledger_closing

    @property
    def aging_total(self) -> Decimal:
        return sum((bucket.amount for bucket in self.aging), ZERO)

    @property
    def unapplied(self) -> Decimal:
        """Money received or credited but not yet allocated to an invoice (shows as a credit)."""
        return max(self.aging_total - self.closing, ZERO)

    @property
    def increase_total(self) -> Decimal:
        return sum((row.increase for row in self.rows), ZERO)

    @property
    def decrease_total(self) -> Decimal:
        return sum((row.decrease for row in self.rows), ZERO)

    @property
    def is_receivable(self) -> bool:
        return self.kind == "receivable"


@dataclass
class Statement:
    customer: Customer
    date_from: dt.date
    date_to: dt.date
    language: str
    sections: list[Section]
    usage_statements: list[UsageStatement] = field(default_factory=list)
    # Billing mode switches in the period, (span ended, span started): usage before each was charged
    # under the old mode, after it under the new one, so the statement says where its rows change.
    terms_switches: list[tuple[TermsSpan, TermsSpan]] = field(default_factory=list)

    @property
    def receivable_sections(self) -> list[Section]:
        return [s for s in self.sections if s.kind == "receivable"]

    @property
    def deposit_sections(self) -> list[Section]:
        return [s for s in self.sections if s.kind == "deposit"]

    @property
    def reconciles(self) -> bool:
        return all(s.difference == 0 and not s.discrepancies for s in self.sections)

    @property
    def filename(self) -> str:
        return f"statement-{self.customer.code}-{self.date_from:%Y%m%d}-{self.date_to:%Y%m%d}"


def _balance_before(accounts: list[LedgerAccount], day: dt.date) -> Decimal:
    total = JournalEntry.objects.filter(account__in=accounts, transaction__effective_date__lt=day).aggregate(
        total=Sum("amount")
    )["total"]
    return total or ZERO


# Row texts stay lazy: a statement is built once and printed in the document's language (a PDF renders
# under its own language, a page under the reader's), so each text is made when it is shown.
def _memo_text(txn) -> str:
    return stored_render(txn.memo_message, txn.memo or txn.kind)


_memo = lazy(_memo_text, str)


def _document_of(txn) -> tuple[str, str, object, object | None]:
    """(category, reference, description (lazy), document) for a receivable movement, by its source
    document."""
    original = txn.reverses if txn.reverses_id else txn
    prefix = _("Reversal of ") if txn.reverses_id else ""
    for attr, category in (
        ("invoice", "invoice"),
        ("customer_payment", "payment"),
        ("credit_note", "credit_note"),
    ):
        document = getattr(original, attr, None)
        if document is None:
            continue
        if category == "invoice":
            period = f" · {document.period}" if document.period else ""
            # "Invoice", "Interim invoice" or "Opening balance", in the reader's language.
            kind = Invoice.Kind(document.kind).label if document.kind in Invoice.Kind else document.kind
            return category, document.number or "", format_lazy("{}{}{}", prefix, kind, period), document
        if category == "payment":
            text = document.reference or CustomerPayment.Method(document.method).label
            label = format_lazy("{}{} · {}", prefix, _("Payment received"), text)
            return category, document.reference, label, document
        label = format_lazy("{}{} · {}", prefix, _("Credit note"), document.reason)
        return category, document.number, label, document
    write_off = getattr(original, "write_off", None)
    if write_off is not None:
        numbers = ", ".join(line.invoice.number for line in write_off.lines.all())
        text = format_lazy("{}{} · {}", prefix, _("Written off as bad debt"), numbers)
        return "write_off", f"#{write_off.pk}", text, None
    recovery = getattr(original, "bad_debt_recovery", None)
    if recovery is not None:
        # A released payment undoes its recovery by a row pointing at it (billing.receivables.recoveries).
        label = _("Bad debt recovery undone") if recovery.reverses_id else _("Bad debt recovered")
        text = format_lazy("{}{} · {}", prefix, label, recovery.invoice.number)
        return "recovery", recovery.invoice.number, text, None
    return "adjustment", f"#{txn.pk}", _memo(txn), None


def _deposit_category(kind: str) -> str:
    refund = kind.startswith(("wallet.topup.card_refund", "wallet.topup.card_dispute"))
    if refund and not kind.endswith("_won"):
        return "refund"
    if kind.startswith("wallet.topup.card_fee"):
        return "fee"
    if kind.startswith(("wallet.topup", "topup")):
        return "topup"
    if kind.startswith("wallet.pack"):
        return "pack"
    if kind.startswith("wallet.grant") or kind.startswith("grant"):
        return "grant"
    if kind.startswith("usage") or kind.startswith("pack") or kind.startswith("subscription"):
        return "usage"
    if kind.startswith("wallet.breakage") or "expir" in kind:
        return "expiry"
    return "adjustment"


def _entries(accounts: list[LedgerAccount], date_from: dt.date, date_to: dt.date):
    return (
        JournalEntry.objects.filter(
            account__in=accounts,
            transaction__effective_date__gte=date_from,
            transaction__effective_date__lte=date_to,
        )
        .select_related(
            "transaction",
            "transaction__invoice",
            "transaction__customer_payment",
            "transaction__credit_note",
            "transaction__write_off",
            "transaction__bad_debt_recovery__invoice",
            "transaction__reverses__invoice",
            "transaction__reverses__customer_payment",
            "transaction__reverses__credit_note",
        )
        .prefetch_related("transaction__write_off__lines__invoice")
        .order_by("transaction__effective_date", "transaction__posted_at", "transaction_id", "id")
    )


def _receivable_section(customer, currency, accounts, date_from, date_to) -> Section:
    section = Section(kind="receivable", currency=currency, opening=_balance_before(accounts, date_from))
    balance = section.opening
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_document: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    # One row per transaction: a transaction touching two receivable accounts of a currency nets out.
    rows: dict[int, StatementRow] = {}
    for entry in _entries(accounts, date_from, date_to):
        txn = entry.transaction
        category, reference, description, document = _document_of(txn)
        totals[category] += entry.amount
        balance += entry.amount
        if document is not None:
            by_document[(category, document.pk)] += entry.amount
        row = rows.get(txn.pk)
        if row is None:
            due = document.due_date if category == "invoice" and document is not None else None
            row = rows[txn.pk] = StatementRow(
                txn.effective_date, category, reference, description, ZERO, ZERO, balance, due, txn.pk
            )
        row.increase += max(entry.amount, ZERO)
        row.decrease += max(-entry.amount, ZERO)
        row.balance = balance
    section.rows = list(rows.values())
    section.totals = dict(totals)
    section.closing = balance
    section.ledger_closing = _balance_before(accounts, date_to + dt.timedelta(days=1))
    section.discrepancies = _document_discrepancies(customer, currency, date_from, date_to, by_document)
    section.aging = aging_at(customer, currency, date_to)
    return section


def posted_invoices(customer: Customer, currency: str):
    """``customer``'s invoices in ``currency`` that reached the ledger.

    Drafts never did, and neither did a voided draft: voiding gives it a number and an issue date (the
    series stays gapless) but posts nothing, so it owes nothing and has no ledger movement to compare
    with. A voided *issued* invoice stays: it was posted, and the credit note that voided it brings it to
    zero from the void date on (before that it really was open).
    """
    return (
        Invoice.objects.filter(customer=customer, currency=currency)
        .exclude(status=Invoice.Status.DRAFT)
        .exclude(status=Invoice.Status.VOID, journal_transaction__isnull=True)
    )


def _document_discrepancies(customer, currency, date_from, date_to, by_document) -> list[str]:
    """Documents dated in the period whose ledger movement in the period differs from their own total."""
    problems = []
    expected = []
    invoices = posted_invoices(customer, currency).filter(issue_date__range=(date_from, date_to))
    expected += [("invoice", inv.pk, inv.number, inv.total) for inv in invoices]
    payments = CustomerPayment.objects.filter(
        customer=customer,
        currency=currency,
        status=CustomerPayment.Status.RECEIVED,
        received_on__range=(date_from, date_to),
    )
    expected += [("payment", p.pk, p.reference or f"#{p.pk}", -p.amount) for p in payments]
    notes = CreditNote.objects.filter(
        customer=customer, currency=currency, issue_date__range=(date_from, date_to)
    )
    expected += [("credit_note", n.pk, n.number, -n.total) for n in notes]
    for category, pk, reference, amount in expected:
        posted = by_document.get((category, pk), ZERO)
        if posted != amount:
            problems.append(_discrepancy(category, reference, amount, posted))
    return problems


def _discrepancy_text(category: str, reference: str, amount: Decimal, posted: Decimal) -> str:
    return str(_("%(kind)s %(ref)s: document %(doc)s, ledger %(ledger)s in this period.")) % {
        "kind": CATEGORY_LABELS[category],
        "ref": reference,
        "doc": amount,
        "ledger": posted,
    }


_discrepancy = lazy(_discrepancy_text, str)


def aging_at(customer: Customer, currency: str, day: dt.date) -> list[AgingBucket]:
    """Open invoice amounts at the end of ``day`` by days past due; later settlements do not count.

    Read through ``billing.receivables.aging`` (payments, credit notes, write-offs and recoveries dated by
    then), the same rule as the aging report.
    """
    amounts = {key: ZERO for key, *_rest in AGING_BUCKETS}
    rows = (
        open_items_as_of(day, posted_invoices(customer, currency))
        .order_by()
        .values("bucket")
        .annotate(amount=Sum("open_then"))
    )
    for row in rows:
        amounts[row["bucket"]] += row["amount"] or ZERO
    # Sums of stored amounts, which keep three places for every currency: shown in the currency's own.
    return [
        AgingBucket(key, label, quantize_money(amounts[key], currency))
        for key, label, *_rest in AGING_BUCKETS
    ]


def _deposit_section(currency, accounts, date_from, date_to) -> Section:
    # Deposits are credit-normal: show them positive (what the customer has), i.e. minus the debit sum.
    section = Section(kind="deposit", currency=currency, opening=-_balance_before(accounts, date_from))
    balance = section.opening
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows: dict[int, StatementRow] = {}
    for entry in _entries(accounts, date_from, date_to):
        txn = entry.transaction
        amount = -entry.amount
        category = _deposit_category(txn.kind)
        totals[category] += amount
        balance += amount
        row = rows.get(txn.pk)
        if row is None:
            row = rows[txn.pk] = StatementRow(
                txn.effective_date,
                category,
                f"#{txn.pk}",
                _memo(txn),
                ZERO,
                ZERO,
                balance,
                None,
                txn.pk,
            )
        row.increase += max(amount, ZERO)
        row.decrease += max(-amount, ZERO)
        row.balance = balance
    # Movements between a customer's own buckets (paid → pack) net out of the currency total.
    section.rows = [row for row in rows.values() if row.increase != row.decrease]
    section.totals = dict(totals)
    section.closing = balance
    section.ledger_closing = -_balance_before(accounts, date_to + dt.timedelta(days=1))
    return section


def customer_accounts(customer: Customer, kinds) -> dict[str, list[LedgerAccount]]:
    by_currency: dict[str, list[LedgerAccount]] = defaultdict(list)
    for account in LedgerAccount.objects.filter(customer=customer, kind__in=kinds).order_by(
        "currency", "code"
    ):
        by_currency[account.currency].append(account)
    return dict(by_currency)


def statement_build(
    customer: Customer, date_from: dt.date, date_to: dt.date, *, strict: bool = False
) -> Statement:
    """The statement of ``customer`` for ``date_from``..``date_to`` (inclusive), from the ledger.

    ``strict=True`` raises ``StatementReconciliationError`` when a section does not reconcile (the
    command and tests use it); otherwise the difference is carried on the statement and shown.
    """
    if date_from > date_to:
        raise ValueError(_("The statement period starts after it ends."))
    sections = [
        _receivable_section(customer, currency, accounts, date_from, date_to)
        for currency, accounts in customer_accounts(customer, [AccountKind.RECEIVABLE]).items()
    ]
    sections += [
        _deposit_section(currency, accounts, date_from, date_to)
        for currency, accounts in customer_accounts(customer, WALLET_KINDS).items()
    ]
    usage = UsageStatement.objects.filter(
        customer=customer, period_start__lte=date_to, period_end__gte=date_from
    ).order_by("period_start", "currency")
    switches = terms_switches(
        customer, local_midnight(date_from), local_midnight(date_to + dt.timedelta(days=1))
    )
    statement = Statement(customer, date_from, date_to, customer.language, sections, list(usage), switches)
    if strict:
        for section in sections:
            if section.difference:
                raise StatementReconciliationError(
                    _("%(currency)s %(kind)s: rows add up to %(closing)s but the ledger says %(ledger)s.")
                    % {
                        "currency": section.currency,
                        "kind": section.kind,
                        "closing": section.closing,
                        "ledger": section.ledger_closing,
                    }
                )
    return statement


def customers_with_activity(date_from: dt.date, date_to: dt.date):
    """Customers with a receivable or deposit account that moved in the period or has a balance at its end."""
    kinds = [AccountKind.RECEIVABLE, *WALLET_KINDS]
    moved = JournalEntry.objects.filter(
        account__kind__in=kinds, transaction__effective_date__range=(date_from, date_to)
    ).values("account__customer_id")
    open_accounts = (
        LedgerAccount.objects.filter(kind__in=kinds, customer__isnull=False)
        .filter(entries__transaction__effective_date__lte=date_to)
        .values("id")
        .annotate(total=Sum("entries__amount"))
        .exclude(total=0)
        .values("customer_id")
    )
    return Customer.objects.filter(Q(pk__in=moved) | Q(pk__in=open_accounts)).order_by("code")
