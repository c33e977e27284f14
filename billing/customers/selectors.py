"""Reads for the customer pages and the home overview: customers with their billing terms."""

from django.db.models import Count, QuerySet

from accounts.models import Customer
from billing.terms.models import BillingTerms


def customer_mix(customers: QuerySet[Customer]) -> dict:
    """Count ``customers`` by kind and by billing mode, for the overview charts."""
    by_kind = dict(customers.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    by_mode = dict(
        customers.values_list("billing_terms__mode")
        .annotate(n=Count("id"))
        .values_list("billing_terms__mode", "n")
    )
    return {
        "total": sum(by_kind.values()),
        "by_kind": [(label, by_kind.get(value, 0)) for value, label in Customer.Kind.choices],
        "by_mode": [(label, by_mode.get(value, 0)) for value, label in BillingTerms.Mode.choices],
    }
