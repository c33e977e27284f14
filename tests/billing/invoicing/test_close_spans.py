"""The close bills credit usage by when it happened, across every credit span (the audit's switch stories
and figures): every event charged once — invoiced or paid from the wallet — and unbilled exactly zero once
everything is invoiced. The postings side (usage charged by the mode at ``occurred_at``) is tested in
tests/billing/usage/test_terms_switches.py."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from rest_framework.test import APIClient

from billing.invoicing.close.services import close_period
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.services import billing_terms_update, customer_onboard
from billing.usage.models import GatewayKey
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import event, priced_model, source_make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
SWITCH = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
BACK = datetime(2026, 11, 20, tzinfo=UTC)
DEC_1 = date(2026, 12, 1)
# Sell 2 per million prompt tokens, 8 per million completion tokens (tests.billing.usage.factories).
SIZE_6_48 = {"prompt": 1_000_000, "completion": 560_000}  # 2.00 + 4.48
SIZE_9_59 = {"prompt": 1_000_000, "completion": 948_750}  # 2.00 + 7.59
SIZE_92_02 = {"prompt": 1_000_000, "completion": 11_252_500}  # 2.00 + 90.02
SIZE_0_1296 = {"prompt": 20_000, "completion": 11_200}  # 0.04 + 0.0896
_sent = iter(range(1, 10_000))


def onboard(code: str, mode: str):
    customer = customer_onboard(
        name=code,
        code=code,
        kind="end_customer",
        parent=None,
        language="en",
        contact_email="",
        mode=mode,
        currency="CNY",
        terms_from=NOV_1,
    )
    GatewayKey.objects.create(key=f"key-{code}", customer=customer)
    top_up(customer, Decimal("100"))
    return customer


def switch(customer, mode: str, at: datetime) -> None:
    with mock.patch("billing.terms.services.timezone.now", return_value=at):
        billing_terms_update(customer=customer, values={"mode": mode})


def send(source, customer, times: list[datetime], size: dict, *, key: str | None = None):
    """One batch of one event per time, under the customer's key (or ``key``), through the pipeline."""
    n = next(_sent)
    records = [
        event(f"e{n}-{i}", key=key or f"key-{customer.code}", at=at, **size) for i, at in enumerate(times)
    ]
    return usage_batch_ingest(source=source, records=records, idempotency_key=f"batch-{n}")


def unbilled(customer) -> Decimal:
    return account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance


def paid_from_wallet(customer) -> Decimal:
    return (
        Decimal("100")
        - wallet_balance(wallet=wallet_get_or_create(customer=customer, currency="CNY")).available
    )


def test_credit_prepaid_credit_invoices_both_credit_spans(source, model):
    customer = onboard("roundtrip", "monthly")
    send(source, customer, [datetime(2026, 11, 3, 2, tzinfo=UTC)], SIZE_92_02)  # on credit, on time
    switch(customer, "prepaid", SWITCH)
    # During the prepaid span: 38.88 of credit-time usage arrives late, 12.96 of the span's own.
    credit_late = [SWITCH - timedelta(days=d) for d in (5, 4, 3, 2, 1)] + [SWITCH - timedelta(minutes=15)]
    send(source, customer, credit_late, SIZE_6_48)
    send(source, customer, [SWITCH, SWITCH + timedelta(days=1)], SIZE_6_48)
    switch(customer, "monthly", BACK)
    # After the return: 25.92 of prepaid-time usage arrives late, then 129.60 of the new credit span.
    send(
        source,
        customer,
        [BACK - timedelta(days=d) for d in (6, 4, 2)] + [BACK - timedelta(seconds=1)],
        SIZE_6_48,
    )
    send(source, customer, [BACK + timedelta(hours=h) for h in range(20)], SIZE_6_48)

    [invoice] = close_period("2026-11", issue_date=DEC_1).invoices

    # The audit: 90.72 invoiced, 130.90 of the first credit span never, 156.82 left unbilled for good.
    assert invoice.total == Decimal("260.50")  # 92.02 + 38.88 (first span) + 129.60 (second)
    assert paid_from_wallet(customer) == Decimal("38.88")  # 12.96 + 25.92, each once
    assert unbilled(customer) == 0
    assert close_period("2026-12", issue_date=date(2027, 1, 1)).invoices == []


def test_leaving_credit_invoices_late_credit_time_usage_once(source, model):
    customer = onboard("leaver", "monthly")
    switch(customer, "prepaid", SWITCH)
    times = [SWITCH - timedelta(hours=h) for h in (30, 20, 10, 1)] + [SWITCH - timedelta(seconds=1)]
    send(source, customer, times, SIZE_6_48)  # credit-time, delivered after the switch

    # Now on prepaid, the customer still gets the credit span's final invoice.
    result = close_period("2026-11", issue_date=DEC_1)

    [invoice] = result.invoices
    assert result.statements == []  # nothing was used on prepaid terms
    assert invoice.customer == customer and invoice.total == Decimal("32.40")
    assert paid_from_wallet(customer) == 0  # the audit: charged twice, unbilled at −32.40
    assert unbilled(customer) == 0
    assert close_period("2026-12", issue_date=date(2027, 1, 1)).invoices == []


