"""The leakage alert: when a run's value at stake passes ``UpstreamSettings.leakage_threshold``, e-mail the
alert addresses and POST a signed webhook (``common.signed_webhooks``) — once per run.

Once: the first sender marks the run (``totals["alerted_at"]``) under a row lock, so a retried or repeated
task never sends the e-mail again; the webhook goes out from its own task, which retries with the same
event id (the receiver drops repeats).
"""

from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.upstream.models import ReconciliationRun, UpstreamSettings
from common.currencies import amount_display
from common.signed_webhooks import signed_webhook_send


def alert_payload(run: ReconciliationRun) -> dict:
    return {
        "id": f"recon-leakage-{run.pk}",
        "type": "upstream.reconciliation.leakage",
        "run": run.pk,
        "date_from": run.date_from.isoformat(),
        "date_to": run.date_to.isoformat(),
        "currency": run.base_currency,
        "at_stake": run.totals.get("at_stake", "0"),
        "classes": run.totals.get("classes", {}),
        # The run's page on this site (no absolute URL is configured; staff know the host).
        "path": reverse("upstream-recon-run", args=[run.pk]),
    }


def leakage_alert(run_id: int) -> dict | None:
    """Mark the run alerted and e-mail the alert addresses; return the webhook payload to send (None when
    the run was alerted before, no longer passes the threshold, or no webhook is set)."""
    upstream = UpstreamSettings.load()
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.totals.get("alerted_at"):
            return None
        at_stake = Decimal(run.totals.get("at_stake", "0"))
        if at_stake <= upstream.leakage_threshold:
            return None
        run.totals = {**run.totals, "alerted_at": timezone.now().isoformat()}
        run.save(update_fields=["totals"])
    payload = alert_payload(run)
    recipients = [line.strip() for line in upstream.alert_emails.splitlines() if line.strip()]
    if recipients:
        values = {
            "operator": settings.OPERATOR_NAME,
            "amount": amount_display(at_stake, run.base_currency),
            "start": run.date_from,
            "end": run.date_to,
            "threshold": amount_display(upstream.leakage_threshold, run.base_currency),
        }
        lines = [
            _("Reconciliation of %(start)s to %(end)s: %(amount)s at stake (alert threshold %(threshold)s).")
            % values,
            "",
        ]
        for klass, total in payload["classes"].items():
            if total["lines"] and klass != "matched":
                value = amount_display(total["value"], run.base_currency)
                lines.append(f"{klass}: {total['lines']} × {value}")
        lines += ["", payload["path"]]
        send_mail(
            subject=_("[%(operator)s] Upstream leakage: %(amount)s at stake") % values,
            message="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    return payload if upstream.webhook_url and upstream.webhook_secret else None


def leakage_webhook_send(payload: dict) -> int | None:
    upstream = UpstreamSettings.load()
    if not upstream.webhook_url or not upstream.webhook_secret:
        return None
    return signed_webhook_send(url=upstream.webhook_url, secret=upstream.webhook_secret, payload=payload)
