# ruff: noqa: F811 (pytest fixtures imported by name)
"""Risk feeds the gateway through the credit policy: a crossed limit, an overdue flag and a usage spike
suspend under *block* and only notify under *warn*; clearing restores."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models.signals import post_save
from django.utils import timezone

from billing.dunning.risk import risk_flag_clear, risk_flags_check
from billing.dunning.risk_tasks import risk_after_usage
from billing.gateway.receivers import risk_flag_changed
from billing.terms.models import BillingTerms, RiskFlag
from billing.usage.services import usage_batch_ingest
from billing.usage.signals import usage_committed
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from tests.billing.dunning.conftest import _clear_cache, gateway, webhook_receiver  # noqa: F401
from tests.billing.dunning.helpers import pay
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.usage.conftest import model, source  # noqa: F401
from tests.billing.usage.factories import customer_make, event

pytestmark = pytest.mark.django_db

BLOCK, WARN = BillingTerms.CreditPolicy.BLOCK, BillingTerms.CreditPolicy.WARN
SELL = Decimal("0.006")  # one default event at the default plan


@pytest.fixture(autouse=True)
def risk_receivers():
    """``billing.apps`` connects these; connecting again under the same uid changes nothing."""
    post_save.connect(risk_flag_changed, sender=RiskFlag, dispatch_uid="gateway_risk_flag")
    usage_committed.connect(risk_after_usage, dispatch_uid="risk_spike_after_usage")


def status(client, key="key-r"):
    return client.get("/api/v1/gateway/status", {"key": key}).json()


def codes(answer):
    return [r["code"] for r in answer["reasons"]]


def signed(hook) -> bool:
    return webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="gw-secret"
    )


def at_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def ingest(source, records, capture):
    with capture(execute=True):
        usage_batch_ingest(source=source, records=records)


# --- the credit limit -------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [BLOCK, WARN])
def test_crossing_the_credit_limit_blocks_under_block_and_only_warns_under_warn(
    policy, source, model, gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer_make(key="key-r", mode="monthly", credit_limit=Decimal("0.01"), credit_policy=policy)

    ingest(source, [event("c1", key="key-r")], django_capture_on_commit_callbacks)
    assert status(client)["status"] == "active"
    ingest(source, [event("c2", key="key-r")], django_capture_on_commit_callbacks)  # 0.012 ≥ 0.01

    answer = status(client)
    if policy == BLOCK:
        assert answer["status"] == "suspended" and codes(answer) == ["credit_limit"]
        assert received[-1]["json"]["type"] == "customer.suspended"
    else:
        assert answer["status"] == "active" and codes(answer) == []
        assert received[-1]["json"]["type"] == "customer.credit_limit_crossed"
    assert Decimal(answer["exposure"]) == 2 * SELL and signed(received[-1])


# --- overdue beyond the terms' days -----------------------------------------------------------------------


def overdue_customer(policy, *, days=30, late_by=45):
    customer = customer_make(
        key="key-r",
        mode="monthly",
        credit_policy=policy,
        overdue_flag_days=days,
        billing_emails="ap@risk.example",
    )
    today = timezone.localdate()
    invoice = issued_invoice(customer, "500.00", issue_date=today - dt.timedelta(days=late_by + 30))
    invoice.due_date = today - dt.timedelta(days=late_by)
    invoice.save(update_fields=["due_date"])
    return customer, invoice


def test_overdue_flag_blocks_under_block_and_payment_restores(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    fin = staff("finance")
    customer, invoice = overdue_customer(BLOCK)

    with django_capture_on_commit_callbacks(execute=True):
        assert risk_flags_check(customer_ids=[customer.pk]) == [(customer.pk, "overdue_days", "raised")]

    answer = status(client)
    assert answer["status"] == "suspended" and codes(answer) == ["overdue_days"]
    assert invoice.number in answer["reasons"][0]["detail"]
    hook = received[-1]["json"]
    assert (hook["type"], hook["reason"], hook["measured"], hook["threshold"]) == (
        "customer.suspended",
        "overdue_days",
        "45",
        "30",
    )
    assert hook["detail"] == invoice.number and signed(received[-1])
    assert sorted(m.to[0] for m in mailoutbox) == sorted(["ap@risk.example", fin.email])
    assert "blocked" in mailoutbox[0].body

    # checking again changes nothing and notifies nobody twice
    with django_capture_on_commit_callbacks(execute=True):
        assert risk_flags_check(customer_ids=[customer.pk]) == []
    assert len(received) == 1 and len(mailoutbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice)
        assert risk_flags_check(customer_ids=[customer.pk]) == [(customer.pk, "overdue_days", "cleared")]

    assert status(client)["status"] == "active"
    assert (received[-1]["json"]["type"], received[-1]["json"]["reason"]) == (
        "customer.restored",
        "overdue_days_cleared",
    )


def test_overdue_flag_only_warns_under_warn(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer, _invoice = overdue_customer(WARN)

    with django_capture_on_commit_callbacks(execute=True):
        risk_flags_check(customer_ids=[customer.pk])

    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.risk_flagged"]
    assert received[0]["json"]["reason"] == "overdue_days" and received[0]["json"]["policy"] == "warn"
    assert signed(received[0])
    assert mailoutbox and "Service continues" in mailoutbox[0].body


def test_an_invoice_not_yet_beyond_the_days_raises_nothing(gateway, django_capture_on_commit_callbacks):
    customer, _invoice = overdue_customer(BLOCK, days=45, late_by=45)  # 45 days late is not beyond 45

    with django_capture_on_commit_callbacks(execute=True):
        assert risk_flags_check(customer_ids=[customer.pk]) == []
    assert status(gateway[0])["status"] == "active"


# --- usage spikes -----------------------------------------------------------------------------------------


def spike_customer(source, capture, policy, *, factor="3"):
    """Fourteen days of one event a day, then the spike factor switched on."""
    customer = customer_make(
        key="key-r", mode="monthly", credit_policy=policy, billing_emails="ap@risk.example"
    )
    today = timezone.localdate()
    history = [event(f"h{n}", key="key-r", at=at_noon(today - dt.timedelta(days=n))) for n in range(1, 15)]
    ingest(source, history, capture)
    BillingTerms.objects.filter(customer=customer).update(spike_factor=Decimal(factor))
    return customer


def spike_today(source, capture, count=4):
    now = timezone.now()
    ingest(source, [event(f"s{n}", key="key-r", at=now) for n in range(count)], capture)


def test_a_usage_spike_blocks_under_block_after_the_batch_and_clearing_restores(
    source, model, gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = spike_customer(source, django_capture_on_commit_callbacks, BLOCK)
    assert status(client)["status"] == "active" and not received

    spike_today(source, django_capture_on_commit_callbacks)  # 4 × 0.006 = 0.024 > 3 × 0.006

    flag = RiskFlag.objects.get(customer=customer, ended_at__isnull=True)
    assert (flag.kind, flag.measured, flag.threshold) == ("usage_spike", 4 * SELL, 3 * SELL)
    answer = status(client)
    assert answer["status"] == "suspended" and codes(answer) == ["usage_spike"]
    assert (received[-1]["json"]["type"], received[-1]["json"]["reason"]) == (
        "customer.suspended",
        "usage_spike",
    )
    assert received[-1]["json"]["currency"] == "CNY" and signed(received[-1])

    with django_capture_on_commit_callbacks(execute=True):
        risk_flag_clear(flag=flag, actor=staff("finance"))

    assert status(client)["status"] == "active"
    assert (received[-1]["json"]["type"], received[-1]["json"]["reason"]) == (
        "customer.restored",
        "usage_spike_cleared",
    )
    assert received[-1]["json"]["cleared_by_staff"] is True
    # the day was looked at: checking again does not raise it anew
    with django_capture_on_commit_callbacks(execute=True):
        assert risk_flags_check(customer_ids=[customer.pk]) == []


def test_a_usage_spike_only_warns_under_warn_and_clears_when_the_day_passes(
    source, model, gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = spike_customer(source, django_capture_on_commit_callbacks, WARN)

    spike_today(source, django_capture_on_commit_callbacks)

    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.risk_flagged"]
    assert "Usage on" in mailoutbox[0].body or "Usage on" in mailoutbox[-1].body
    # tomorrow the spike is yesterday's: still flagged; the day after, no day spikes
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert risk_flags_check(customer_ids=[customer.pk], today=tomorrow) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert risk_flags_check(customer_ids=[customer.pk], today=tomorrow + dt.timedelta(days=1)) == [
            (customer.pk, "usage_spike", "cleared")
        ]
    assert RiskFlag.objects.get(customer=customer).cleared_by is None
    assert len(received) == 1  # no restore under warn: the gateway never stopped


def test_switching_the_policy_to_block_while_flagged_suspends_at_once_and_the_check_tells_the_gateway(
    gateway, eager_celery, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer, _invoice = overdue_customer(WARN)
    with django_capture_on_commit_callbacks(execute=True):
        risk_flags_check(customer_ids=[customer.pk])
    assert status(client)["status"] == "active"

    BillingTerms.objects.filter(customer=customer).update(credit_policy=BLOCK)
    with django_capture_on_commit_callbacks(execute=True):
        changes = risk_flags_check(customer_ids=[customer.pk])

    assert changes == [(customer.pk, "overdue_days", "cleared"), (customer.pk, "overdue_days", "raised")]
    assert status(client)["status"] == "suspended"
    assert [h["json"]["type"] for h in received] == ["customer.risk_flagged", "customer.suspended"]
