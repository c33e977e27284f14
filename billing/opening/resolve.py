"""Resolve the rows of an opening file to the customers or channels they are for, and check that each
may carry the row (the rules are in ``plan``'s docstring)."""

from collections import defaultdict
from typing import TYPE_CHECKING

from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.invoicing.periods import due_date as terms_due_date
from billing.opening.models import OpeningImport
from billing.terms.selectors import customer_currency
from catalog.models import Channel, Settlement
from catalog.selectors.channels import channels_resolve

if TYPE_CHECKING:
    from billing.opening.plan import Planned

Kind = OpeningImport.Kind


def customers_resolve(rows: "list[Planned]", kind: str) -> None:
    """Find each row's customer by its code and check it may carry the row: a receivable on credit terms in
    the terms' currency (its due date completed from them), a deposit in its wallet's currency."""
    codes = {p.source.party for p in rows if p.source.party}
    found = {
        c.code: c for c in Customer.objects.filter(code__in=codes).select_related("billing_terms", "seller")
    }
    missing = {code.lower() for code in codes if code not in found}
    if missing:
        # Codes are slugs; a spreadsheet may have upper-cased them.
        lowered = Customer.objects.annotate(lc=Lower("code")).filter(lc__in=missing)
        by_lower = defaultdict(list)
        for customer in lowered.select_related("billing_terms", "seller"):
            by_lower[customer.code.lower()].append(customer)
        found |= {code: by_lower[code.lower()][0] for code in codes if len(by_lower[code.lower()]) == 1}
    for planned in rows:
        source = planned.source
        if not source.party:
            continue
        customer = found.get(source.party)
        if customer is None:
            planned.problem(
                "customer", _("No customer has the code %(code)s.") % {"code": repr(source.party)}
            )
            continue
        planned.customer = customer
        terms = getattr(customer, "billing_terms", None)
        if kind == Kind.RECEIVABLES:
            _credit_terms(planned, customer, terms)
        elif source.currency and source.currency != customer_currency(customer):
            planned.problem(
                "currency",
                _("%(customer)s's wallet is in %(expected)s, not %(currency)s: a deposit is held in it.")
                % {
                    "customer": customer.name,
                    "expected": customer_currency(customer),
                    "currency": source.currency,
                },
            )


def _credit_terms(planned: "Planned", customer: Customer, terms) -> None:
    source = planned.source
    if terms is None:
        planned.problem(
            "customer",
            _("%(customer)s has no billing terms: give it credit terms before importing what it owes.")
            % {"customer": customer.name},
        )
        return
    if not terms.is_credit:
        planned.problem(
            "customer",
            _(
                "%(customer)s is on prepaid terms: only credit customers are invoiced and collected here. "
                "Move it to monthly or quarterly credit first, or import what it owes net of its deposit."
            )
            % {"customer": customer.name},
        )
        return
    if source.currency and source.currency != terms.currency:
        planned.problem(
            "currency",
            _(
                "%(customer)s is billed in %(expected)s, not %(currency)s: its credit limit and dunning "
                "are kept in that currency."
            )
            % {"customer": customer.name, "expected": terms.currency, "currency": source.currency},
        )
    if source.on is not None:
        planned.due_date = source.due_date or terms_due_date(terms, source.on)


def channels_resolve_rows(rows: "list[Planned]") -> None:
    """Find each row's channel by its name, alias or id and check it is prepaid, in the row's currency."""
    names = {p.source.party for p in rows if p.source.party}
    found = channels_resolve(names)
    ids = {int(name) for name in names if name.isdigit() and name.lower() not in found}
    by_id = Channel.objects.select_related("contract").in_bulk(ids) if ids else {}
    for planned in rows:
        source = planned.source
        if not source.party:
            continue
        channel = found.get(source.party.lower())
        if channel is None and source.party.isdigit():
            channel = by_id.get(int(source.party))
        if channel is None:
            planned.problem(
                "channel", _("%(name)s is no channel's name, alias or id.") % {"name": repr(source.party)}
            )
            continue
        planned.channel = channel
        contract = channel.contract
        if contract.settlement != Settlement.PREPAID:
            planned.problem(
                "channel",
                _("%(channel)s is postpaid: only channels of prepaid contracts hold credit paid in advance.")
                % {"channel": channel.name},
            )
        elif source.currency and source.currency != contract.currency:
            planned.problem(
                "currency",
                _("%(channel)s's contract is in %(expected)s, not %(currency)s.")
                % {"channel": channel.name, "expected": contract.currency, "currency": source.currency},
            )
