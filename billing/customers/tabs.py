"""The staff customer page's tabs: each a small view of one customer, rendered as a partial.

The page is ``/dashboard/customers/<pk>/?tab=<name>``. A tab link loads the tab with htmx (the partial
alone) and pushes that address; opened without htmx (no script, a bookmark, a page link in a list), the
same address renders the whole page with that tab open. Lists page with ``?tab=<name>&page=N`` through
the shared pagination, which keeps the query string, so paging works either way.

Each builder gets the request and a customer the user may see (``customer_for_user`` was checked) and
returns the tab's template context; who may *change* what is decided here and again by the POST views.
"""

import json
from dataclasses import dataclass
from datetime import date

from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, StaffRole
from billing.customers.forms import CustomerKeyForm
from billing.dunning.models import DunningNotice
from billing.dunning.selectors import overdue_notices
from billing.terms.change_log import change_log_page
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.selectors import customer_exposure
from billing.usage.filters import CustomerUsageFilter
from billing.usage.models import GatewayKey
from billing.usage.selectors import daily_rows
from billing.usage.views.common import usage_context
from billing.wallets.selectors import wallet_balance, wallet_history, wallets_for_customer
from catalog.errors import PricingError
from catalog.forms import PlanAssignForm
from catalog.selectors.pricing import plan_for_customer
from catalog.views.common import PRICE_EDITORS

PAGE_SIZE = 20
# Sales set customers up (DESIGN §2): mapping a new customer's gateway key is part of that, so sales may
# add one here for a customer it sees. Disabling keys, sources and holds stay with admin and finance.
KEY_MAPPERS = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SALES)
TERMS_EDITORS = (StaffRole.SALES, StaffRole.FINANCE, StaffRole.ADMIN)
MONEY_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)
STATEMENT_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SUPPORT, StaffRole.AUDITOR)
STATEMENT_MONTHS = 24


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    icon: str


TABS = (
    Tab("profile", _("Profile"), "person-vcard"),
    Tab("terms", _("Terms and limits"), "file-earmark-text"),
    Tab("plan", _("Plan and prices"), "tags"),
    Tab("keys", _("Gateway keys"), "key"),
    Tab("users", _("Portal users"), "people"),
    Tab("wallet", _("Wallet"), "wallet2"),
    Tab("usage", _("Usage"), "graph-up"),
    Tab("invoices", _("Invoices"), "receipt"),
    Tab("payments", _("Payments"), "cash-coin"),
    Tab("credit_notes", _("Credit notes"), "file-earmark-minus"),
    Tab("statements", _("Statements"), "journal-text"),
    Tab("dunning", _("Dunning"), "bell"),
    Tab("changes", _("Terms change log"), "clock-history"),
)


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _terms(customer: Customer) -> BillingTerms | None:
    return BillingTerms.objects.filter(customer=customer).select_related("dunning_policy").first()


def profile_tab(request, customer: Customer) -> dict:
    children = Customer.objects.filter(parent=customer).select_related("billing_terms").order_by("name")
    return {
        "ancestors": Customer.objects.filter(pk__in=customer.ancestor_ids()).order_by("depth"),
        "page_obj": _page(request, children),
    }


def terms_tab(request, customer: Customer) -> dict:
    terms = _terms(customer)
    context = {
        "terms": terms,
        "can_edit_terms": request.user.staff_role in TERMS_EDITORS,
        "breaches": CreditLimitBreach.objects.filter(customer=customer)[:5],
        "flags": customer.risk_flags.filter(ended_at__isnull=True),
    }
    if terms is not None and terms.is_credit:
        exposure = customer_exposure(customer=customer, currency=terms.currency)
        context.update(exposure=exposure, headroom=terms.credit_limit - exposure)
    return context


def plan_tab(request, customer: Customer, form: PlanAssignForm | None = None) -> dict:
    may_assign = request.user.staff_role in PRICE_EDITORS
    assignments = customer.plan_assignments.select_related("plan").order_by("-effective_from")
    # A reseller's customer is priced by its seller's plans, which the seller assigns in its portal; staff
    # may assign them too (plan_assign accepts any plan of the price owner), never the operator's.
    seller = customer.price_owner
    context = {"may_assign": may_assign, "page_obj": _page(request, assignments), "seller": seller}
    if may_assign:
        context["assign_form"] = form = form or PlanAssignForm(customer=customer)
        context["has_plan_choices"] = form.fields["plan"].queryset.exists()
    try:
        context["plan"], source = plan_for_customer(customer, timezone.now())
        context["plan_source"] = source.split(" ", 1)[0]  # "assigned", "inherited …" or "default"
    except PricingError as exc:
        context["plan_error"] = exc.detail
    return context


