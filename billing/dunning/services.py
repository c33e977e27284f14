"""Dunning: send each invoice's reminders as their days come, and suspend where a level says so.

Run daily (``tasks.dunning_run_task``). For every issued or partially paid invoice with an amount due
whose customer's billing terms name an active dunning policy, a level is *due* once
``due_date + days_from_due <= today``. Each level is noticed at most once per invoice (a unique
``DunningNotice``), so re-running a day sends nothing twice.

When several levels fall due at once (the job did not run for a while, or an invoice was issued late)
only the highest is e-mailed; the lower ones are recorded as *skipped* so they are never sent later —
a customer should not get "due in 3 days" after "15 days overdue". A level that suspends service takes
effect even when skipped: its day has come. A lower level added to a policy after a higher one was
sent is likewise only recorded. Paid, credited or void invoices drop out, so reminders stop, and so
does an invoice the customer's unallocated credit covers (``selectors.invoices_really_due``): only
what is really due is dunned.

After the reminders the run acts on exhausted dunning: an invoice still unpaid its policy's
``exhausted_after_days`` after the last level is suspended and/or proposed for write-off, once
(``exhaustion``). A written-off invoice is not open, so it gets no reminder and its suspension lifts.

If sending fails the notice is kept with the error (shown to staff) and not retried automatically: a
reminder sent twice is worse than one a person re-sends.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.dunning.emails import notice_message
from billing.dunning.exhaustion import dunning_exhaust
from billing.dunning.models import DunningLevel, DunningNotice, DunningPolicy
from billing.dunning.selectors import OPEN_STATUSES, ZERO, invoices_really_due, overdue_notices
from billing.gateway.notifications import gateway_event_notify
from billing.invoicing.models import Invoice

logger = logging.getLogger(__name__)


@dataclass
class DunningResult:
    sent: int = 0
    skipped: int = 0
    suspended: int = 0
    exhausted: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {"sent": self.sent, "skipped": self.skipped, "suspended": self.suspended, "errors": self.errors}
        if self.exhausted:  # invoices whose dunning ran out today (see billing.dunning.exhaustion)
            out["exhausted"] = self.exhausted
        return out


def _levels_by_policy() -> dict[int, list[DunningLevel]]:
    levels: dict[int, list[DunningLevel]] = {}
    for level in DunningLevel.objects.filter(policy__is_active=True).order_by("days_from_due"):
        levels.setdefault(level.policy_id, []).append(level)
    return levels


def dunning_candidates(*, today: date):
    """Open invoices with money due whose customer has an active policy and whose first level has come."""
    levels = _levels_by_policy()
    if not levels:
        return Invoice.objects.none(), levels
    earliest = min(lv[0].days_from_due for lv in levels.values())
    invoices = (
        Invoice.objects.filter(
            status__in=OPEN_STATUSES,
            due_date__isnull=False,
            due_date__lte=today - timedelta(days=earliest),
            total__gt=F("amount_paid") + F("amount_credited") + F("amount_written_off"),
            customer__billing_terms__dunning_policy_id__in=list(levels),
        )
        .select_related("customer", "customer__billing_terms")
        .order_by("due_date", "pk")
    )
    return invoices, levels


def dunning_run(*, today: date | None = None) -> DunningResult:
    """Send the reminders due ``today`` (the operator's local date by default); see the module doc."""
    today = today or timezone.localdate()
    result = DunningResult()
    invoices, levels = dunning_candidates(today=today)
    for invoice in invoices:
        policy_levels = levels[invoice.customer.billing_terms.dunning_policy_id]
        try:
            _invoice_dun(invoice_id=invoice.pk, levels=policy_levels, today=today, result=result)
        except Exception as exc:  # one bad invoice must not stop everyone else's reminders
            logger.exception("Dunning failed for invoice %s", invoice.pk)
            result.errors.append(f"{invoice}: {exc}")
    if levels:
        result.exhausted, errors = dunning_exhaust(levels=levels, today=today)
        result.errors += errors
    return result


@transaction.atomic
def _invoice_dun(*, invoice_id: int, levels: list[DunningLevel], today: date, result: DunningResult) -> None:
    # The row lock serialises concurrent runs per invoice; the unique notice constraint backs it up.
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer__billing_terms")
        .get(pk=invoice_id)
    )
    if invoice.status not in OPEN_STATUSES or invoice.amount_due <= 0:
        return
    # Covered by credit the customer holds unallocated: nothing is really due, so nothing is overdue.
    really_due = invoices_really_due(customer_id=invoice.customer_id, currency=invoice.currency)
    if really_due.get(invoice.pk, ZERO) <= 0:
        return
    noticed = dict(invoice.dunning_notices.values_list("level_id", "level__days_from_due"))
    due = [lv for lv in levels if invoice.due_date + timedelta(days=lv.days_from_due) <= today]
    pending = [lv for lv in due if lv.pk not in noticed]
    if not pending:
        return
    highest_sent = max(noticed.values(), default=None)
    sendable = [lv for lv in pending if highest_sent is None or lv.days_from_due > highest_sent]
    to_send = sendable[-1] if sendable else None
    suspend = any(lv.suspend_service for lv in pending)
    was_suspended = overdue_notices(customer_id=invoice.customer_id).exists()
    for level in pending:
        if level is to_send:
            continue
        DunningNotice.objects.create(
            invoice=invoice, level=level, amount_due=invoice.amount_due, skipped=True, suspended=False
        )
        result.skipped += 1
    if to_send is None:
        # Only lower levels were pending; a suspension among them still applies.
        if suspend:
            DunningNotice.objects.filter(invoice=invoice, level=pending[-1]).update(suspended=True)
    else:
        recipients = invoice.customer.billing_terms.billing_email_list
        notice = DunningNotice(
            invoice=invoice,
            level=to_send,
            amount_due=invoice.amount_due,
            recipients=", ".join(recipients)[:500],
            suspended=suspend,
        )
        if not recipients:
            notice.error = "No billing contact e-mail address: add one on the billing terms page."
        else:
            try:
                notice_message(invoice=invoice, level=to_send, recipients=recipients, today=today).send()
            except Exception as exc:
                logger.exception("Dunning e-mail failed for invoice %s", invoice.pk)
                notice.error = f"{type(exc).__name__}: {exc}"[:2000]
        notice.save()
        if notice.error:
            result.errors.append(f"{invoice}: {notice.error}")
        else:
            result.sent += 1
    if suspend:
        result.suspended += 1
        if not was_suspended:
            gateway_event_notify(
                customer=invoice.customer,
                event="customer.suspended",
                reason="overdue",
                extra={"invoice": invoice.number, "due_date": invoice.due_date.isoformat()},
            )


@transaction.atomic
def dunning_policy_save(*, policy_form, level_formset) -> DunningPolicy:
    """Save a policy and its levels (forms already valid) in one transaction."""
    policy = policy_form.save()
    level_formset.instance = policy
    level_formset.save()
    return policy


STANDARD_LEVELS = (
    (-3, "Friendly reminder", False),
    (7, "First overdue notice", False),
    (15, "Second overdue notice", False),
    (30, "Final notice: service suspended", True),
)


@transaction.atomic
def dunning_policy_standard() -> DunningPolicy:
    """The "Standard" policy −3/+7/+15/+30 (suspending at +30); created once, returned after."""
    policy, created = DunningPolicy.objects.get_or_create(name="Standard")
    if created:
        DunningLevel.objects.bulk_create(
            DunningLevel(policy=policy, days_from_due=days, name=name, suspend_service=suspend)
            for days, name, suspend in STANDARD_LEVELS
        )
    return policy
