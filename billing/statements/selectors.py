"""Reads for document pages: which documents a user may see (always through ``customers_visible_to``)."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import customers_visible_to
from billing.invoicing.models import UsageStatement


def usage_statements_visible_to(user: User) -> QuerySet[UsageStatement]:
    """Monthly prepaid usage statements of the customers ``user`` may see (all of them for staff)."""
    return UsageStatement.objects.filter(customer__in=customers_visible_to(user)).select_related(
        "customer", "customer__billing_terms"
    )
