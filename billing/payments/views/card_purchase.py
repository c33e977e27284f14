"""Buying a pack or plan by card from the portal: a Stripe Checkout for its price, bought when paid.

The payment is a card top-up named after the item; ``billing.allowances.card_orders`` makes the purchase
when Stripe's paid webhook credits it.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import customer_user_required
from billing.allowances.card_orders import card_order_create, card_order_link
from billing.allowances.exceptions import PurchaseError
from billing.allowances.views import portal_buy_form
from billing.payments.cards import card_topup_start
from billing.payments.views.portal import _STRIPE_LOCALES
from billing.stripe import api as stripe_api

logger = logging.getLogger(__name__)


@require_POST
@customer_user_required
def portal_buy_by_card(request):
    customer, form = portal_buy_form(request)
    if not settings.STRIPE_ENABLED:
        messages.error(request, _("Card payments are not available at the moment."))
        return redirect("portal-allowances")
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(e) for e in form.errors.values()))
        return redirect("portal-allowances")
    success = request.build_absolute_uri(reverse("portal-topup-success"))
    cancel = request.build_absolute_uri(reverse("portal-topup-cancel"))
    try:
        with transaction.atomic():
            order = card_order_create(
                customer=customer,
                user=request.user,
                pack=form.cleaned_data["pack"],
                plan=form.cleaned_data["plan"],
            )
            item = order.pack or order.plan
            topup = card_topup_start(
                user=request.user,
                customer=customer,
                amount=order.price,
                currency=order.currency,
                # Stripe replaces the placeholder with the session id on the way back.
                success_url=f"{success}?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{cancel}?session_id={{CHECKOUT_SESSION_ID}}",
                locale=_STRIPE_LOCALES.get(get_language() or "", "auto"),
                description=item.name,
            )
            card_order_link(order=order, topup_reference=topup.public_id)
    except (PurchaseError, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("portal-allowances")
    except stripe_api.StripeError:
        logger.exception("Stripe refused a Checkout Session for customer %s", customer.pk)
        messages.error(request, _("The card payment service did not answer. Nothing was charged; try again."))
        return redirect("portal-allowances")
    return redirect(topup.checkout_url)