def keys_tab(request, customer: Customer, form: CustomerKeyForm | None = None) -> dict:
    may_map = request.user.staff_role in KEY_MAPPERS
    keys = GatewayKey.objects.filter(customer=customer).select_related("source").order_by("-created_at")
    context = {"may_map": may_map, "page_obj": _page(request, keys)}
    if may_map:
        context["key_form"] = form or CustomerKeyForm()
    return context


def users_tab(request, customer: Customer) -> dict:
    """The portal users: the users panel (invite, resend, revoke, roles) where it is installed, loaded from
    its own address; the members list otherwise and for a page without scripts."""
    try:
        panel_url = reverse("staff-customer-users", args=[customer.pk])
    except NoReverseMatch:
        panel_url = None
    members = customer.memberships.select_related("user").order_by("user__email")
    return {"users_panel_url": panel_url, "page_obj": _page(request, members)}


def wallet_tab(request, customer: Customer) -> dict:
    wallets = list(wallets_for_customer(customer=customer))
    terms = _terms(customer)
    currency = (request.GET.get("currency") or (terms.currency if terms else "")).upper()
    wallet = next((w for w in wallets if w.currency == currency), wallets[0] if wallets else None)
    context = {"wallets": wallets, "wallet": wallet, "currency": wallet.currency if wallet else currency}
    if wallet is not None:
        history = wallet_history(wallet=wallet)
        context.update(balance=wallet_balance(wallet=wallet), page_obj=_page(request, history))
    return context


def usage_tab(request, customer: Customer) -> dict:
    context = usage_context(request, daily_rows(customers=[customer.pk]), CustomerUsageFilter, show_cost=True)
    # Also as attributes: htmx drops the page's json_script blocks from a swapped-in tab.
    context["chart_json"] = json.dumps(context["chart"], cls=DjangoJSONEncoder)
    context["chart_labels_json"] = json.dumps(context["chart_labels"], cls=DjangoJSONEncoder)
    return context


def invoices_tab(request, customer: Customer) -> dict:
    invoices = customer.invoices.order_by("-issue_date", "-created_at", "-pk")
    return {"page_obj": _page(request, invoices), "today": timezone.localdate()}


def payments_tab(request, customer: Customer) -> dict:
    payments = customer.payments.order_by("-received_on", "-recorded_at", "-pk")
    return {"page_obj": _page(request, payments), "may_record": request.user.staff_role in MONEY_ROLES}


def credit_notes_tab(request, customer: Customer) -> dict:
    notes = customer.credit_notes.select_related("invoice").order_by("-issue_date", "-pk")
    return {"page_obj": _page(request, notes)}


def statements_tab(request, customer: Customer) -> dict:
    """The months a statement of account can be opened for, newest first, back to the customer's start."""
    today = timezone.localdate()
    first = timezone.localdate(customer.created_at) if customer.created_at else today
    months, year, month = [], today.year, today.month
    while (year, month) >= (first.year, first.month) and len(months) < STATEMENT_MONTHS:
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return {"page_obj": _page(request, months), "may_open": request.user.staff_role in STATEMENT_ROLES}


def dunning_tab(request, customer: Customer) -> dict:
    notices = (
        DunningNotice.objects.filter(invoice__customer=customer)
        .select_related("invoice", "level")
        .order_by("-sent_at", "-pk")
    )
    return {
        "terms": _terms(customer),
        "suspending": list(overdue_notices(customer_id=customer.pk)),
        "flags": customer.risk_flags.filter(ended_at__isnull=True),
        "page_obj": _page(request, notices),
    }


def changes_tab(request, customer: Customer) -> dict:
    return {"change_page": change_log_page(customer, request.GET.get("page"))}


BUILDERS = {
    "profile": profile_tab,
    "terms": terms_tab,
    "plan": plan_tab,
    "keys": keys_tab,
    "users": users_tab,
    "wallet": wallet_tab,
    "usage": usage_tab,
    "invoices": invoices_tab,
    "payments": payments_tab,
    "credit_notes": credit_notes_tab,
    "statements": statements_tab,
    "dunning": dunning_tab,
    "changes": changes_tab,
}
