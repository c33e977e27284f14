"""Catalog background work: tell staff about prices that now lose money."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from accounts.models import StaffRole, User
from accounts.permissions import SELLER_MANAGERS
from catalog.models import PriceAlert

ALERT_ROLES = (StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE)
# A price change can open hundreds of alerts (one per plan × model × token class); an e-mail that lists
# them all is read by nobody, so it names the first ones and sends people to the alerts page.
MAX_LISTED = 20


@shared_task(name="catalog.tasks.notify_price_alerts_task")
def notify_price_alerts_task(alert_ids: list[int]) -> int:
    """E-mail admin, sales and finance staff the still-open alerts among ``alert_ids``, and each
    sub-distributor's owners and billing members those of its own plans; return the count."""
    alerts = list(
        PriceAlert.objects.filter(pk__in=alert_ids, resolved_at__isnull=True)
        .select_related("plan", "model")
        .order_by("plan__name", "model__name", "tier_lo", "token_class")
    )
    recipients = list(
        User.objects.filter(is_active=True, staff_role__in=ALERT_ROLES).values_list("email", flat=True)
    )
    if not alerts:
        return 0
    if recipients:
        _send(alerts, recipients, STAFF_WORDING)
    by_owner: dict[int, list[PriceAlert]] = {}
    for alert in alerts:
        if alert.plan.owner_id is not None:
            by_owner.setdefault(alert.plan.owner_id, []).append(alert)
    for owner_id, owned in by_owner.items():
        members = User.objects.filter(
            is_active=True, membership__customer_id=owner_id, membership__role__in=SELLER_MANAGERS
        ).values_list("email", flat=True)
        if members:
            # A seller's plans are priced against what it buys at: "cost" would name our cost to it.
            _send(owned, list(members), SELLER_WORDING)
    return len(alerts) if recipients else 0


STAFF_WORDING = ("cost", "cost or margin floor", "see Catalog › Price alerts in the dashboard")
SELLER_WORDING = ("wholesale", "wholesale or a floor", "see your retail plans in the portal")


def _send(alerts: list[PriceAlert], recipients: list[str], wording: tuple[str, str, str]) -> None:
    cost_word, below, where = wording
    lines = [
        f"- {a.plan.name} / {a.model.name} {'batch ' if a.batch else ''}{a.token_class} "
        + (f"at {a.window} hours " if a.window else "")
        + (f"of service tier {a.service_tier} " if a.service_tier else "")
        + f"(tier above {a.tier_lo}): sells {a.sell_price.normalize():f} vs {cost_word} "
        f"{a.cost_price.normalize():f} {a.currency} per million tokens — {a.get_kind_display()}"
        for a in alerts
    ]
    if len(lines) > MAX_LISTED:
        lines = [
            *lines[:MAX_LISTED],
            f"… and {len(lines) - MAX_LISTED} more: {where}.",
        ]
    send_mail(
        subject=f"[{settings.OPERATOR_NAME}] {len(alerts)} price(s) now below {below}",
        message="After a price change these plan prices need attention:\n\n" + "\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
