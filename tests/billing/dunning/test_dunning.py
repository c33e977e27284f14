"""The dunning schedule: levels −3/+7/+15/+30 around a due date D, e-mails with the PDF, suspension."""

from datetime import date, timedelta

import pytest

from billing.dunning.models import DunningNotice
from billing.dunning.services import dunning_run
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from tests.billing.dunning.helpers import DUE, dunned_customer, invoice_due, pay

pytestmark = pytest.mark.django_db

D = DUE


def day(offset: int):
    return D + timedelta(days=offset)


def sent_levels(invoice) -> list[int]:
    return list(
        DunningNotice.objects.filter(invoice=invoice, skipped=False)
        .order_by("level__days_from_due")
        .values_list("level__days_from_due", flat=True)
    )


def status(client, key="key-d") -> dict:
    return client.get("/api/v1/gateway/status", {"key": key}).json()


def test_the_schedule_day_by_day_and_stopping_when_paid(mailoutbox, django_capture_on_commit_callbacks):
    customer = dunned_customer()
    invoice = invoice_due(customer)

    assert dunning_run(today=day(-4)).sent == 0
    assert mailoutbox == [] and not DunningNotice.objects.exists()

    assert dunning_run(today=day(-3)).sent == 1
    assert sent_levels(invoice) == [-3]
    reminder = mailoutbox[0]
    assert reminder.to == ["ap@acme.example", "cfo@acme.example"]
    assert reminder.subject == f"Reminder: invoice {invoice.number} is due on 2026-11-30"
    assert "1,200.00 CNY" in reminder.body or "1200.00 CNY" in reminder.body
    (name, pdf, mimetype) = reminder.attachments[0]
    assert name == f"{invoice.number}.pdf" and mimetype == "application/pdf" and pdf.startswith(b"%PDF")

    # the same day again, and the days between levels: nothing more
    assert dunning_run(today=day(-3)).sent == 0
    assert dunning_run(today=day(6)).sent == 0
    assert len(mailoutbox) == 1

    assert dunning_run(today=day(7)).sent == 1
    assert sent_levels(invoice) == [-3, 7]
    assert mailoutbox[1].subject.startswith(f"Overdue: invoice {invoice.number}")
    assert "7 days overdue" in mailoutbox[1].body

    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice)  # paid at D+10
    for offset in (15, 30, 45):
        assert dunning_run(today=day(offset)).sent == 0
    assert sent_levels(invoice) == [-3, 7] and len(mailoutbox) == 2


def test_suspension_at_30_days_and_lifting_on_payment(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = dunned_customer()
    invoice = invoice_due(customer)
    for offset in (-3, 7, 15):
        dunning_run(today=day(offset))
    assert status(client)["status"] == "active"

    with django_capture_on_commit_callbacks(execute=True):
        result = dunning_run(today=day(30))

    assert (result.sent, result.suspended) == (1, 1)
    notice = DunningNotice.objects.get(invoice=invoice, level__days_from_due=30)
    assert notice.suspended and notice.lifted_at is None
    answer = status(client)
    assert answer["status"] == "suspended"
    assert [r["code"] for r in answer["reasons"]] == ["overdue"]
    assert invoice.number in answer["reasons"][0]["detail"]
    assert mailoutbox[-1].subject == f"Service suspended: invoice {invoice.number} is 30 days overdue"
    hook = received[-1]
    assert (hook["json"]["type"], hook["json"]["reason"]) == ("customer.suspended", "overdue")
    assert hook["json"]["keys"] == ["key-d"] and hook["json"]["invoice"] == invoice.number
    assert webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="gw-secret"
    )

    # a partial payment keeps it suspended; settling the rest lifts it
    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice, "200.00")
    assert status(client)["status"] == "suspended"
    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice)

    assert status(client)["status"] == "active"
    notice.refresh_from_db()
    assert notice.lifted_at is not None
    hook = received[-1]
    assert (hook["json"]["type"], hook["json"]["reason"]) == ("customer.restored", "overdue_settled")
    assert webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="gw-secret"
    )
    assert dunning_run(today=day(31)).sent == 0


