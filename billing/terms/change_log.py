"""The billing terms change log as a person reads it, in the reader's language.

``BillingTermsChange.changes`` keeps ``{field: [old, new]}`` as the text the service wrote (choice values
such as ``on_receipt``, exact decimals, ``True``/``False``): a record for audit, not a sentence. Rendering
happens here, at read time, so the same row reads "Payment term: Due on receipt → Net N days" in English
and "付款条件：收到即付 → 净 N 天" in Chinese.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.terms.models import BillingTerms, BillingTermsChange
from billing.terms.services import EDITABLE_FIELDS
from common.currencies import amount_display

MONEY_FIELDS = ("credit_limit", "progressive_threshold")
FRACTION_FIELDS = ("tax_rate", "progressive_limit_share")  # stored as fractions, read as percentages
CHANGE_LOG_PAGE_SIZE = 20


@dataclass(frozen=True)
class ChangeLine:
    field: str
    label: str
    old: str
    new: str


def terms_changes(customer: Customer) -> QuerySet[BillingTermsChange]:
    """The customer's terms changes, newest first, with who made them."""
    return (
        BillingTermsChange.objects.filter(terms__customer=customer)
        .select_related("actor", "terms")
        .order_by("-changed_at", "-pk")
    )


def change_log_page(customer: Customer, page_number, *, per_page: int = CHANGE_LOG_PAGE_SIZE) -> Page:
    """One page of the change log; each change gets ``lines`` (``ChangeLine``) to show."""
    page = Paginator(terms_changes(customer), per_page).get_page(page_number)
    for change in page.object_list:
        change.lines = change_lines(change)
    return page


def change_lines(change: BillingTermsChange) -> list[ChangeLine]:
    """Each changed field of ``change`` with its label and both values in the active language; a payment
    term changed with its days reads as one line ("Due on receipt → Net 30 days")."""
    changes = dict(change.changes or {})
    currency = change.terms.currency
    old_currency = currency
    if "currency" in changes:
        old_currency, currency = changes["currency"][0] or currency, changes["currency"][1] or currency
    lines = []
    if "payment_term" in changes and "payment_days" in changes:
        (old_term, new_term), (old_days, new_days) = changes.pop("payment_term"), changes.pop("payment_days")
        lines.append(
            ChangeLine(
                field="payment_term",
                label=field_label("payment_term"),
                old=payment_term_text(old_term, old_days),
                new=payment_term_text(new_term, new_days),
            )
        )
    for field, pair in changes.items():
        old, new = pair
        lines.append(
            ChangeLine(
                field=field,
                label=field_label(field),
                old=value_text(field, old, old_currency),
                new=value_text(field, new, currency),
            )
        )
    return sorted(lines, key=lambda line: _field_rank(line.field))


def payment_term_text(term: str, days) -> str:
    """A payment term with its days, as the customer page shows it: "Net 30 days"."""
    if term == BillingTerms.PaymentTerm.NET:
        return _("Net %(days)s days") % {"days": days}
    if term == BillingTerms.PaymentTerm.END_OF_MONTH:
        return _("End of month + %(days)s days") % {"days": days}
    return value_text("payment_term", term, "")


def _field_rank(field: str) -> int:
    """Fields in the terms page's order (a JSON column keeps its own); the rest after them."""
    return EDITABLE_FIELDS.index(field) if field in EDITABLE_FIELDS else len(EDITABLE_FIELDS)


def field_label(field: str) -> str:
    """The verbose name of a terms field (or the customer's document language) in the active language."""
    if field == "mode_from":
        return _("New billing mode applies from")
    model = Customer if field == "language" else BillingTerms
    try:
        return capfirst(str(model._meta.get_field(field).verbose_name))
    except FieldDoesNotExist:
        return field  # a field since removed: its stored name is the best label there is


def value_text(field: str, value, currency: str) -> str:
    """One stored value as a person reads it; a blank value is a dash."""
    if field == "credit_limit":
        return credit_limit_text(value, currency)
    if value is None or value == "":
        return "—"
    value = str(value)
    if field == "mode_from":
        return _local_time(value)
    model = Customer if field == "language" else BillingTerms
    try:
        model_field = model._meta.get_field(field)
    except FieldDoesNotExist:
        return value
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.get_internal_type() == "BooleanField":
        return _("Yes") if value == "True" else _("No")
    number = _decimal(value)
    if number is None:
        return value
    if field in MONEY_FIELDS:
        return f"{amount_display(number, currency)} {currency}"
    if field in FRACTION_FIELDS:
        return f"{(number * 100).normalize():f}%"
    if field == "spike_factor":
        return f"× {number.normalize():f}"
    return f"{number.normalize():f}"


def credit_limit_text(value, currency: str) -> str:
    """A credit limit as text: zero or blank is no limit at all (the credit check skips it), said so."""
    number = _decimal(value) if value not in (None, "") else Decimal(0)
    if not number:
        return _("No credit limit")
    return f"{amount_display(number, currency)} {currency}"


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _local_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s")  # "just after" a usage: seconds matter
