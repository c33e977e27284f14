"""A terms switch never moves under usage already charged (issue #16): its instant comes after the latest
usage stored for the customer, and a batch charging under the old spans is committed before the switch
picks that instant. Every event charged exactly once — invoiced or paid from the wallet — and
``billing_verify`` clean (the autouse check in tests/billing/conftest.py)."""

import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, connections
from django.urls import reverse

from accounts.models import StaffRole
from billing.invoicing.close.services import close_period
from billing.terms.models import BillingTerms, TermsSpan
from billing.terms.services import billing_terms_update
from billing.usage import charging
from billing.usage.models import GatewayKey
from tests.billing.allowances.helpers import clock
from tests.billing.factories import staff
from tests.billing.invoicing.test_close_spans import (
    SIZE_6_48,
    onboard,
    paid_from_wallet,
    send,
    switch,
    unbilled,
)
from tests.billing.usage.conftest import top_up
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
AHEAD = NOW + timedelta(minutes=20)  # a gateway clock 20 minutes fast
US = timedelta(microseconds=1)
SWITCHES = pytest.mark.parametrize("first,second", [("monthly", "prepaid"), ("prepaid", "monthly")])


def charged_once(customer) -> Decimal:
    """What the customer was charged for its usage in November: invoiced plus paid from the wallet."""
    invoices = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    assert unbilled(customer) == 0
    return sum((i.total for i in invoices), Decimal(0)) + paid_from_wallet(customer)


@SWITCHES
def test_a_switch_before_usage_dated_ahead_applies_after_it(source, model, first, second):
    customer = onboard("ahead", first)
    with clock(NOW):
        send(source, customer, [AHEAD], SIZE_6_48)  # charged under the first mode
    switch(customer, second, NOW + timedelta(minutes=10))

    # The reviewer's figures: 6.48 charged twice (credit → prepaid) or never (prepaid → credit).
    new = TermsSpan.objects.get(customer=customer, ends_at__isnull=True)
    assert (new.mode, new.starts_at) == (second, AHEAD + US)
    change = BillingTerms.objects.get(customer=customer).changes.first()
    assert change.changes["mode"] == [first, second]
    assert datetime.fromisoformat(change.changes["mode_from"][1]) == AHEAD + US
    # Usage arriving now on either side of the switch goes by it.
    send(source, customer, [AHEAD, AHEAD + US], SIZE_6_48)
    assert charged_once(customer) == Decimal("19.44")


def test_the_terms_page_says_from_when_a_deferred_mode_applies(client, source, model, settings):
    settings.TIME_ZONE = "UTC"
    customer = onboard("page", "monthly")
    with clock(NOW):
        send(source, customer, [AHEAD], SIZE_6_48)
    switch(customer, "prepaid", NOW)
    client.force_login(staff(StaffRole.SUPPORT))
    html = client.get(reverse("staff-customer-terms", args=[customer.pk])).content.decode()
    changes = html.split('data-testid="terms-changes"')[1].split("</ul>")[0]
    assert "New billing mode applies from: — → 2026-11-10 12:20:00" in re.sub(r"<[^>]+>", "", changes)
    assert "from just after the latest usage already received" in html
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("staff-customer-terms", args=[customer.pk])).content.decode()
    assert "则自该用量之后起生效" in html


def test_a_switch_without_usage_ahead_applies_when_asked(source, model):
    customer = onboard("ontime", "monthly")
    with clock(NOW):
        send(source, customer, [NOW - timedelta(hours=1)], SIZE_6_48)
    switch(customer, "prepaid", NOW)
    assert TermsSpan.objects.get(customer=customer, ends_at__isnull=True).starts_at == NOW
    assert charged_once(customer) == Decimal("6.48")


def test_switching_back_before_a_deferred_switch_keeps_the_mode(source, model):
    customer = onboard("back", "monthly")
    with clock(NOW):
        send(source, customer, [AHEAD], SIZE_6_48)
    switch(customer, "prepaid", NOW)  # deferred to just after AHEAD
    switch(customer, "monthly", NOW + timedelta(minutes=1))  # before it ever applied
    spans = list(TermsSpan.objects.filter(customer=customer).values_list("mode", "starts_at", "ends_at"))
    assert spans == [("monthly", datetime(2026, 11, 1, tzinfo=UTC), None)]
    send(source, customer, [AHEAD + timedelta(hours=1)], SIZE_6_48)
    assert charged_once(customer) == Decimal("12.96")


def _waiting_for_advisory_lock(cursor) -> int:
    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory'")
    return cursor.fetchone()[0]


@SWITCHES
@pytest.mark.django_db(transaction=True)
def test_a_switch_waits_for_a_batch_charging_under_the_old_spans(source, model, first, second):
    """The batch has read the spans (old mode) and not committed: its event is invisible to the switch.
    The switch waits for it, then sees the event and applies after it."""
    customer = onboard("race", first)
    spans_read, go = threading.Event(), threading.Event()
    real_load = charging.timeline_load
    errors = []

    def load_then_hold(customer_ids):
        timeline = real_load(customer_ids)
        spans_read.set()
        assert go.wait(30)
        return timeline

    def in_thread(work):
        def run():
            try:
                work()
            except Exception as exc:  # the assertions below show it
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run)

    with clock(NOW), mock.patch.object(charging, "timeline_load", load_then_hold):
        batch = in_thread(lambda: send(source, customer, [AHEAD], SIZE_6_48))
        switcher = in_thread(lambda: switch(customer, second, NOW + timedelta(minutes=10)))
        watcher = connections.create_connection("default")
        try:
            batch.start()
            assert spans_read.wait(30), errors
            switcher.start()
            with watcher.cursor() as cursor:
                deadline = time.monotonic() + 30
                while _waiting_for_advisory_lock(cursor) < 1:  # the switch queues behind the batch
                    assert time.monotonic() < deadline and switcher.is_alive(), errors
                    time.sleep(0.02)
        finally:
            watcher.close()
            go.set()
            batch.join(30)
            if switcher.ident is not None:  # started
                switcher.join(30)
    assert errors == [] and not batch.is_alive() and not switcher.is_alive()

    new = TermsSpan.objects.get(customer=customer, ends_at__isnull=True)
    assert (new.mode, new.starts_at) == (second, AHEAD + US)
    assert charged_once(customer) == Decimal("6.48")


def test_terms_for_a_customer_without_any_keep_its_prepaid_usage_prepaid(source, model):
    customer = CustomerFactory(code="bare")
    GatewayKey.objects.create(key="key-bare", customer=customer)
    top_up(customer, Decimal("100"))
    with clock(NOW):
        send(source, customer, [AHEAD], SIZE_6_48)  # no terms: charged as prepaid, from the wallet
        billing_terms_update(customer=customer, values={"mode": "monthly", "currency": "CNY"})
    spans = TermsSpan.objects.filter(customer=customer).order_by("pk")
    assert list(spans.values_list("mode", "starts_at", "ends_at")) == [
        ("prepaid", None, AHEAD + US),
        ("monthly", AHEAD + US, None),
    ]
    assert charged_once(customer) == Decimal("6.48") == paid_from_wallet(customer)


def test_terms_for_a_customer_without_any_or_usage_apply_throughout():
    customer = CustomerFactory(code="fresh")
    billing_terms_update(customer=customer, values={"mode": "monthly", "currency": "CNY"})
    spans = list(TermsSpan.objects.filter(customer=customer).values_list("mode", "starts_at", "ends_at"))
    assert spans == [("monthly", None, None)]
