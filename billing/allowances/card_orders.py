"""Packs and subscriptions bought by card in the portal: the order, and the purchase once it is paid.

The card payment itself is an ordinary card top-up (``billing.payments.cards``): Stripe's paid webhook
credits its amount to the wallet's paid credit, and in the same database transaction
:func:`card_order_fulfil` pays the order from that credit. Whichever of Stripe's settling events comes
first does it; the top-up is credited once per payment, and the order moves from open to done under a
row lock, so a replayed webhook buys nothing more.
"""

from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.allowances.charges import price_round
from billing.allowances.exceptions import PurchaseError
from billing.allowances.models import CardOrder
from billing.allowances.purchases import pack_refusal, pack_sell, subscription_start
from catalog.models import Pack, SubscriptionPlan


def card_order_create(
    *, customer: Customer, user, pack: Pack | None = None, plan: SubscriptionPlan | None = None
) -> CardOrder:
    """Record what a portal user is about to pay by card; its price is fixed now, to the minor unit."""
    if (pack is None) == (plan is None):
        raise PurchaseError(_("Choose one pack or one plan."))
    item = pack or plan
    if pack is not None:
        pack_refusal(customer=customer, pack=pack, at=timezone.now())
    if not item.is_active:
        raise PurchaseError(_("%(item)s is no longer sold.") % {"item": item.name})
    price = price_round(pack.price if pack else plan.monthly_fee, item.currency)
    if price <= 0:
        raise PurchaseError(_("%(item)s is free: there is nothing to pay by card.") % {"item": item.name})
    return CardOrder.objects.create(
        customer=customer, pack=pack, plan=plan, price=price, currency=item.currency, created_by=user
    )


def card_order_link(*, order: CardOrder, topup_reference: UUID) -> None:
    """Tie the order to the card top-up that pays it (its public id)."""
    CardOrder.objects.filter(pk=order.pk).update(topup_reference=topup_reference)


def card_order_fulfil(*, topup_reference: UUID, credited: Decimal, currency: str) -> CardOrder | None:
    """Buy what the order paid by top-up ``topup_reference`` is for; None when no order names it.

    Runs inside the transaction that credited the top-up. A business refusal (the plan already held,
    less credited than the price after finance accepted a lower captured amount) marks the order "not
    bought" with the reason and leaves the money in the wallet as paid credit: the payment is never
    lost, and staff can sell the item from that credit.
    """
    order = (
        CardOrder.objects.select_for_update(of=("self",))
        .select_related("customer", "pack", "plan")
        .filter(topup_reference=topup_reference)
        .first()
    )
    if order is None or order.status != CardOrder.Status.OPEN:
        return order
    try:
        item = order.pack or order.plan
        now_price = price_round(order.pack.price if order.pack else order.plan.monthly_fee, order.currency)
        if now_price != order.price:
            raise PurchaseError(
                _("The price of %(item)s changed from %(price)s to %(now)s while the card was being paid.")
                % {"item": item.name, "price": order.price, "now": now_price}
            )
        if currency != order.currency or credited < order.price:
            raise PurchaseError(
                _("%(credited)s %(currency)s was credited, %(price)s %(order_currency)s is the price.")
                % {
                    "credited": credited,
                    "currency": currency,
                    "price": order.price,
                    "order_currency": order.currency,
                }
            )
        with transaction.atomic():
            # The money arrived for this purchase a moment ago, so the wallet nets to where it was: the
            # floor is not in question even if usage had taken the wallet below it.
            if order.pack is not None:
                order.pack_purchase = pack_sell(
                    customer=order.customer,
                    pack=order.pack,
                    actor=order.created_by,
                    idempotency_key=f"card-order:{order.public_id}",
                    pay_from_wallet=True,
                    stop_at_floor=False,
                )
            else:
                order.subscription = subscription_start(
                    customer=order.customer,
                    plan=order.plan,
                    starts_on=timezone.localdate(),
                    actor=order.created_by,
                    pay_from_wallet=True,
                    stop_at_floor=False,
                )
        order.status = CardOrder.Status.DONE
    except PurchaseError as exc:
        order.status, order.error = CardOrder.Status.FAILED, str(exc)
    order.finished_at = timezone.now()
    order.save(update_fields=["pack_purchase", "subscription", "status", "error", "finished_at"])
    return order
