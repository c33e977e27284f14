"""Writes for billing terms."""

from django.db import transaction

from accounts.models import Customer
from accounts.services import customer_create
from billing.terms.models import BillingTerms


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
) -> Customer:
    """Create a customer together with its billing terms, so no customer exists without terms."""
    customer = customer_create(
        name=name, code=code, kind=kind, parent=parent, language=language, contact_email=contact_email
    )
    BillingTerms.objects.create(customer=customer, mode=mode, currency=currency)
    return customer
