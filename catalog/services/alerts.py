"""Raise and resolve price alerts: plan prices that lose money or fall below the margin floor."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.models import PriceAlert
from catalog.selectors.profitability import PriceFinding, unprofitable_prices
from common.outbox import task_queue_on_commit

# Stored margins keep six places; anything beyond is display noise for a ratio.
MARGIN_LIMIT = Decimal("999.999999")


@dataclass
class CheckResult:
    findings: list[PriceFinding]
    raised: list[PriceAlert] = field(default_factory=list)
    resolved: int = 0


@transaction.atomic
def price_check_run(*, trigger: str, at: datetime | None = None, plans=None) -> CheckResult:
    """Compare every plan (or only ``plans``) with cost now; open an alert per new finding, resolve those
    that went away.

    Staff (and, for a sub-distributor's plan, its owners) are notified of new alerts after the transaction
    commits (never for a rolled-back import); while the task queue is down the e-mail waits in the outbox.
    """
    from catalog.tasks import notify_price_alerts_task

    now = at or timezone.now()
    findings = unprofitable_prices(now, plans=plans)
    result = CheckResult(findings=findings)
    alerts = PriceAlert.objects.select_for_update().filter(resolved_at__isnull=True)
    if plans is not None:
        # Only the checked plans' alerts may be resolved: the others were not looked at.
        alerts = alerts.filter(plan__in=list(plans))
    open_alerts = {_alert_key(a): a for a in alerts}
    for finding in findings:
        alert = open_alerts.pop(finding.key, None)
        if alert is not None:
            if (alert.sell_price, alert.cost_price, alert.kind) != (
                finding.sell_price,
                finding.cost_price,
                finding.kind,
            ):
                alert.sell_price, alert.cost_price, alert.kind = (
                    finding.sell_price,
                    finding.cost_price,
                    finding.kind,
                )
                alert.margin = _margin(finding)
                alert.save(update_fields=["sell_price", "cost_price", "kind", "margin"])
            continue
        result.raised.append(
            PriceAlert.objects.create(
                kind=finding.kind,
                plan=finding.plan,
                model=finding.model,
                tier_lo=finding.tier_lo,
                tier_hi=finding.tier_hi,
                token_class=finding.token_class,
                batch=finding.batch,
                window=finding.window,
                service_tier=finding.service_tier,
                currency=finding.currency,
                sell_price=finding.sell_price,
                cost_price=finding.cost_price,
                margin=_margin(finding),
                trigger=trigger[:200],
            )
        )
    result.resolved = PriceAlert.objects.filter(pk__in=[a.pk for a in open_alerts.values()]).update(
        resolved_at=now
    )
    if result.raised:
        ids = [a.pk for a in result.raised]
        # Through the outbox: an alert's e-mail sent a few minutes late is still right, and the price change
        # that raised it has committed and must answer (a task queue that is down is no 500 for it).
        task_queue_on_commit(notify_price_alerts_task, ids)
    return result


def _alert_key(a: PriceAlert) -> tuple:
    """An open alert's key, as ``PriceFinding.key`` gives a finding's."""
    return (a.plan_id, a.model_id, a.tier_lo, a.token_class, a.batch, a.window, a.service_tier)


def _margin(finding: PriceFinding) -> Decimal | None:
    if finding.margin is None:
        return None
    return max(min(finding.margin, MARGIN_LIMIT), -MARGIN_LIMIT)
