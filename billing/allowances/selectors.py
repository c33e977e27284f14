"""Reads for packs and subscriptions: what the close must leave to the wallet, what a customer holds."""

from datetime import date

from django.db.models import QuerySet

from accounts.models import Customer
from billing.allowances.charges import month_anchor, prepaid_at
from billing.allowances.models import AllowanceCharge, CardOrder, PackPurchase, Subscription
from catalog.models import Pack, SubscriptionPlan


def _parsed(keys: set[str]) -> tuple[dict[str, tuple[int, str]], dict[str, int]]:
    """Subscription keys → (subscription id, "YYYY-MM"), pack keys → purchase id; others left out."""
    months, packs = {}, {}
    for key in keys:
        parts = key.split(":")
        if parts[0] == "subscription" and len(parts) == 3 and parts[1].isdigit():
            months[key] = (int(parts[1]), parts[2])
        elif parts[0] == "pack" and len(parts) == 2 and parts[1].isdigit():
            packs[key] = int(parts[1])
    return months, packs


def keys_paid_by_wallet(customer_ids: list[int], keys: set[str]) -> set[str]:
    """Which of ``keys`` (the close's source keys) the wallet pays, so no invoice may bill them.

    Those already charged to a wallet, and those the wallet owes by the rule of
    ``billing.allowances.charges`` (a month that began, or a pack bought, on prepaid terms) even if the
    hourly charge has not run yet: the close and the wallet never both take one.
    """
    if not keys:
        return set()
    out = set(
        AllowanceCharge.objects.filter(customer_id__in=customer_ids, source_key__in=keys).values_list(
            "source_key", flat=True
        )
    )
    months, packs = _parsed(keys - out)
    subs = Subscription.objects.in_bulk({sid for sid, _label in months.values()})
    purchases = PackPurchase.objects.in_bulk(set(packs.values()))
    moments: dict = {}
    owned: dict[str, tuple[int, object]] = {}
    for key, (sid, label) in months.items():
        sub = subs.get(sid)
        if sub is None or sub.customer_id not in customer_ids:
            continue
        try:
            first = date(int(label[:4]), int(label[5:]), 1)
        except ValueError:
            continue
        owned[key] = (sub.customer_id, month_anchor(sub, first))
    for key, pid in packs.items():
        purchase = purchases.get(pid)
        if purchase is not None and purchase.customer_id in customer_ids:
            owned[key] = (purchase.customer_id, purchase.purchased_at)
    for cid, at in owned.values():
        moments.setdefault(cid, []).append(at)
    prepaid = prepaid_at(moments)
    return out | {key for key, moment in owned.items() if prepaid[moment]}


def customer_subscriptions(*, customer: Customer) -> QuerySet[Subscription]:
    return Subscription.objects.filter(customer=customer).select_related("plan").order_by("-starts_on", "-pk")


def customer_pack_purchases(*, customer: Customer) -> QuerySet[PackPurchase]:
    return PackPurchase.objects.filter(customer=customer).select_related("pack", "charge")


def customer_charges(*, customer: Customer) -> QuerySet[AllowanceCharge]:
    return AllowanceCharge.objects.filter(customer=customer).select_related("subscription__plan")


def customer_card_orders(*, customer: Customer) -> QuerySet[CardOrder]:
    return CardOrder.objects.filter(customer=customer).select_related("pack", "plan")


def packs_offered() -> QuerySet[Pack]:
    return Pack.objects.filter(is_active=True).select_related("group").order_by("currency", "price", "name")


def plans_offered() -> QuerySet[SubscriptionPlan]:
    return (
        SubscriptionPlan.objects.filter(is_active=True)
        .select_related("group")
        .order_by("currency", "monthly_fee", "name")
    )
