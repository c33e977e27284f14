"""Onboarding a customer from the staff dashboard in one step: the customer with its billing terms, a
sub-distributor's chain terms, the payment term and credit limit, and the plan that prices it.

All or nothing: a refused credit limit or plan leaves no half-made customer behind. What remains to do
afterwards (a gateway key, a portal user) is the customer page's checklist (``onboarding_checklist``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.customers.chain_terms import chain_terms_update
from billing.terms.models import BillingTerms
from billing.terms.services import billing_terms_update, customer_onboard
from catalog.errors import PricingError
from catalog.models import PlanAssignment, SellPlan
from catalog.selectors.pricing import plan_for_customer
from catalog.services.plans import plan_assign
from common.days import local_midnight

CHAIN_TERMS_FIELDS = ("commission_basis", "commission_rate", "retail_floor")
TERMS_FIELDS = ("payment_term", "payment_days", "credit_limit")
ONBOARDING_FIELDS = (*CHAIN_TERMS_FIELDS, *TERMS_FIELDS, "plan")


@transaction.atomic
def staff_customer_onboard(*, data: dict, actor=None) -> Customer:
    """Create the customer from the staff form's cleaned ``data``; raise ``ValidationError`` keyed by form
    field (credit limit decimals, a plan the customer cannot be priced by) and write nothing then.

    The payment term and credit limit go through ``billing_terms_update``, so they are validated as an
    edit of the terms page is and appear in the terms change log with who set them.
    """
    data = dict(data)
    chain_terms = {name: data.pop(name, None) for name in CHAIN_TERMS_FIELDS}
    terms = {name: data.pop(name, None) for name in TERMS_FIELDS}
    plan: SellPlan | None = data.pop("plan", None)
    customer = customer_onboard(**data)
    if customer.is_sub_distributor:
        chain_terms_update(sub=customer, **chain_terms)
    values = {name: value for name, value in terms.items() if value not in (None, "")}
    if values:
        billing_terms_update(customer=customer, values=values, actor=actor)
    if plan is not None:
        plan_assign(
            customer=customer,
            plan=plan,
            effective_from=_plan_start(data.get("terms_from")),
            created_by=actor,
        )
    return customer


def _plan_start(terms_from: datetime | None) -> datetime:
    """The plan prices from when the terms apply, else from the start of today (operator's time zone)."""
    return terms_from or local_midnight(timezone.localdate())


def plan_assigned(customer: Customer) -> bool:
    """Whether a plan was chosen for ``customer``, now or from a later day: its own, or one given to a
    sub-distributor above it for the subtree. Only plans of its price owner count, as in pricing
    (``catalog.selectors.pricing.plan_for_customer``); the default plan is not a choice."""
    return (
        PlanAssignment.objects.filter(
            customer_id__in=[customer.pk, *customer.ancestor_ids()],
            plan__is_active=True,
            plan__owner_id=customer.price_owner_id,
        )
        .exclude(effective_to__lte=timezone.now())
        .exists()
    )


@dataclass(frozen=True)
class ChecklistStep:
    name: str
    label: str
    done: bool
    tab: str


def onboarding_checklist(customer: Customer) -> list[ChecklistStep]:
    """What a new customer needs before it can use the service and be billed, each with the customer page's
    tab where it is done: billing terms, its own plan, a gateway key, a portal user."""
    return [
        ChecklistStep("terms", _("Billing terms"), _has_terms(customer), "terms"),
        _plan_step(customer),
        ChecklistStep("key", _("Gateway key mapped"), customer.gateway_keys.exists(), "keys"),
        ChecklistStep("user", _("Portal user invited"), _portal_user_invited(customer), "users"),
    ]


def _plan_step(customer: Customer) -> ChecklistStep:
    """The operator's customer needs a plan of its own (its default plan is not a choice). A reseller's
    customer is priced by its seller, who assigns plans in its portal: the step is the seller's, done once
    one of the seller's plans prices it, its default plan included."""
    if customer.price_owner_id is None:
        return ChecklistStep("plan", _("Plan assigned"), plan_assigned(customer), "plan")
    return ChecklistStep("plan", _("Plan set by its seller"), _seller_prices(customer), "plan")


def _seller_prices(customer: Customer) -> bool:
    if plan_assigned(customer):
        return True
    try:
        plan_for_customer(customer, timezone.now())
    except PricingError:
        return False  # the seller has no plan for it yet, not even a default in its currency
    return True


def _has_terms(customer: Customer) -> bool:
    return BillingTerms.objects.filter(customer=customer).exists()


def _portal_user_invited(customer: Customer) -> bool:
    """A portal user signed up, or an invitation still open (an expired or revoked one invites nobody)."""
    pending = customer.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    return customer.memberships.exists() or pending.exists()
