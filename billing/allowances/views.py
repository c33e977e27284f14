"""Pack and subscription pages: staff sell, start and cancel for a customer; a portal user buys for their
own organisation from wallet credit (by card: ``billing.payments.views.card_purchase``)."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import MemberRole, StaffRole
from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, home_customer
from billing.allowances.charges import prepaid_at
from billing.allowances.exceptions import PurchaseError
from billing.allowances.forms import (
    PackSellForm,
    PortalBuyForm,
    SubscriptionCancelForm,
    SubscriptionStartForm,
)
from billing.allowances.models import Subscription
from billing.allowances.purchases import pack_sell, subscription_cancel, subscription_start
from billing.allowances.selectors import (
    customer_card_orders,
    customer_charges,
    customer_pack_purchases,
    customer_subscriptions,
    packs_offered,
    plans_offered,
)
from billing.terms.selectors import customer_currency
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.models import AllowanceUnit

# Who may sell and cancel for a customer: those who set its terms. Other staff read.
SELLING_ROLES = (StaffRole.SALES, StaffRole.FINANCE, StaffRole.ADMIN)
# Portal viewers may look; only owners and billing contacts spend the organisation's money.
BUYING_ROLES = (MemberRole.OWNER, MemberRole.BILLING)
PAGE_SIZE = 25


def _paid_credit(customer, currency: str):
    wallet = Wallet.objects.filter(customer=customer, currency=currency).first()
    return wallet_balance(wallet=wallet).paid if wallet is not None else None


def _context(request, customer) -> dict:
    currency = customer_currency(customer)
    now = timezone.now()
    return {
        "customer": customer,
        "currency": currency,
        "prepaid": prepaid_at({customer.pk: [now]})[(customer.pk, now)],
        "paid_credit": _paid_credit(customer, currency),
        "subscriptions": customer_subscriptions(customer=customer),
        "purchases": Paginator(customer_pack_purchases(customer=customer), PAGE_SIZE).get_page(
            request.GET.get("page")
        ),
        "charges": customer_charges(customer=customer)[:PAGE_SIZE],
        "card_orders": customer_card_orders(customer=customer)[:10],
        "today": timezone.localdate(),
    }


def _staff_customer(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    return customer


@staff_required()
def staff_allowances(request, pk: int):
    customer = _staff_customer(request, pk)
    context = _context(request, customer)
    context["can_sell"] = request.user.staff_role in SELLING_ROLES
    if context["can_sell"]:
        context.update(sell_form=PackSellForm(), start_form=SubscriptionStartForm())
    return render(request, "allowances/staff_customer.html", context)


def _refused(request, form) -> None:
    errors = "; ".join(" ".join(e) for e in form.errors.values())
    messages.error(request, _("Nothing was done: %(errors)s") % {"errors": errors})


@require_POST
@staff_required(roles=SELLING_ROLES)
def staff_pack_sell(request, pk: int):
    customer = _staff_customer(request, pk)
    form = PackSellForm(request.POST)
    if not form.is_valid():
        _refused(request, form)
        return redirect("staff-customer-allowances", pk=pk)
    try:
        purchase = pack_sell(
            customer=customer,
            pack=form.cleaned_data["pack"],
            actor=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except PurchaseError as exc:
        messages.error(request, str(exc))
    else:
        if hasattr(purchase, "charge"):
            messages.success(request, _("%(pack)s sold and paid from the wallet.") % {"pack": purchase.pack})
        else:
            messages.success(
                request, _("%(pack)s sold; it is invoiced at the next close.") % {"pack": purchase.pack}
            )
    return redirect("staff-customer-allowances", pk=pk)


@require_POST
@staff_required(roles=SELLING_ROLES)
def staff_subscription_start(request, pk: int):
    customer = _staff_customer(request, pk)
    form = SubscriptionStartForm(request.POST)
    if not form.is_valid():
        _refused(request, form)
        return redirect("staff-customer-allowances", pk=pk)
    try:
        subscription = subscription_start(
            customer=customer,
            plan=form.cleaned_data["plan"],
            starts_on=form.cleaned_data["starts_on"],
            actor=request.user,
        )
    except PurchaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(plan)s started on %(day)s.") % {"plan": subscription.plan, "day": subscription.starts_on},
        )
    return redirect("staff-customer-allowances", pk=pk)


@require_POST
@staff_required(roles=SELLING_ROLES)
def staff_subscription_cancel(request, pk: int, subscription_pk: int):
    customer = _staff_customer(request, pk)
    subscription = get_object_or_404(Subscription, pk=subscription_pk, customer=customer)
    form = SubscriptionCancelForm(request.POST)
    if not form.is_valid():
        _refused(request, form)
        return redirect("staff-customer-allowances", pk=pk)
    try:
        subscription_cancel(
            subscription=subscription, ends_on=form.cleaned_data["ends_on"], actor=request.user
        )
    except PurchaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(plan)s ends on %(day)s.") % {"plan": subscription.plan, "day": form.cleaned_data["ends_on"]},
        )
    return redirect("staff-customer-allowances", pk=pk)


@customer_user_required
def portal_allowances(request):
    customer = home_customer(request.user)
    context = _context(request, customer)
    packs = packs_offered().filter(currency=context["currency"])
    if not context["prepaid"]:
        # Wallet credit is no use where usage is invoiced (purchases.pack_refusal).
        packs = packs.exclude(unit=AllowanceUnit.CREDIT)
    context.update(
        can_buy=request.user.membership.role in BUYING_ROLES,
        card_enabled=settings.STRIPE_ENABLED,
        packs=packs,
        plans=plans_offered().filter(currency=context["currency"]),
        idempotency_key=f"portal:{uuid.uuid4()}",
    )
    return render(request, "allowances/portal.html", context)


def portal_buy_form(request) -> tuple[object, PortalBuyForm]:
    """The portal user's own organisation and the checked choice of what to buy (for the card view too).

    Raises PermissionDenied for a role that may not spend; the form is invalid for an item not offered
    in the organisation's currency.
    """
    if request.user.membership.role not in BUYING_ROLES:
        raise PermissionDenied
    customer = home_customer(request.user)
    form = PortalBuyForm(request.POST)
    if form.is_valid():
        item = form.cleaned_data["pack"] or form.cleaned_data["plan"]
        if item.currency != customer_currency(customer):
            form.add_error(None, _("%(item)s is not sold in your currency.") % {"item": item.name})
    return customer, form


@require_POST
@customer_user_required
def portal_buy_from_wallet(request):
    customer, form = portal_buy_form(request)
    if not form.is_valid():
        _refused(request, form)
        return redirect("portal-allowances")
    data = form.cleaned_data
    try:
        if data["pack"]:
            pack_sell(
                customer=customer,
                pack=data["pack"],
                actor=request.user,
                idempotency_key=data["idempotency_key"] or f"portal:{uuid.uuid4()}",
                pay_from_wallet=True,
            )
        else:
            subscription_start(
                customer=customer,
                plan=data["plan"],
                starts_on=timezone.localdate(),
                actor=request.user,
                pay_from_wallet=True,
            )
    except PurchaseError as exc:
        messages.error(request, str(exc))
    else:
        item = data["pack"] or data["plan"]
        messages.success(request, _("%(item)s bought and paid from your wallet.") % {"item": item.name})
    return redirect("portal-allowances")
