"""Selling packs and subscriptions: staff for a customer, or a portal user for their own organisation.

Who pays is decided as in ``billing.allowances.charges``: a prepaid customer pays from paid credit at
once (refused when it is short), a credit-terms customer is invoiced by the next close, unless the
purchase is paid from the wallet on purpose (``pay_from_wallet``: by card through a top-up, or from
wallet credit in the portal).
"""

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.allowances.charges import (
    month_anchor,
    months_started,
    pack_charge,
    prepaid_at,
    price_round,
    subscription_month_charge,
)
from billing.allowances.exceptions import PurchaseError
from billing.allowances.models import PackPurchase, Subscription
from catalog.models import AllowanceUnit, Pack, SubscriptionPlan


def _prepaid_now(customer: Customer, at: datetime) -> bool:
    return prepaid_at({customer.pk: [at]})[(customer.pk, at)]


def pack_refusal(*, customer: Customer, pack: Pack, at: datetime) -> None:
    """Raise ``PurchaseError`` when ``pack`` may not be sold to ``customer`` at ``at``: it is no longer
    sold, or it is wallet credit and the customer is on credit terms (its usage is invoiced, never drawn
    from a wallet, so the credit could never be used)."""
    if not pack.is_active:
        raise PurchaseError(_("The pack %(pack)s is no longer sold.") % {"pack": pack.name})
    if pack.unit == AllowanceUnit.CREDIT and not _prepaid_now(customer, at):
        raise PurchaseError(
            _(
                "%(pack)s is wallet credit, and %(customer)s is on credit terms: its usage is invoiced, "
                "never paid from a wallet. Sell a token pack instead."
            )
            % {"pack": pack.name, "customer": customer.name}
        )


def pack_sell(
    *,
    customer: Customer,
    pack: Pack,
    actor,
    idempotency_key: str,
    pay_from_wallet: bool = False,
    stop_at_floor: bool = True,
) -> PackPurchase:
    """Sell ``pack`` to ``customer`` now; return the purchase.

    A prepaid customer (or ``pay_from_wallet``) pays its price from paid credit at once; short credit
    raises ``PurchaseError`` and writes nothing. A credit-terms customer is invoiced at the next close.
    Replaying ``idempotency_key`` returns the first purchase; the same key for another customer or pack
    raises ``PurchaseError``. ``stop_at_floor`` is False only when the money just arrived for this very
    purchase (a card payment), so the wallet nets to what it was.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise PurchaseError(_("A sale needs an idempotency key of at most 200 characters."))
    existing = PackPurchase.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, customer=customer, pack=pack)
    now = timezone.now()
    pack_refusal(customer=customer, pack=pack, at=now)
    from_wallet = pay_from_wallet or _prepaid_now(customer, now)
    try:
        with transaction.atomic():
            purchase = PackPurchase.objects.create(
                customer=customer,
                pack=pack,
                purchased_at=now,
                expires_at=now + timedelta(days=pack.validity_days),
                price=price_round(pack.price, pack.currency),
                currency=pack.currency,
                idempotency_key=idempotency_key,
                created_by=actor,
            )
            if from_wallet:
                pack_charge(purchase=purchase, actor=actor, stop_at_floor=stop_at_floor)
    except IntegrityError:
        # The same key was sold concurrently: answer as a replay.
        existing = PackPurchase.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, customer=customer, pack=pack)
    return purchase


def _replayed(purchase: PackPurchase, *, customer: Customer, pack: Pack) -> PackPurchase:
    if (purchase.customer_id, purchase.pack_id) != (customer.pk, pack.pk):
        raise PurchaseError(
            _("This sale was already made for %(customer)s, %(pack)s; it cannot be reused for another.")
            % {"customer": purchase.customer.name, "pack": purchase.pack.name}
        )
    return purchase


def subscription_start(
    *,
    customer: Customer,
    plan: SubscriptionPlan,
    starts_on: date,
    actor,
    pay_from_wallet: bool = False,
    stop_at_floor: bool = True,
) -> Subscription:
    """Start ``customer`` on ``plan`` from ``starts_on``; return the subscription.

    The months that have started are charged at once when the wallet pays them (a prepaid customer, or
    ``pay_from_wallet`` for the first month); later months are charged by the hourly beat when they
    start, or invoiced by the close on credit terms. Refused (``PurchaseError``): an inactive plan, a
    start before this month (closed months could no longer be billed), an overlapping subscription to
    the same plan (which also stops a form sent twice), or short paid credit for the first month.
    """
    if not plan.is_active:
        raise PurchaseError(_("The plan %(plan)s is no longer sold.") % {"plan": plan.name})
    today = timezone.localdate()
    if starts_on < today.replace(day=1):
        raise PurchaseError(
            _("starts_on: a subscription can start this month (%(first)s) or later, not %(day)s.")
            % {"first": today.replace(day=1), "day": starts_on}
        )
    with transaction.atomic():
        # One subscription to a plan at a time: the customer's row lock makes a double submit queue.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        overlapping = Subscription.objects.filter(customer=customer, plan=plan).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on)
        )
        if overlapping.exists():
            raise PurchaseError(
                _("%(customer)s already has %(plan)s for that time; cancel it first.")
                % {"customer": customer.name, "plan": plan.name}
            )
        subscription = Subscription.objects.create(
            customer=customer, plan=plan, starts_on=starts_on, created_by=actor
        )
        subscription_charge_started(
            subscription=subscription,
            actor=actor,
            pay_from_wallet=pay_from_wallet,
            stop_at_floor=stop_at_floor,
        )
    return subscription


def subscription_charge_started(
    *, subscription: Subscription, actor, pay_from_wallet: bool, stop_at_floor: bool
) -> None:
    """Charge the started months the wallet pays: those begun on prepaid terms, and the first one when
    ``pay_from_wallet``."""
    now = timezone.now()
    months = months_started(subscription, now)
    if not months:
        return
    anchors = {m: month_anchor(subscription, m) for m in months}
    prepaid = prepaid_at({subscription.customer_id: list(anchors.values())})
    for i, month in enumerate(months):
        if (pay_from_wallet and i == 0) or prepaid[(subscription.customer_id, anchors[month])]:
            subscription_month_charge(
                subscription=subscription, month=month, actor=actor, stop_at_floor=stop_at_floor
            )


def subscription_cancel(*, subscription: Subscription, ends_on: date, actor) -> Subscription:
    """End ``subscription`` on ``ends_on`` (its last day, included). Months already charged stay charged;
    no month after it is charged or invoiced. Refused before today or before the subscription starts."""
    today = timezone.localdate()
    if ends_on < max(today, subscription.starts_on):
        raise PurchaseError(
            _("ends_on: the last day can be %(first)s or later, not %(day)s.")
            % {"first": max(today, subscription.starts_on), "day": ends_on}
        )
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.ends_on is not None and locked.ends_on < today:
            raise PurchaseError(_("This subscription has already ended."))
        locked.ends_on = ends_on
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = actor
        locked.save(update_fields=["ends_on", "cancelled_at", "cancelled_by"])
    return locked
