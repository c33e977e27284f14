"""The low-cover alert: a prepaid channel whose balance covers fewer days than its threshold
(``Channel.low_cover_days``) is e-mailed to ``UpstreamSettings.alert_emails`` and sent as a signed webhook
(``common.signed_webhooks``, from a task that retries with the same event id) — at most once per channel
per day.

Once a day: the first run of a day claims ``upstream-cover-alert:<channel>:<day>`` in the cache with an
atomic add (Redis ``SET NX``), so a re-run or a retried beat that day sends nothing again. The claim lives
two days; losing the cache at worst repeats one day's alert.
"""

from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.upstream.alert_tasks import cover_webhook_task
from billing.upstream.cover import Cover, cover_for_channels
from billing.upstream.models import UpstreamSettings
from catalog.models import Channel, Settlement
from common.currencies import amount_display
from common.outbox import task_queue_on_commit

CLAIM_SECONDS = 2 * 24 * 3600


def cover_payload(cover: Cover, today: date) -> dict:
    channel = cover.channel
    return {
        "id": f"upstream-cover-{channel.pk}-{today.isoformat()}",
        "type": "upstream.cover.low",
        "channel": channel.name,
        "vendor": channel.contract.vendor.name,
        "currency": cover.currency,
        "balance": str(cover.balance),
        "burn_rate": str(cover.burn_rate),
        "days_of_cover": str(cover.days),
        "threshold_days": channel.low_cover_days,
        "runs_out_on": cover.runs_out_on.isoformat() if cover.runs_out_on else None,
        "path": reverse("upstream-ledger-channel", args=[channel.pk]),
    }


def _mail(cover: Cover, recipients: list[str], payload: dict) -> None:
    channel = cover.channel
    values = {
        "operator": settings.OPERATOR_NAME,
        "channel": channel.name,
        "days": cover.days,
        "threshold": channel.low_cover_days,
        "balance": amount_display(cover.balance, cover.currency),
        "burn": amount_display(cover.burn_rate, cover.currency),
        "date": cover.runs_out_on,
    }
    body = [
        _(
            "The upstream prepaid balance of %(channel)s is %(balance)s; at %(burn)s a day it lasts "
            "%(days)s days (alert under %(threshold)s), until about %(date)s."
        )
        % values,
        _("Buy a pack or top up before it runs out."),
        "",
        payload["path"],
    ]
    send_mail(
        subject=_("[%(operator)s] %(channel)s: %(days)s days of upstream cover left") % values,
        message="\n".join(body),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )


def cover_alerts(*, today: date | None = None) -> list[Cover]:
    """Alert every active prepaid channel under its cover threshold, once per channel and day; return
    the covers alerted now."""
    today = today or timezone.localdate()
    upstream = UpstreamSettings.load()
    recipients = [line.strip() for line in upstream.alert_emails.splitlines() if line.strip()]
    channels = Channel.objects.filter(
        is_active=True, contract__settlement=Settlement.PREPAID, low_cover_days__gt=0
    )
    alerted = []
    for cover in cover_for_channels(channels, today=today).values():
        if not cover.low:
            continue
        if not cache.add(f"upstream-cover-alert:{cover.channel.pk}:{today.isoformat()}", 1, CLAIM_SECONDS):
            continue
        payload = cover_payload(cover, today)
        if recipients:
            _mail(cover, recipients, payload)
        if upstream.webhook_url and upstream.webhook_secret:
            task_queue_on_commit(cover_webhook_task, payload)
        alerted.append(cover)
    return alerted