def test_joining_credit_invoices_only_credit_time_usage(source, model):
    customer = onboard("joiner", "prepaid")
    switch(customer, "monthly", SWITCH)
    late_prepaid = [SWITCH - timedelta(days=2), SWITCH - timedelta(hours=5), SWITCH - timedelta(minutes=1)]
    send(source, customer, late_prepaid, SIZE_9_59)
    send(source, customer, [SWITCH + timedelta(days=1)], SIZE_6_48)

    result = close_period("2026-11", issue_date=DEC_1)

    [invoice] = result.invoices
    assert invoice.total == Decimal("6.48")
    assert paid_from_wallet(customer) == Decimal("28.77")  # the audit: never charged
    assert unbilled(customer) == 0
    # Its November statement lists what the wallet paid, not the invoiced usage.
    [statement] = result.statements
    assert [ln["amount"] for ln in statement.lines] == ["28.77"]


def test_a_switch_at_12_30_invoices_the_half_hour_before_it(source, model):
    customer = onboard("slice", "monthly")
    # A whole day, a whole hour of the switch day (Shanghai's 10 Nov starts 9 Nov 16:00 UTC), and the
    # slice 12:00–12:30 of the switch hour; then 12:45, prepaid.
    days_hour_slice = [datetime(2026, 11, 3, 2, tzinfo=UTC), datetime(2026, 11, 10, 5, tzinfo=UTC)]
    send(source, customer, [*days_hour_slice, datetime(2026, 11, 10, 12, 10, tzinfo=UTC)], SIZE_6_48)
    switch(customer, "prepaid", SWITCH)
    send(source, customer, [datetime(2026, 11, 10, 12, 45, tzinfo=UTC)], SIZE_6_48)

    [invoice] = close_period("2026-11", issue_date=DEC_1).invoices

    assert invoice.total == Decimal("19.44")  # the audit: the 6.48 of 12:00–12:30 never invoiced
    assert invoice.lines.get().details["tokens"]["input"] == 3_000_000
    assert paid_from_wallet(customer) == Decimal("6.48")
    assert unbilled(customer) == 0


def test_usage_before_onboarding_is_invoiced_after_re_rating(source, model):
    # 500 requests under a key nobody has mapped yet: kept unrated.
    before = [NOV_1 - timedelta(days=3) + timedelta(minutes=i) for i in range(500)]
    assert send(source, None, before, SIZE_0_1296, key="key-newco").unrated == 500
    customer = onboard("newco", "monthly")  # maps key-newco; terms from 1 Nov
    assert usage_rerate().accepted == 500

    result = close_period("2026-11", issue_date=DEC_1)

    [invoice] = result.invoices  # the audit: "Done, 0 invoices"
    assert result.period_close.invoices_created == 1
    assert invoice.total == Decimal("64.80")
    assert invoice.lines.get().details["tokens"]["input"] == 500 * 20_000
    assert unbilled(customer) == 0


def test_unbilled_ends_at_exactly_zero_after_api_batches_rounded_to_12_places(model):
    # 0.123456789012 per million input tokens: one token costs 1.23456789012e-7, 18 places; each batch
    # posts it rounded to 12, so ten batches accrue 2.1e-12 more than the usage.
    priced_model("trace-model", sell_input="0.123456789012", sell_output="0")
    customer = onboard("trace", "monthly")
    _source, token = source_make(name="edge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    at = datetime(2026, 11, 5, tzinfo=UTC)
    bodies = [
        [event(f"t{i}", key="key-trace", model="trace-model", at=at, prompt=1, completion=0)]
        for i in range(10)
    ]
    bodies.append([event("big", key="key-trace", at=at, **SIZE_6_48)])
    for i, body in enumerate(bodies):
        response = client.generic(
            "POST",
            "/api/v1/usage/batches",
            json.dumps(body).encode(),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"api-{i}",
        )
        assert response.status_code == 200 and response.json()["accepted"] == 1
    assert unbilled(customer) == Decimal("6.48") + 10 * Decimal("0.000000123457")

    [invoice] = close_period("2026-11", issue_date=DEC_1).invoices

    assert invoice.total == Decimal("6.48")
    assert unbilled(customer) == 0  # the audit: −3e-12 left behind
    # Rounding took the trace model's sub-cent line (0.000001234568) and the 2e-12 the batches added.
    assert account_get(kind=AccountKind.ROUNDING, currency="CNY").balance == Decimal("0.00000123457")
