"""The customer portal's top-up pages: card top-up through Stripe Checkout, redemption codes, history."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import MemberRole
from accounts.permissions import customer_user_required
from accounts.selectors import home_customer
from billing.money import money_text
from billing.payments.amounts import card_limits
from billing.payments.cards import card_topup_start
from billing.payments.forms import CardTopUpForm, RedeemForm
from billing.payments.models import CardTopUp
from billing.payments.redemption import redemption_code_redeem
from billing.payments.selectors import customer_topups
from billing.stripe import api as stripe_api
from billing.terms.selectors import customer_currency

logger = logging.getLogger(__name__)

# Viewers may look; only owners and billing contacts move money.
PAYING_ROLES = (MemberRole.OWNER, MemberRole.BILLING)
# Stripe Checkout's own locale names for the languages we offer.
_STRIPE_LOCALES = {"zh-hans": "zh", "en": "en"}


def _can_pay(user) -> bool:
    return user.membership.role in PAYING_ROLES


def _page(request, customer, *, card_form=None, redeem_form=None, status=200):
    currency = customer_currency(customer)
    context = {
        "customer": customer,
        "currency": currency,
        "card_enabled": settings.STRIPE_ENABLED,
        "card_limits": card_limits(currency),
        "card_form": card_form or CardTopUpForm(currency=currency),
        "redeem_form": redeem_form or RedeemForm(),
        "fee_mode": settings.TOPUP_CARD_FEE_MODE,
        "fee_percent": settings.TOPUP_CARD_FEE_PERCENT,
        "fee_fixed": settings.TOPUP_CARD_FEE_FIXED.get(currency, "0"),
        "can_pay": _can_pay(request.user),
        **customer_topups(customer=customer),
    }
    return render(request, "portal/topup/topup.html", context, status=status)


@customer_user_required
def portal_topup(request):
    customer = home_customer(request.user)
    if request.method != "POST":
        return _page(request, customer)
    if not _can_pay(request.user):
        raise PermissionDenied
    if not settings.STRIPE_ENABLED:
        messages.error(request, _("Card payments are not available at the moment."))
        return redirect("portal-topup")
    form = CardTopUpForm(request.POST, currency=customer_currency(customer))
    if form.is_valid():
        success = request.build_absolute_uri(reverse("portal-topup-success"))
        cancel = request.build_absolute_uri(reverse("portal-topup-cancel"))
        try:
            topup = card_topup_start(
                user=request.user,
                customer=customer,
                amount=form.cleaned_data["chosen"],
                currency=form.cleaned_data["currency"],
                # Stripe replaces the placeholder with the session id on the way back.
                success_url=f"{success}?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{cancel}?session_id={{CHECKOUT_SESSION_ID}}",
                locale=_STRIPE_LOCALES.get(get_language() or "", "auto"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except stripe_api.StripeError:
            logger.exception("Stripe refused a Checkout Session for customer %s", customer.pk)
            form.add_error(
                None, _("The card payment service did not answer. Nothing was charged; try again.")
            )
        else:
            return redirect(topup.checkout_url)
    return _page(request, customer, card_form=form, status=400)


def _own_topup(request) -> CardTopUp:
    session_id = request.GET.get("session_id", "")
    topup = CardTopUp.objects.filter(
        customer=home_customer(request.user), stripe_session_id=session_id
    ).first()
    if not session_id or topup is None:
        raise Http404
    return topup


def _wallet_url() -> str:
    # The wallet page belongs to billing.wallets; fall back to this page until it exists.
    try:
        return reverse("portal-wallet")
    except NoReverseMatch:
        return reverse("portal-topup")


@customer_user_required
def portal_topup_success(request):
    topup = _own_topup(request)
    template = "portal/topup/_status.html" if request.htmx else "portal/topup/success.html"
    return render(request, template, {"topup": topup, "wallet_url": _wallet_url()})


@customer_user_required
def portal_topup_cancel(request):
    return render(request, "portal/topup/cancel.html", {"topup": _own_topup(request)})


@require_POST
@customer_user_required
def portal_topup_redeem(request):
    customer = home_customer(request.user)
    if not _can_pay(request.user):
        raise PermissionDenied
    form = RedeemForm(request.POST)
    if form.is_valid():
        try:
            code = redemption_code_redeem(
                user=request.user, customer=customer, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            messages.success(
                request,
                _("%(value)s %(currency)s of credit added to your wallet.")
                % {
                    "value": money_text(code.batch.value, code.batch.currency),
                    "currency": code.batch.currency,
                },
            )
            return redirect("portal-topup")
    return _page(request, customer, redeem_form=form, status=400)
