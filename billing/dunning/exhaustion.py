"""Exhausted dunning: what happens when an invoice is still unpaid long after its last reminder.

A policy's last level sent (or recorded) ``exhausted_after_days`` days ago (counted from the later of the
day it fell due and the day it was recorded), the invoice still really due
(``selectors.invoices_really_due``): dunning has nothing more to say. The policy's ``exhausted_action``
then acts, once per invoice (the ``DunningExhaustion`` row, one per invoice, is the record and the guard):

* ``suspend``: a gateway hold on the customer, reason naming the invoice; it stays until staff lift it on
  the gateway holds page (a deliberate step, unlike the overdue suspension that lifts when paid);
* ``propose_write_off``: a write-off of what is due on the invoice, proposed with no proposer (origin
  dunning), for an admin or finance to approve or reject (``billing.receivables.writeoffs``);
* both.

Part of the daily dunning run (``services.dunning_run``).
"""

import logging
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from billing.dunning.models import DunningExhaustion, DunningLevel, DunningNotice, DunningPolicy
from billing.dunning.selectors import OPEN_STATUSES, ZERO, invoices_really_due
from billing.dunning.signals import write_off_wanted
from billing.gateway.services import gateway_hold_place
from billing.invoicing.models import Invoice

logger = logging.getLogger(__name__)

SUSPENDS = (DunningPolicy.Exhausted.SUSPEND, DunningPolicy.Exhausted.SUSPEND_AND_PROPOSE)
PROPOSES = (DunningPolicy.Exhausted.PROPOSE_WRITE_OFF, DunningPolicy.Exhausted.SUSPEND_AND_PROPOSE)


def last_sent(notice: DunningNotice) -> date:
    """The day dunning's last word counts from: the later of the day the level fell due and the day its
    notice was recorded (a run that was late, or a level added late, gives the customer the full wait)."""
    scheduled = notice.invoice.due_date + timedelta(days=notice.level.days_from_due)
    return max(scheduled, timezone.localtime(notice.sent_at).date())


def exhausted_candidates(*, levels: dict[int, list[DunningLevel]], today: date) -> list[DunningNotice]:
    """Last-level notices old enough, on open invoices not yet exhausted, whose customer's policy acts."""
    policies = {
        p.pk: p
        for p in DunningPolicy.objects.filter(pk__in=list(levels), is_active=True).exclude(
            exhausted_action=DunningPolicy.Exhausted.NOTHING
        )
    }
    last_levels = [levels[pk][-1].pk for pk in policies]
    notices = (
        DunningNotice.objects.filter(
            level_id__in=last_levels,
            invoice__status__in=OPEN_STATUSES,
            invoice__dunning_exhaustion__isnull=True,
        )
        .select_related("invoice__customer__billing_terms", "level")
        .order_by("invoice__due_date", "invoice_id")
    )
    out = []
    for notice in notices:
        policy = policies[notice.level.policy_id]
        # Still this customer's policy (a customer moved to another policy is dunned by that one).
        if notice.invoice.customer.billing_terms.dunning_policy_id != policy.pk:
            continue
        if last_sent(notice) + timedelta(days=policy.exhausted_after_days) <= today:
            out.append(notice)
    return out


@transaction.atomic
def invoice_exhaust(*, invoice_id: int, policy: DunningPolicy, last_sent: date) -> DunningExhaustion | None:
    """Record and act on one invoice's exhausted dunning; None when it is settled or already recorded."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("customer").get(pk=invoice_id)
    if invoice.status not in OPEN_STATUSES or DunningExhaustion.objects.filter(invoice=invoice).exists():
        return None
    due = invoices_really_due(customer_id=invoice.customer_id, currency=invoice.currency).get(
        invoice.pk, ZERO
    )
    if due <= 0:
        return None
    action = policy.exhausted_action
    exhaustion = DunningExhaustion.objects.create(invoice=invoice, action=action, amount_due=due)
    if action in SUSPENDS:
        gateway_hold_place(
            customer=invoice.customer,
            reason=(
                f"Dunning exhausted: invoice {invoice.number} ({due} {invoice.currency}) unpaid "
                f"{policy.exhausted_after_days} days after the last reminder of {last_sent.isoformat()} "
                f"(policy {policy.name})"
            ),
        )
    if action in PROPOSES:
        answers = [
            answer for _receiver, answer in write_off_wanted.send(sender=DunningExhaustion, invoice=invoice)
        ]
        write_off = next((answer for answer in answers if answer is not None), None)
        if write_off is None:
            # Nothing connected to propose it: fail loudly rather than record an action never taken.
            raise RuntimeError("No write-off service answered write_off_wanted (billing.apps connects it).")
        exhaustion.write_off = write_off
        exhaustion.save(update_fields=["write_off"])
    return exhaustion


def dunning_exhaust(*, levels: dict[int, list[DunningLevel]], today: date) -> tuple[int, list[str]]:
    """Act on every invoice whose dunning ran out by ``today``; return how many and the errors."""
    count, errors = 0, []
    policies = {p.pk: p for p in DunningPolicy.objects.filter(pk__in=list(levels))}
    for notice in exhausted_candidates(levels=levels, today=today):
        invoice = notice.invoice
        try:
            done = invoice_exhaust(
                invoice_id=invoice.pk,
                policy=policies[notice.level.policy_id],
                last_sent=last_sent(notice),
            )
        except Exception as exc:  # one invoice must not stop the others
            logger.exception("Exhausted dunning failed for invoice %s", invoice.pk)
            errors.append(f"{invoice}: {exc}")
            continue
        count += done is not None
    return count, errors
