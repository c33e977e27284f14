"""Django discovers the billing app's models here; each capability keeps its own in its package."""

from billing.terms.models import BillingTerms

__all__ = ["BillingTerms"]
