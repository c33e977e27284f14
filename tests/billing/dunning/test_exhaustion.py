"""Dunning and write-offs: a written-off invoice is not dunned and lifts its suspension; exhausted dunning
suspends and/or proposes a write-off, once."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.dunning.models import DunningExhaustion, DunningNotice, DunningPolicy
from billing.dunning.services import dunning_policy_standard, dunning_run
from billing.dunning.signals import write_off_wanted
from billing.gateway.models import GatewayHold
from billing.receivables.models import WriteOff
from billing.receivables.writeoffs import dunning_write_off_receiver, writeoff_approve, writeoff_propose
from tests.billing.dunning.helpers import DUE, dunned_customer, invoice_due, pay
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db

UID = "receivables.write_off_wanted"


@pytest.fixture(autouse=True)
def _receiver():
    """What billing.apps connects (dispatch_uid keeps it to one connection either way)."""
    write_off_wanted.connect(dunning_write_off_receiver, dispatch_uid=UID)
    yield


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


def status(client, key="key-d") -> dict:
    return client.get("/api/v1/gateway/status", {"key": key}).json()


def set_action(action: str, days: int = 10) -> DunningPolicy:
    policy = dunning_policy_standard()
    policy.exhausted_action, policy.exhausted_after_days = action, days
    policy.save()
    return policy


def last_level_sent_on(invoice, on: date) -> None:
    moment = timezone.make_aware(timezone.datetime(on.year, on.month, on.day, 12))
    DunningNotice.objects.filter(invoice=invoice, level__days_from_due=30).update(sent_at=moment)


def write_off_all(invoice):
    write_off = writeoff_propose(
        customer=invoice.customer,
        invoices_amounts=[(invoice, None)],
        reason="Insolvent",
        actor=staff(StaffRole.FINANCE),
        idempotency_key=f"wo-{invoice.pk}",
    )
    return writeoff_approve(write_off=write_off, approver=staff(StaffRole.ADMIN))


def test_a_written_off_invoice_lifts_its_suspension_and_gets_no_reminder(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    invoice = invoice_due(dunned_customer())
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run(today=day(30))
    assert status(client)["status"] == "suspended"
    sent = len(mailoutbox)

    with django_capture_on_commit_callbacks(execute=True):
        write_off_all(invoice)

    assert status(client)["status"] == "active"
    assert DunningNotice.objects.get(invoice=invoice, level__days_from_due=30).lifted_at is not None
    assert (received[-1]["json"]["type"], received[-1]["json"]["reason"]) == (
        "customer.restored",
        "overdue_settled",
    )
    # no reminder, and no exhaustion either: nothing is due
    set_action(DunningPolicy.Exhausted.SUSPEND_AND_PROPOSE)
    result = dunning_run(today=day(120))
    assert (result.sent, result.skipped, len(mailoutbox) - sent) == (0, 0, 0)
    assert not DunningExhaustion.objects.exists() and not GatewayHold.objects.exists()


def test_a_partly_written_off_invoice_is_still_dunned_for_the_rest(mailoutbox):
    invoice = invoice_due(dunned_customer())
    write_off = writeoff_propose(
        customer=invoice.customer,
        invoices_amounts=[(invoice, invoice.amount_due - 200)],
        reason="Half lost",
        actor=staff(StaffRole.FINANCE),
        idempotency_key="wo-part",
    )
    writeoff_approve(write_off=write_off, approver=staff(StaffRole.ADMIN))
    assert dunning_run(today=day(7)).sent == 1
    assert DunningNotice.objects.get(invoice=invoice, skipped=False).amount_due == 200


def test_exhausted_dunning_suspends_once_with_a_clear_reason(gateway, django_capture_on_commit_callbacks):
    client, _received = gateway
    set_action(DunningPolicy.Exhausted.SUSPEND, days=10)
    invoice = invoice_due(dunned_customer())
    dunning_run(today=day(30))
    last_level_sent_on(invoice, day(30))

    assert dunning_run(today=day(39)).as_dict() == {"sent": 0, "skipped": 0, "suspended": 0, "errors": []}
    assert not DunningExhaustion.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        result = dunning_run(today=day(40))

    assert result.exhausted == 1 and result.as_dict()["exhausted"] == 1
    exhaustion = DunningExhaustion.objects.get()
    assert (exhaustion.invoice, exhaustion.action, exhaustion.amount_due) == (invoice, "suspend", 1200)
    assert exhaustion.write_off is None
    hold = GatewayHold.objects.get()
    assert hold.customer == invoice.customer and hold.ended_at is None
    assert invoice.number in hold.reason and hold.reason.startswith("Dunning exhausted")
    # paying the invoice lifts the overdue suspension, but the hold is staff's to lift
    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice)
    assert status(client)["status"] == "suspended"
    # once: later runs do nothing more
    assert dunning_run(today=day(60)).exhausted == 0
    assert GatewayHold.objects.count() == 1 and DunningExhaustion.objects.count() == 1


def test_exhausted_dunning_proposes_a_write_off_once_that_only_an_admin_approves():
    set_action(DunningPolicy.Exhausted.PROPOSE_WRITE_OFF, days=10)
    invoice = invoice_due(dunned_customer())
    dunning_run(today=day(30))
    last_level_sent_on(invoice, day(30))

    dunning_run(today=day(45))
    dunning_run(today=day(46))

    write_off = WriteOff.objects.get()
    assert (write_off.origin, write_off.proposed_by, write_off.status, write_off.total) == (
        "dunning",
        None,
        "proposed",
        1200,
    )
    assert invoice.number in write_off.reason
    assert DunningExhaustion.objects.get().write_off == write_off
    assert not GatewayHold.objects.exists()
    with pytest.raises(PermissionDenied):
        writeoff_approve(write_off=write_off, approver=staff(StaffRole.FINANCE))
    writeoff_approve(write_off=write_off, approver=staff(StaffRole.ADMIN))
    invoice.refresh_from_db()
    assert invoice.status == "written_off"


def test_exhausted_dunning_may_do_both_and_nothing_when_the_policy_says_nothing():
    policy = set_action(DunningPolicy.Exhausted.NOTHING)
    first = invoice_due(dunned_customer(key="k1"))
    dunning_run(today=day(30))
    last_level_sent_on(first, day(30))
    assert dunning_run(today=day(90)).exhausted == 0

    policy.exhausted_action = DunningPolicy.Exhausted.SUSPEND_AND_PROPOSE
    policy.save()
    result = dunning_run(today=day(90))

    assert result.exhausted == 1 and not result.errors
    exhaustion = DunningExhaustion.objects.get()
    assert exhaustion.action == "suspend_and_propose" and exhaustion.write_off is not None
    assert GatewayHold.objects.count() == 1


def test_without_the_write_off_receiver_the_run_reports_it_and_records_nothing():
    write_off_wanted.disconnect(dispatch_uid=UID)
    set_action(DunningPolicy.Exhausted.SUSPEND_AND_PROPOSE)
    invoice = invoice_due(dunned_customer())
    dunning_run(today=day(30))
    last_level_sent_on(invoice, day(30))
    result = dunning_run(today=day(90))
    assert result.exhausted == 0 and "write_off_wanted" in result.errors[0]
    assert not DunningExhaustion.objects.exists() and not GatewayHold.objects.exists()


def test_the_policy_form_sets_and_checks_the_exhausted_fields(client):
    client.force_login(staff(StaffRole.FINANCE))
    policy = dunning_policy_standard()
    url = reverse("staff-dunning-policy-edit", args=[policy.pk])
    page = client.get(url)
    assert b'name="exhausted_after_days"' in page.content and b'name="exhausted_action"' in page.content
    levels = list(policy.levels.order_by("days_from_due"))
    data = {
        "name": "Standard",
        "is_active": "on",
        "exhausted_after_days": "0",
        "exhausted_action": "suspend",
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": str(len(levels)),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
    }
    for i, level in enumerate(levels):
        data |= {
            f"levels-{i}-id": str(level.pk),
            f"levels-{i}-days_from_due": str(level.days_from_due),
            f"levels-{i}-name": level.name,
        }
        if level.suspend_service:
            data[f"levels-{i}-suspend_service"] = "on"
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "Days after the last level must be between 1 and 365." in refused.content.decode()
    assert client.post(url, data | {"exhausted_after_days": "21"}).status_code == 302
    policy.refresh_from_db()
    assert (policy.exhausted_after_days, policy.exhausted_action) == (21, "suspend")
    listing = client.get(reverse("staff-dunning-policies")).content.decode()
    assert "Suspend service, 21 days after the last level" in listing