def test_levels_due_together_send_only_the_highest_and_record_the_others(mailoutbox):
    customer = dunned_customer()
    invoice = invoice_due(customer)

    result = dunning_run(today=day(16))  # -3, +7 and +15 have all come

    assert (result.sent, result.skipped, result.suspended) == (1, 2, 0)
    assert len(mailoutbox) == 1 and "16 days overdue" in mailoutbox[0].body
    notices = {n.level.days_from_due: n for n in DunningNotice.objects.filter(invoice=invoice)}
    assert {d: n.skipped for d, n in notices.items()} == {-3: True, 7: True, 15: False}
    assert notices[-3].recipients == "" and "ap@acme.example" in notices[15].recipients
    # the skipped lower levels are never sent later
    assert dunning_run(today=day(17)).sent == 0
    assert dunning_run(today=day(30)).sent == 1 and len(mailoutbox) == 2


def test_a_late_run_that_reaches_a_suspending_level_suspends(
    client, gateway, django_capture_on_commit_callbacks
):
    api, _received = gateway
    customer = dunned_customer()
    invoice_due(customer)
    with django_capture_on_commit_callbacks(execute=True):
        result = dunning_run(today=day(40))
    assert (result.sent, result.skipped, result.suspended) == (1, 3, 1)
    assert status(api)["status"] == "suspended"


def test_chinese_customer_gets_chinese_reminder_with_the_pdf(mailoutbox):
    customer = dunned_customer(language="zh-hans")
    invoice = invoice_due(customer)

    dunning_run(today=day(7))

    message = mailoutbox[0]
    assert message.subject.startswith(f"逾期提醒：发票 {invoice.number}")
    assert "已逾期 7 天" in message.body and "发票详见附件" in message.body
    assert message.attachments[0][1].startswith(b"%PDF")


def test_no_contact_records_the_error_and_other_invoices_still_go(mailoutbox):
    silent = dunned_customer(key="key-s", emails="")
    reachable = dunned_customer(key="key-r")
    quiet_invoice = invoice_due(silent)
    invoice_due(reachable)

    result = dunning_run(today=day(7))

    assert result.sent == 1 and len(mailoutbox) == 1
    notice = DunningNotice.objects.get(invoice=quiet_invoice, skipped=False)
    assert "No billing contact" in notice.error
    assert any("No billing contact" in e for e in result.errors)


def test_customers_without_a_policy_and_paid_or_void_invoices_are_left_alone(mailoutbox):
    from billing.invoicing.models import Invoice
    from billing.terms.models import BillingTerms

    customer = dunned_customer()
    invoice = invoice_due(customer)
    BillingTerms.objects.filter(customer=customer).update(dunning_policy=None)
    assert dunning_run(today=day(7)).sent == 0

    other = dunned_customer(key="key-o")
    void = invoice_due(other)
    Invoice.objects.filter(pk=void.pk).update(status=Invoice.Status.VOID)
    assert dunning_run(today=day(7)).sent == 0
    assert mailoutbox == [] and not DunningNotice.objects.filter(invoice__in=[invoice, void]).exists()


def test_task_runs_on_the_notify_queue_daily_in_business_hours(eager_celery, settings):
    from billing.dunning.tasks import dunning_run_task
    from distributor.celery import app

    route = app.amqp.router.route({}, "billing.dunning.tasks.dunning_run_task", (), {})
    assert route["queue"].name == "notify"
    entry = settings.CELERY_BEAT_SCHEDULE["dunning-run"]
    assert entry["task"] == dunning_run_task.name
    assert entry["schedule"].hour == {9} and entry["schedule"].minute == {30}
    assert dunning_run_task.delay().get() == {"sent": 0, "skipped": 0, "suspended": 0, "errors": []}


def test_real_payment_and_credit_note_services_lift_the_overdue_suspension(
    gateway, eager_celery, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from billing.receivables.credit_notes import credit_note_issue
    from billing.receivables.services import payment_record

    client, received = gateway
    customer = dunned_customer()
    paid, credited = invoice_due(customer, amount="100.00"), invoice_due(customer, amount="50.00")
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run(today=day(30))
    assert status(client)["status"] == "suspended"

    # paying the older invoice leaves the other one keeping the customer suspended
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(
            customer=customer,
            amount=Decimal("100.00"),
            currency="CNY",
            received_on=date.today() - timedelta(days=1),
            reference="bank ref 1",
            actor=None,
            idempotency_key="pay-1",
            allocate=[(paid, Decimal("100.00"))],
        )
    assert status(client)["status"] == "suspended"
    assert [h["json"]["type"] for h in received] == ["customer.suspended"]

    with django_capture_on_commit_callbacks(execute=True):
        credit_note_issue(invoice=credited, reason="Goodwill", actor=None, idempotency_key="cn-1")

    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.suspended", "customer.restored"]
    assert not DunningNotice.objects.filter(suspended=True, lifted_at__isnull=True).exists()
