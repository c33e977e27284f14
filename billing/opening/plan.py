"""From the rows of an opening file to what applying it would do: each row *created*, *unchanged* (imported
already, with the same figures) or in *error*, with every problem named by row and field.

The rules, the same for the page and the command:

* Receivables are for customers on credit terms, in their terms' currency. A prepaid customer is refused:
  this system invoices and collects only credit customers (its payment and invoice pages offer no
  prepaid customer), and a prepaid customer's service runs on its wallet, so a receivable there could be
  neither collected nor held against a credit limit. Move it to credit terms first, or import what it
  owes net of its deposit. Another currency than the terms' is refused because the credit limit,
  exposure and dunning of a customer are kept in its terms' currency.
* A deposit goes to the customer's paid wallet, in the wallet's currency (its terms', as for bank
  transfers). Upstream prepaid credit goes to a channel of a *prepaid* contract, in its currency.
* Amounts are above zero, in whole minor units of their currency; dates are not in the future (an
  opening balance is what the old books held); a due date is not before its issue date (blank: due by
  the customer's payment terms).
* A document is imported once per customer (receivables, deposits) or per channel (upstream): the same
  document again with the same figures is *unchanged*; with other figures it is an error naming what is
  stored. An opening invoice keeps its old number, so that number must not be another invoice's (any
  customer's: invoice numbers are unique), nor twice in the file, nor shaped like a number this system's
  own series could take (``limits``).
* Each amount, and what the file brings to one customer, channel or book in one currency, stays below
  10**15 (``limits``), within what a ledger balance holds.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.invoicing.models import Invoice
from billing.ledger.models import AccountKind, JournalEntry
from billing.money import currency_exponent, is_money, money_text
from billing.opening.limits import our_numbers_refuse, totals_limit
from billing.opening.models import OpeningImport
from billing.opening.parse import SourceRow
from billing.opening.resolve import channels_resolve_rows, customers_resolve
from billing.upstream.imports.rows import RowError
from billing.upstream.models import UpstreamPack
from billing.wallets.opening import opening_deposit_key
from catalog.models import Channel

Kind = OpeningImport.Kind
CREATED, UNCHANGED, ERROR = "created", "unchanged", "error"
OUTCOMES = (CREATED, UNCHANGED, ERROR)


def start_of(day: date | None) -> datetime | None:
    """Midnight at the start of ``day`` in the operator's zone, as the upstream purchase form sets a pack's
    start and expiry."""
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


@dataclass
class Planned:
    """One row of the file and what applying would do with it."""

    source: SourceRow
    customer: Customer | None = None
    channel: Channel | None = None
    due_date: date | None = None  # receivables: as the file says, or by the customer's terms
    outcome: str = ""
    existing: object = None  # what is stored for it already: an Invoice, JournalTransaction or UpstreamPack

    @property
    def row(self) -> int:
        return self.source.row

    @property
    def errors(self) -> list[RowError]:
        return self.source.errors

    def problem(self, field_name: str, message: str) -> None:
        self.source.problem(field_name, message)


@dataclass
class Plan:
    kind: str
    rows: list[Planned] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return [error for planned in self.rows for error in planned.errors]

    def count(self, outcome: str) -> int:
        return sum(1 for planned in self.rows if planned.outcome == outcome)

    def totals(self) -> dict[str, dict]:
        """Per currency, of the rows not in error: how many, their amount, and the amount applying adds."""
        totals: dict[str, dict] = defaultdict(lambda: {"rows": 0, "amount": Decimal(0), "new": Decimal(0)})
        for planned in self.rows:
            if planned.outcome == ERROR:
                continue
            source = planned.source
            entry = totals[source.currency]
            entry["rows"] += 1
            entry["amount"] += source.amount
            if planned.outcome == CREATED:
                entry["new"] += source.amount
        return {
            currency: {
                "rows": entry["rows"],
                "amount": money_text(entry["amount"], currency),
                "new": money_text(entry["new"], currency),
            }
            for currency, entry in sorted(totals.items())
        }

    def digest(self) -> str:
        """A fingerprint of what applying would do: the apply of a previewed file is refused when it
        differs from the one the person saw (the file, the rows' outcomes or what they resolve to)."""
        shown = [
            [
                p.row,
                p.outcome,
                p.customer.pk if p.customer else None,
                p.channel.pk if p.channel else None,
                p.source.document,
                p.source.on,
                p.due_date,
                p.source.expires_on,
                p.source.amount,
                p.source.currency,
                p.source.description,
            ]
            for p in self.rows
        ]
        text = json.dumps([self.kind, shown], default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def plan_build(kind: str, rows: list[SourceRow]) -> Plan:
    """Check and resolve ``rows`` of a file of ``kind`` against what is stored now (nothing is written)."""
    plan = Plan(kind=kind, rows=[Planned(source=row) for row in rows])
    today = timezone.localdate()
    for planned in plan.rows:
        source = planned.source
        if source.on is not None and source.on > today:
            name = "issue_date" if kind == Kind.RECEIVABLES else "date"
            planned.problem(
                name,
                _("%(field)s %(date)s is in the future: an opening balance is what the old books held.")
                % {"field": name, "date": source.on.isoformat()},
            )
        if kind == Kind.UPSTREAM and source.expires_on is not None and source.expires_on <= today:
            planned.problem(
                "expires_on",
                _("expires_on %(date)s has passed: expired credit is not an open balance.")
                % {"date": source.expires_on.isoformat()},
            )
    if kind == Kind.UPSTREAM:
        channels_resolve_rows(plan.rows)
    else:
        customers_resolve(plan.rows, kind)
    for planned in plan.rows:
        _decimals(planned)
    _duplicates(plan.rows, kind)
    {Kind.RECEIVABLES: _receivables_compare, Kind.DEPOSITS: _deposits_compare, Kind.UPSTREAM: _packs_compare}[
        kind
    ](plan.rows)
    if kind == Kind.RECEIVABLES:
        our_numbers_refuse(plan.rows)
    totals_limit(plan.rows)
    for planned in plan.rows:
        if planned.errors:
            planned.outcome = ERROR
        elif not planned.outcome:
            planned.outcome = CREATED
    return plan


def _decimals(planned: Planned) -> None:
    source = planned.source
    if source.amount is None or not source.currency or is_money(source.amount, source.currency):
        return
    planned.problem(
        "amount",
        _("%(currency)s amounts have at most %(places)s decimal places, not %(amount)s.")
        % {
            "currency": source.currency,
            "places": currency_exponent(source.currency),
            "amount": source.cells.get("amount", "").strip(),
        },
    )


def _duplicates(rows: list[Planned], kind: str) -> None:
    """A document twice in the file (per customer or channel) is an error on the later rows; an opening
    invoice's number twice (for two customers) too, since an invoice number is unique."""
    seen: dict[tuple, Planned] = {}
    numbers: dict[str, Planned] = {}
    for planned in rows:
        party = planned.customer or planned.channel
        document = planned.source.document
        if party is None or not document:
            continue
        first = seen.setdefault((party.pk, document), planned)
        if first is not planned:
            planned.problem(
                "document",
                _("Document %(document)s of %(party)s is also on row %(row)s: each document once per file.")
                % {"document": document, "party": party.name, "row": first.row},
            )
            continue
        if kind == Kind.RECEIVABLES:
            other = numbers.setdefault(document, planned)
            if other is not planned:
                planned.problem(
                    "document",
                    _(
                        "Document %(document)s is also on row %(row)s, for %(other)s: an opening invoice "
                        "keeps its old number, and invoice numbers are unique."
                    )
                    % {"document": document, "row": other.row, "other": other.customer.name},
                )


def _differences(planned: Planned, stored: dict, given: dict) -> None:
    """An error per figure in which the file differs from what ``planned``'s document was imported with."""
    for name, value in stored.items():
        if given[name] != value:
            planned.problem(
                name,
                _("Document %(document)s was imported already with %(field)s %(stored)s, not %(given)s.")
                % {
                    "document": planned.source.document,
                    "field": name,
                    "stored": value if value is not None else "—",
                    "given": given[name] if given[name] is not None else "—",
                },
            )
    if not planned.errors:
        planned.outcome = UNCHANGED


def _receivables_compare(rows: list[Planned]) -> None:
    numbers = {p.source.document for p in rows if p.customer is not None and p.source.document}
    stored = {
        inv.number: inv for inv in Invoice.objects.filter(number__in=numbers).select_related("customer")
    }
    for planned in rows:
        invoice = stored.get(planned.source.document)
        if invoice is None or planned.customer is None:
            continue
        planned.existing = invoice
        if invoice.customer_id != planned.customer.pk or invoice.kind != Invoice.Kind.OPENING:
            planned.problem(
                "document",
                _(
                    "Number %(number)s is already used by %(kind)s %(number)s of %(customer)s (%(code)s), "
                    "issued %(issued)s: an opening invoice keeps the old number, which must be unique."
                )
                % {
                    "number": invoice.number,
                    "kind": invoice.get_kind_display().lower(),
                    "customer": invoice.customer.name,
                    "code": invoice.customer.code,
                    "issued": invoice.issue_date.isoformat() if invoice.issue_date else "—",
                },
            )
            continue
        source = planned.source
        _differences(
            planned,
            {
                "issue_date": invoice.issue_date,
                "due_date": invoice.due_date,
                "amount": money_text(invoice.total, invoice.currency),
                "currency": invoice.currency,
            },
            {
                "issue_date": source.on,
                "due_date": planned.due_date,
                "amount": money_text(source.amount, invoice.currency) if source.amount else None,
                "currency": source.currency,
            },
        )


def _deposits_compare(rows: list[Planned]) -> None:
    keys = {
        opening_deposit_key(customer_id=p.customer.pk, document=p.source.document): p
        for p in rows
        if p.customer is not None and p.source.document
    }
    if not keys:
        return
    wallet_kind = AccountKind.WALLET_PAID
    credited = {
        entry.transaction.idempotency_key: entry
        for entry in JournalEntry.objects.filter(
            transaction__idempotency_key__in=list(keys), account__kind=wallet_kind
        ).select_related("transaction")
    }
    for key, planned in keys.items():
        entry = credited.get(key)
        if entry is None:
            continue
        planned.existing = entry.transaction
        source = planned.source
        _differences(
            planned,
            {
                "date": entry.transaction.effective_date,
                "amount": money_text(-entry.amount, entry.currency),
                "currency": entry.currency,
            },
            {
                "date": source.on,
                "amount": money_text(source.amount, entry.currency) if source.amount else None,
                "currency": source.currency,
            },
        )


def _opening_funded(pack: UpstreamPack) -> bool:
    return (
        pack.transaction_id is not None
        and JournalEntry.objects.filter(
            transaction_id=pack.transaction_id, account__kind=AccountKind.OPENING_BALANCE_EQUITY
        ).exists()
    )


def _packs_compare(rows: list[Planned]) -> None:
    wanted = defaultdict(set)
    for planned in rows:
        if planned.channel is not None and planned.source.document:
            wanted[planned.channel.pk].add(planned.source.document)
    stored = {}
    for channel_id, references in wanted.items():
        for pack in UpstreamPack.objects.filter(channel_id=channel_id, reference__in=references):
            stored[(channel_id, pack.reference)] = pack
    for planned in rows:
        if planned.channel is None:
            continue
        pack = stored.get((planned.channel.pk, planned.source.document))
        if pack is None:
            continue
        planned.existing = pack
        if pack.kind != UpstreamPack.Kind.PREPAYMENT or not _opening_funded(pack):
            planned.problem(
                "document",
                _(
                    "%(reference)s on %(channel)s is already recorded as a purchase (%(kind)s), not as an "
                    "opening balance: give the opening balance its own document."
                )
                % {
                    "reference": pack.reference,
                    "channel": planned.channel.name,
                    "kind": pack.get_kind_display(),
                },
            )
            continue
        source = planned.source
        _differences(
            planned,
            {
                "date": timezone.localdate(pack.starts_at, ZoneInfo(settings.TIME_ZONE)),
                "amount": money_text(pack.price, pack.currency),
                "currency": pack.currency,
                "expires_on": timezone.localdate(pack.expires_at, ZoneInfo(settings.TIME_ZONE))
                if pack.expires_at
                else None,
            },
            {
                "date": source.on,
                "amount": money_text(source.amount, pack.currency) if source.amount else None,
                "currency": source.currency,
                "expires_on": source.expires_on,
            },
        )
