"""The seller console's customer pages: a resale or agency sub-distributor's customers with their balances,
usage, invoices and dunning; a resale one also onboards them and sets their terms, limits, floors and holds.

Who may do what is decided by ``accounts.permissions.seller_member_required``: every member of a seller
reads, owners and billing members of a resale seller write. A customer outside the seller's own customers
is a 404 (``seller_customer`` / ``subtree_customer_or_404``), never a 403 that would confirm it exists.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Customer
from accounts.permissions import SELLER_MANAGERS, seller_member_required, subtree_customer_or_404
from billing.customers.filters import CustomerFilter
from billing.customers.seller_forms import HoldForm, RetailFloorForm, SellerOnboardForm, WalletFloorForm
from billing.customers.seller_selectors import (
    book_totals,
    customer_balances,
    dunning_notices,
    dunning_state,
    open_holds,
    seller_customer,
    seller_customers,
    seller_transfers,
)
from billing.customers.seller_services import (
    seller_customer_onboard,
    seller_hold_lift,
    seller_hold_place,
    seller_retail_floor_set,
    seller_terms_update,
    seller_wallet_floor_set,
)
from billing.customers.terms_form import BillingTermsForm
from billing.gateway.models import GatewayHold
from billing.gateway.status import customer_status
from billing.ledger.exceptions import LedgerError
from billing.money import money_text
from billing.terms.change_log import change_log_page
from billing.terms.models import BillingTerms
from billing.terms.selectors import customer_currency
from billing.wallets.exceptions import WalletError
from billing.wallets.models import LimitMode, Wallet
from common.forms import form_errors_add
from common.listing import filtered_page

RESALE = (Customer.ChainMode.RESALE,)
manager_required = seller_member_required(roles=SELLER_MANAGERS, modes=RESALE)


def can_manage(request) -> bool:
    """Whether the signed-in member may act for its reseller (not only read)."""
    return request.seller.is_reseller and request.user.membership.role in SELLER_MANAGERS


@seller_member_required()
def seller_home(request):
    """The seller's customers with their balances in its book, last 30 days' usage and status."""
    seller = request.seller
    context = filtered_page(request, seller_customers(seller), CustomerFilter)
    page = list(context["page_obj"])
    balances = customer_balances(page)
    dunning = dunning_state(seller_customers(seller).filter(pk__in=[c.pk for c in page]))
    for customer in page:
        customer.balances = balances[customer.pk]
        customer.dunning = dunning.get(customer.pk)
    context.update(
        seller=seller,
        customers=page,
        totals=book_totals(seller) if seller.is_reseller else {},
        can_manage=can_manage(request),
    )
    return render(request, "portal/seller/home.html", context)


@manager_required
def seller_customer_new(request):
    form = SellerOnboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = seller_customer_onboard(seller=request.seller, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("portal-seller-customer", pk=customer.pk)
    return render(request, "portal/seller/customer_new.html", {"form": form})


@seller_member_required()
def seller_customer_detail(request, pk: int):
    seller = request.seller
    customer = seller_customer(seller, pk)
    if customer is None:
        raise Http404
    manages = can_manage(request) and customer.seller_id == seller.pk
    currency = customer_currency(customer)
    wallet = Wallet.objects.filter(customer=customer, currency=currency).first()
    context = {
        "seller": seller,
        "customer": customer,
        "terms": getattr(customer, "billing_terms", None),
        "balances": customer_balances([customer])[customer.pk],
        "status": customer_status(customer_id=customer.pk),
        "holds": open_holds(customer),
        "invoices": customer.invoices.order_by("-issue_date", "-id")[:10],
        "transfers": seller_transfers(seller).filter(customer=customer).order_by("-recorded_at")[:10],
        "notices": dunning_notices(Customer.objects.filter(pk=customer.pk))[:10],
        "can_manage": manages,
    }
    if manages:
        context.update(
            hold_form=HoldForm(),
            floor_form=WalletFloorForm(
                initial={
                    "floor": money_text(wallet.floor if wallet else Decimal("0"), currency),
                    "limit_mode": wallet.limit_mode if wallet else LimitMode.SOFT,
                }
            ),
            retail_floor_form=RetailFloorForm(initial={"retail_floor": customer.retail_floor})
            if customer.is_sub_distributor
            else None,
        )
    return render(request, "portal/seller/customer_detail.html", context)


@manager_required
def seller_terms(request, pk: int):
    customer = subtree_customer_or_404(request, pk, own_book=True)
    terms = BillingTerms.objects.filter(customer=customer).first() or BillingTerms(customer=customer)
    form = BillingTermsForm(request.POST or None, instance=terms, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            seller_terms_update(
                seller=request.seller, customer=customer, values=form.cleaned_data, actor=request.user
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Billing terms of %(name)s saved.") % {"name": customer.name})
            return redirect("portal-seller-customer", pk=customer.pk)
    context = {
        "customer": customer,
        "form": form,
        "changes": change_log_page(customer, request.GET.get("page")),
    }
    return render(request, "portal/seller/terms.html", context)


@require_POST
@manager_required
def seller_wallet_floor(request, pk: int):
    customer = subtree_customer_or_404(request, pk, own_book=True)
    form = WalletFloorForm(request.POST)
    if form.is_valid():
        try:
            seller_wallet_floor_set(
                seller=request.seller,
                customer=customer,
                currency=customer_currency(customer),
                **form.cleaned_data,
            )
        except (WalletError, LedgerError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Wallet floor of %(name)s saved.") % {"name": customer.name})
    else:
        messages.error(request, _("Floor not saved: %(errors)s") % {"errors": _errors(form)})
    return redirect("portal-seller-customer", pk=customer.pk)


@require_POST
@manager_required
def seller_retail_floor(request, pk: int):
    customer = subtree_customer_or_404(request, pk, own_book=True)
    form = RetailFloorForm(request.POST)
    if form.is_valid():
        try:
            seller_retail_floor_set(seller=request.seller, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Retail floor of %(name)s saved.") % {"name": customer.name})
    else:
        messages.error(request, _("Floor not saved: %(errors)s") % {"errors": _errors(form)})
    return redirect("portal-seller-customer", pk=customer.pk)


@require_POST
@manager_required
def seller_hold(request, pk: int):
    customer = subtree_customer_or_404(request, pk, own_book=True)
    form = HoldForm(request.POST)
    if form.is_valid():
        seller_hold_place(
            seller=request.seller, customer=customer, reason=form.cleaned_data["reason"], actor=request.user
        )
        messages.success(
            request,
            _("%(name)s is suspended: gateways now refuse its traffic. Your own service is unchanged.")
            % {"name": customer.name},
        )
    else:
        messages.error(request, _("Not suspended: %(errors)s") % {"errors": _errors(form)})
    return redirect("portal-seller-customer", pk=customer.pk)


@require_POST
@manager_required
def seller_hold_release(request, pk: int):
    hold = get_object_or_404(GatewayHold.objects.select_related("customer", "created_by"), pk=pk)
    customer = subtree_customer_or_404(request, hold.customer_id, own_book=True)
    try:
        seller_hold_lift(seller=request.seller, hold=hold)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Suspension of %(name)s lifted.") % {"name": customer.name})
    return redirect("portal-seller-customer", pk=customer.pk)


@seller_member_required()
def seller_dunning(request):
    """Reminders sent to the seller's customers for unpaid invoices, newest first."""
    notices = dunning_notices(seller_customers(request.seller))
    page = Paginator(notices, 25).get_page(request.GET.get("page"))
    return render(request, "portal/seller/dunning.html", {"page_obj": page})


def _errors(form) -> str:
    return "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}" for f, e in form.errors.items()
    )
