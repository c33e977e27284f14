"""Writes for service charges: value-added services staff bill credit customers (once, or recurring)."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.invoicing.models import ServiceCharge
from billing.money import is_money


@transaction.atomic
def service_charge_create(
    *,
    customer: Customer,
    description: str,
    amount: Decimal,
    recurrence: str,
    starts_on: date,
    ends_on: date | None = None,
    actor=None,
) -> ServiceCharge:
    """Record a charge for the next close(s), in the customer's billing currency."""
    terms = getattr(customer, "billing_terms", None)
    if terms is None or not terms.is_credit:
        raise ValidationError(
            {
                "customer": _("%(customer)s is prepaid; service charges are for credit customers.")
                % {"customer": customer}
            }
        )
    if amount <= 0 or not is_money(amount, terms.currency):
        raise ValidationError(
            {"amount": _("Enter a positive amount in %(currency)s.") % {"currency": terms.currency}}
        )
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end date is before the start date.")})
    if recurrence not in ServiceCharge.Recurrence.values:
        raise ValidationError({"recurrence": _("Unknown recurrence.")})
    return ServiceCharge.objects.create(
        customer=customer,
        description=description.strip(),
        amount=amount,
        currency=terms.currency,
        recurrence=recurrence,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor,
    )


@transaction.atomic
def service_charge_end(*, charge: ServiceCharge, on: date) -> ServiceCharge:
    """Stop a charge after ``on`` (already-billed periods stay billed); a one-off is simply deactivated."""
    charge = ServiceCharge.objects.select_for_update().get(pk=charge.pk)
    if charge.recurrence == ServiceCharge.Recurrence.ONE_OFF or on < charge.starts_on:
        charge.is_active = False
    else:
        charge.ends_on = on if charge.ends_on is None else min(charge.ends_on, on)
    charge.save(update_fields=["is_active", "ends_on"])
    return charge
