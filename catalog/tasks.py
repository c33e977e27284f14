"""Catalog background work: tell staff about prices that now lose money."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from accounts.models import StaffRole, User
from catalog.models import PriceAlert

ALERT_ROLES = (StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE)
# A price change can open hundreds of alerts (one per plan × model × token class); an e-mail that lists
# them all is read by nobody, so it names the first ones and sends people to the alerts page.
MAX_LISTED = 20


@shared_task(name="catalog.tasks.notify_price_alerts_task")
def notify_price_alerts_task(alert_ids: list[int]) -> int:
    """E-mail admin, sales and finance staff the still-open alerts among ``alert_ids``; return the count."""
    alerts = list(
        PriceAlert.objects.filter(pk__in=alert_ids, resolved_at__isnull=True)
        .select_related("plan", "model")
        .order_by("plan__name", "model__name", "tier_lo", "token_class")
    )
    recipients = list(
        User.objects.filter(is_active=True, staff_role__in=ALERT_ROLES).values_list("email", flat=True)
    )
    if not alerts or not recipients:
        return 0
    lines = [
        f"- {a.plan.name} / {a.model.name} {'batch ' if a.batch else ''}{a.token_class} "
        f"(tier above {a.tier_lo}): sells {a.sell_price.normalize():f} vs cost {a.cost_price.normalize():f} "
        f"{a.currency} per million tokens — {a.get_kind_display()}"
        for a in alerts
    ]
    if len(lines) > MAX_LISTED:
        lines = [
            *lines[:MAX_LISTED],
            f"… and {len(lines) - MAX_LISTED} more: see Catalog › Price alerts in the dashboard.",
        ]
    send_mail(
        subject=f"[{settings.OPERATOR_NAME}] {len(alerts)} price(s) now below cost or margin floor",
        message="After a price change these plan prices need attention:\n\n" + "\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
    return len(alerts)
