"""Wallet pages: the customer's own wallet in the portal, and the staff view with manual adjustment."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from billing.ledger.exceptions import LedgerError
from billing.wallets.adjustments import ADJUSTING_ROLES, wallet_adjust
from billing.wallets.filters import FloorOvershootFilter, WalletFilter
from billing.wallets.forms import WalletAdjustmentForm, WalletSettingsForm
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import LimitMode, Wallet
from billing.wallets.selectors import (
    balance_suspension_open,
    floor_overshoots,
    reserve_minutes,
    reserve_minutes_default,
    wallet_balance,
    wallet_history,
    wallet_lots_open,
    wallet_recent_spend,
    wallet_reserve,
    wallets_for_customer,
    wallets_visible,
)
from billing.wallets.status import wallet_settings_update
from common.listing import filtered_page

HISTORY_PAGE_SIZE = 25


def _default_currency(customer) -> str:
    terms = getattr(customer, "billing_terms", None)
    return terms.currency if terms is not None else "CNY"


def _wallet_context(request, customer) -> dict:
    """Pick the wallet for ``?currency=`` (default: the terms' currency) and gather what the pages show."""
    wallets = list(wallets_for_customer(customer=customer))
    currency = (request.GET.get("currency") or _default_currency(customer)).upper()
    wallet = next((w for w in wallets if w.currency == currency), None)
    context = {"customer": customer, "wallets": wallets, "wallet": wallet, "currency": currency}
    if wallet is not None:
        page = Paginator(wallet_history(wallet=wallet), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(
            balance=wallet_balance(wallet=wallet),
            lots=wallet_lots_open(wallet=wallet),
            page_obj=page,
        )
    context["suspension"] = balance_suspension_open(customer=customer)
    return context


@customer_user_required
def portal_wallet(request):
    customer = home_customer(request.user)
    return render(request, "portal/wallet/detail.html", {**_wallet_context(request, customer), "own": True})


@customer_user_required
def portal_customer_wallet(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    own = customer.pk == home_customer(request.user).pk
    return render(request, "portal/wallet/detail.html", {**_wallet_context(request, customer), "own": own})


@staff_required()
def staff_wallet_list(request):
    queryset = wallets_visible(customers_visible_to(request.user))
    context = filtered_page(request, queryset, WalletFilter)
    for wallet in context["page_obj"]:
        wallet.balance = wallet_balance(wallet=wallet)
    return render(request, "dashboard/wallets/list.html", context)


@staff_required()
def staff_customer_wallet(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    context = _wallet_context(request, customer)
    wallet = context["wallet"]
    context["can_adjust"] = request.user.staff_role in ADJUSTING_ROLES
    if context["can_adjust"]:
        context["adjust_form"] = WalletAdjustmentForm()
        context["settings_form"] = WalletSettingsForm(instance=wallet or Wallet(customer=customer))
    if wallet is not None:
        context["adjustments"] = wallet.adjustments.select_related("actor", "transaction")[:20]
        context["suspensions"] = wallet.suspensions.all()[:10]
        context["overshoots"] = wallet.overshoots.all()[:10]
        if wallet.limit_mode == LimitMode.HARD:
            context.update(
                reserve=wallet_reserve(wallet=wallet),
                recent_spend=wallet_recent_spend(wallet=wallet),
                reserve_minutes=reserve_minutes(wallet=wallet),
            )
    context["reserve_minutes_default"] = reserve_minutes_default()
    return render(request, "dashboard/wallets/detail.html", context)


@staff_required()
def staff_floor_overshoots(request):
    """Crossings of hard-limit floors: what in-flight usage took below the floor, for finance to follow."""
    context = filtered_page(
        request, floor_overshoots(customers_visible_to(request.user)), FloorOvershootFilter
    )
    return render(request, "dashboard/wallets/overshoots.html", context)


def _form_errors(form) -> str:
    """The form's errors in one line, each after its field's label."""
    return "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}".lstrip(": ")
        for f, e in form.errors.items()
    )


def _staff_wallet_target(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    currency = (request.POST.get("currency") or _default_currency(customer)).upper()
    return customer, currency


@require_POST
@staff_required(roles=ADJUSTING_ROLES)
def staff_wallet_adjust(request, pk: int):
    customer, currency = _staff_wallet_target(request, pk)
    form = WalletAdjustmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            wallet_adjust(
                customer=customer,
                currency=currency,
                amount=data["amount"],
                bucket=data["bucket"],
                reason=data["reason"],
                actor=request.user,
                idempotency_key=data["idempotency_key"],
                expires_at=data["expires_at"],
            )
        except LedgerError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Adjustment posted."))
    else:
        messages.error(request, _("Adjustment not posted: %(errors)s") % {"errors": _form_errors(form)})
    return redirect(f"{reverse('staff-customer-wallet', args=[pk])}?currency={currency}")


@require_POST
@staff_required(roles=ADJUSTING_ROLES)
def staff_wallet_settings(request, pk: int):
    customer, currency = _staff_wallet_target(request, pk)
    wallet = wallet_get_or_create(customer=customer, currency=currency)
    form = WalletSettingsForm(request.POST, instance=Wallet.objects.get(pk=wallet.pk))
    if form.is_valid():
        data = form.cleaned_data
        try:
            wallet_settings_update(
                wallet=wallet,
                floor=data["floor"],
                low_balance_threshold=data["low_balance_threshold"],
                alert_email=data["alert_email"],
                webhook_url=data["webhook_url"],
                webhook_secret=data["webhook_secret"] or None,
                limit_mode=data["limit_mode"],
                reserve_minutes=data["reserve_minutes"],
            )
        except LedgerError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Wallet settings saved."))
    else:
        messages.error(request, _("Settings not saved: %(errors)s") % {"errors": _form_errors(form)})
    return redirect(f"{reverse('staff-customer-wallet', args=[pk])}?currency={currency}")
