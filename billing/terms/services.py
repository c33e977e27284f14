"""Writes for billing terms: onboarding, and staff edits with validation and an audit trail."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from accounts.services import customer_create
from billing.ledger.models import JournalEntry
from billing.money import currency_exponent, is_money, money_text
from billing.terms.credit import credit_limit_check
from billing.terms.models import CREDIT_MODES, BillingTerms, BillingTermsChange, RiskFlag
from billing.terms.spans import spans_lock_exclusive, terms_span_start, terms_span_switch

MAX_PAYMENT_DAYS = 365
# The fields staff edit on the billing terms page, in page order; ``language`` lives on the customer.
EDITABLE_FIELDS = (
    "mode",
    "currency",
    "payment_term",
    "payment_days",
    "credit_limit",
    "credit_policy",
    "tax_rate",
    "tax_label",
    "tax_id",
    "billing_address",
    "billing_emails",
    "review_invoices",
    "auto_apply_credit",
    "overdue_flag_days",
    "spike_factor",
    "progressive_threshold",
    "progressive_limit_share",
    "dunning_policy",
)
# Risk flags (billing.dunning.risk) and interim invoices (progressive billing) watch credit customers only.
CREDIT_ONLY_FIELDS = ("overdue_flag_days", "spike_factor", "progressive_threshold", "progressive_limit_share")
MAX_OVERDUE_FLAG_DAYS = 3650
SPIKE_FACTOR_RANGE = (Decimal("1.01"), Decimal("1000"))
LIMIT_SHARE_RANGE = (Decimal("0.01"), Decimal("1"))


@transaction.atomic
def customer_onboard(
    *,
    name: str,
    code: str,
    kind: str,
    parent: Customer | None,
    language: str,
    contact_email: str,
    mode: str,
    currency: str,
    terms_from: datetime | None = None,
    chain_mode: str = Customer.ChainMode.RESALE,
) -> Customer:
    """Create a customer together with its billing terms and their first span, so no customer exists
    without terms; a sub-distributor sells in ``chain_mode`` (``accounts.chain``). ``terms_from``: from
    when the terms apply (recorded on the span; usage before it is charged under these terms too, see
    ``billing.terms.spans``). Raises ``ValidationError`` for a ``terms_from`` in the future: usage
    already charged could not follow it."""
    if terms_from is not None and terms_from > timezone.now():
        raise ValidationError({"terms_from": _("The terms cannot apply from a time in the future.")})
    customer = customer_create(
        name=name,
        code=code,
        kind=kind,
        parent=parent,
        language=language,
        contact_email=contact_email,
        chain_mode=chain_mode,
    )
    BillingTerms.objects.create(customer=customer, mode=mode, currency=currency)
    terms_span_start(customer=customer, mode=mode, starts_at=terms_from)
    return customer


def billing_emails_parse(value: str) -> tuple[list[str], list[str]]:
    """Split a comma/semicolon/newline separated list; return ``(valid, invalid)`` addresses."""
    raw = [part.strip() for part in value.replace(";", ",").replace("\n", ",").split(",")]
    valid, invalid = [], []
    for address in filter(None, raw):
        try:
            validate_email(address)
        except ValidationError:
            invalid.append(address)
        else:
            valid.append(address)
    return valid, invalid


def _has_activity_in(customer: Customer, currency: str) -> bool:
    return (
        JournalEntry.objects.filter(account__customer=customer, currency=currency).exists()
        or customer.invoices.filter(currency=currency).exists()
    )


def billing_terms_errors(*, terms: BillingTerms, values: dict) -> dict[str, str]:
    """Return the refusals of ``values`` (the new field values) per field name; empty when acceptable."""
    errors: dict[str, str] = {}
    mode = values.get("mode", terms.mode)
    credit_limit = values.get("credit_limit", terms.credit_limit)
    currency = (values.get("currency") or "").strip().upper()
    if credit_limit is not None and credit_limit < 0:
        errors["credit_limit"] = _("The credit limit cannot be negative.")
    elif (
        credit_limit
        and len(currency) == 3
        and not is_money(credit_limit, currency)
        # A limit stored before the check (a JPY 1000.50) must not block edits of other fields.
        and (credit_limit != terms.credit_limit or currency != terms.currency)
    ):
        errors["credit_limit"] = _("%(currency)s amounts have at most %(places)s decimal places.") % {
            "currency": currency,
            "places": currency_exponent(currency),
        }
    elif credit_limit and mode == BillingTerms.Mode.PREPAID:
        errors["credit_limit"] = _(
            "A credit limit needs a credit mode (monthly or quarterly); prepaid customers have none."
        )
    days = values.get("payment_days", terms.payment_days)
    if days is None or not 0 <= days <= MAX_PAYMENT_DAYS:
        errors["payment_days"] = _("Payment days must be between 0 and %(max)s.") % {"max": MAX_PAYMENT_DAYS}
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = _("Give the currency as a three-letter ISO 4217 code, e.g. CNY.")
    elif terms.pk and currency != terms.currency and _has_activity_in(terms.customer, terms.currency):
        errors["currency"] = _(
            "The currency cannot change from %(old)s to %(new)s: this customer already has invoices or "
            "ledger activity in %(old)s. Settle and close them first, or keep %(old)s."
        ) % {"old": terms.currency, "new": currency}
    tax_rate = values.get("tax_rate", terms.tax_rate)
    if tax_rate is None or not Decimal(0) <= tax_rate <= Decimal(1):
        errors["tax_rate"] = _("The tax rate is a fraction between 0 and 1 (0.06 is 6%).")
    _valid, invalid = billing_emails_parse(values.get("billing_emails", terms.billing_emails) or "")
    if invalid:
        errors["billing_emails"] = _("Not a valid e-mail address: %(addresses)s.") % {
            "addresses": ", ".join(invalid)
        }
    errors.update(_credit_only_errors(terms=terms, values=values, mode=mode, currency=currency))
    policy = values.get("dunning_policy", terms.dunning_policy)
    if policy is not None and not policy.is_active and policy.pk != terms.dunning_policy_id:
        errors["dunning_policy"] = _("The dunning policy %(name)s is not active.") % {"name": policy.name}
    return errors


def _credit_only_errors(*, terms: BillingTerms, values: dict, mode: str, currency: str) -> dict[str, str]:
    """Refusals of the risk-flag and interim-invoice fields: credit terms only, each within its range."""
    errors: dict[str, str] = {}
    new = {field: values.get(field, getattr(terms, field)) for field in CREDIT_ONLY_FIELDS}
    if mode not in CREDIT_MODES:
        for field, value in new.items():
            if value is not None:
                errors[field] = _(
                    "Only credit terms (monthly or quarterly) have this setting; leave it blank for a "
                    "prepaid customer."
                )
        return errors
    days = new["overdue_flag_days"]
    if days is not None and not 1 <= days <= MAX_OVERDUE_FLAG_DAYS:
        message = _("Give a whole number of days from 1 to %(max)s, or leave it blank.")
        errors["overdue_flag_days"] = message % {"max": MAX_OVERDUE_FLAG_DAYS}
    factor = new["spike_factor"]
    if factor is not None and not SPIKE_FACTOR_RANGE[0] <= factor <= SPIKE_FACTOR_RANGE[1]:
        errors["spike_factor"] = _(
            "The spike factor is a multiple of the trailing average from 1.01 to 1000 (3 flags a day three "
            "times the usual), or blank."
        )
    threshold = new["progressive_threshold"]
    if threshold is not None and threshold <= 0:
        errors["progressive_threshold"] = _("The interim-invoice threshold must be more than zero, or blank.")
    elif threshold is not None and len(currency) == 3 and not is_money(threshold, currency):
        message = _("%(currency)s amounts have at most %(places)s decimal places.")
        places = currency_exponent(currency)
        errors["progressive_threshold"] = message % {"currency": currency, "places": places}
    share = new["progressive_limit_share"]
    limit = values.get("credit_limit", terms.credit_limit)
    if share is not None and not LIMIT_SHARE_RANGE[0] <= share <= LIMIT_SHARE_RANGE[1]:
        errors["progressive_limit_share"] = _(
            "The share of the credit limit is a fraction from 0.01 to 1 (0.8 is 80%), or blank."
        )
    elif share is not None and not limit:
        errors["progressive_limit_share"] = _(
            "A share of the credit limit needs a credit limit: set the limit, or give an amount instead."
        )
    return errors


def _flags_close_disabled(terms: BillingTerms) -> None:
    """Close the open risk flags these terms no longer watch for (a blank field, prepaid terms): the
    gateway hears of the restore from the closed row (``billing.gateway.receivers``)."""
    watched = set()
    if terms.is_credit and terms.overdue_flag_days:
        watched.add(RiskFlag.Kind.OVERDUE)
    if terms.is_credit and terms.spike_factor:
        watched.add(RiskFlag.Kind.SPIKE)
    stale = RiskFlag.objects.select_for_update().filter(customer=terms.customer, ended_at__isnull=True)
    for flag in stale.exclude(kind__in=watched):
        flag.ended_at = timezone.now()
        flag.save(update_fields=["ended_at"])


def _as_text(field: str, value, currency: str) -> str:
    if value is None:
        return ""
    # Stored with three places for every currency; recorded in its own.
    if field in ("credit_limit", "progressive_threshold"):
        return money_text(value, currency)
    return str(value)


def _differs(old, new) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(old or 0) != Decimal(new or 0)  # 1000.00 and 1000 are the same limit
    if hasattr(old, "pk") or hasattr(new, "pk"):
        return getattr(old, "pk", None) != getattr(new, "pk", None)
    return (old or "") != (new or "") if isinstance(old or new, str) else old != new


@transaction.atomic
def billing_terms_update(*, customer: Customer, values: dict, actor=None) -> BillingTerms:
    """Change ``customer``'s billing terms (and its document language) and record who changed what.

    ``values`` maps field names of ``EDITABLE_FIELDS`` (plus ``language``) to new values. Raises
    ``ValidationError`` with a message per field when a value is refused; nothing is written then.
    The credit limit is re-checked after commit, so a lower limit or a stricter policy takes effect
    (and notifies the gateway) at once. A new mode applies from now, or from just after the customer's
    latest usage when that is dated later (``spans.terms_span_switch``); the change log says from when.
    """
    current = BillingTerms.objects.filter(customer=customer).values_list("mode", flat=True).first()
    if values.get("mode", current) != current:
        # The switch's lock comes before the row locks below: a charging batch holding it shared may be
        # waiting for this customer's row (a wallet debit locks it), and would deadlock with us.
        spans_lock_exclusive()
    terms = BillingTerms.objects.select_for_update().filter(customer=customer).first()
    if terms is None:
        terms = BillingTerms(customer=customer, currency=values.get("currency") or "")
    values = dict(values)
    if "currency" in values:
        values["currency"] = (values["currency"] or "").strip().upper()
    else:
        values["currency"] = terms.currency
    if values.get("payment_term") == BillingTerms.PaymentTerm.DUE_ON_RECEIPT:
        values["payment_days"] = 0  # due on receipt has no days; keep the record unambiguous
    if "billing_emails" in values:
        valid, _invalid = billing_emails_parse(values["billing_emails"] or "")
    errors = billing_terms_errors(terms=terms, values=values)
    language = values.pop("language", customer.language)
    if language not in {code for code, _label in Customer._meta.get_field("language").choices}:
        errors["language"] = _("Unknown document language %(language)s.") % {"language": language}
    if errors:
        raise ValidationError(errors)
    if "billing_emails" in values:
        values["billing_emails"] = ", ".join(valid)
    old_mode = terms.mode if terms.pk is not None else None
    changes = {}
    for field in EDITABLE_FIELDS:
        if field not in values:
            continue
        old = getattr(terms, field)
        new = values[field]
        if terms.pk is None or _differs(old, new):
            changes[field] = [
                _as_text(field, old, terms.currency or values["currency"]),
                _as_text(field, new, values["currency"]),
            ]
            setattr(terms, field, new)
    if language != customer.language:
        changes["language"] = [customer.language, language]
        customer.language = language
        customer.save(update_fields=["language"])
    terms.full_clean()
    terms.save()
    span = None
    if old_mode is None or "mode" in changes:
        span = terms_span_switch(customer=customer, old_mode=old_mode, new_mode=terms.mode, at=timezone.now())
    if span is not None and span.starts_at is not None:
        changes["mode_from"] = ["", timezone.localtime(span.starts_at).isoformat(sep=" ")]
    if changes:
        BillingTermsChange.objects.create(terms=terms, actor=actor, changes=changes)
        _flags_close_disabled(terms)
        customer_id = customer.pk

        def recheck():
            credit_limit_check(customer_ids=[customer_id])

        transaction.on_commit(recheck)
    return terms
