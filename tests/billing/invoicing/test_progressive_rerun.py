"""A re-run of an earlier close next to a later period's interim invoice: late usage the interim already
billed is not billed again, and nothing of the later period's usage is credited on the earlier invoice.

Sell prices (tests.billing.usage.factories): 2 per million prompt tokens, 8 per million completion tokens.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, InvoiceLine, ServiceCharge
from billing.invoicing.progressive import progressive_check
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make

pytestmark = pytest.mark.django_db

NOV_25 = datetime(2026, 11, 25, 1, tzinfo=UTC)
DEC_3 = datetime(2026, 12, 3, 1, tzinfo=UTC)
CUT_DEC_3 = datetime(2026, 12, 3, 3, tzinfo=UTC)
# 100.00: 20.00 of prompt + 80.00 of completion; 600.00: 200.00 + 400.00.
SIZE_100 = {"prompt": 10_000_000, "completion": 10_000_000}
SIZE_600 = {"prompt": 100_000_000, "completion": 50_000_000}


def unbilled(customer) -> Decimal:
    return account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance


def usage_of(invoices) -> list[InvoiceLine]:
    return [ln for inv in invoices for ln in inv.lines.filter(kind=InvoiceLine.Kind.USAGE)]


@pytest.fixture
def november_closed_empty(model):
    """October closed (progressive billing waits for it), then November closed with nothing for the
    customer: its late usage and a late one-off charge arrive after."""
    close_period("2026-10", issue_date=date(2026, 11, 1))
    customer = customer_make(
        key="key-r", mode=BillingTerms.Mode.MONTHLY, progressive_threshold=Decimal("500")
    )
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []
    return customer


def test_rerun_of_november_neither_rebills_nor_credits_what_the_december_interim_billed(
    source, november_closed_empty, capsys
):
    customer = november_closed_empty
    ServiceCharge.objects.create(
        customer=customer,
        description="Workshop",
        amount=Decimal("1000"),
        currency="CNY",
        starts_on=date(2026, 11, 20),
    )
    use(source, "key-r", NOV_25, **SIZE_100)  # November's, arriving after its close
    use(source, "key-r", DEC_3, **SIZE_600)
    [interim] = progressive_check([customer.pk], at=CUT_DEC_3)
    assert (interim.period, interim.total) == (
        "2026-12",
        Decimal("700.00"),
    )  # the late 100 and December's 600

    [november] = close_period("2026-11", issue_date=date(2026, 12, 4)).invoices

    # Only the charge: the late usage is on the interim already, and December's usage is no credit here.
    assert usage_of([november]) == []
    assert [(ln.kind, ln.amount) for ln in november.lines.all()] == [
        (InvoiceLine.Kind.SERVICE, Decimal("1000.00"))
    ]
    assert november.total == Decimal("1000.00")
    assert unbilled(customer) == 0

    assert close_period("2026-12", issue_date=date(2027, 1, 1)).invoices == []  # nothing is left to bill
    invoices = Invoice.objects.filter(customer=customer).exclude(status=Invoice.Status.VOID)
    lines = usage_of(invoices)
    assert sum(ln.amount for ln in lines) == Decimal("700.00")
    assert all(ln.amount > 0 for ln in lines)
    assert sum(ln.details["tokens"]["input"] for ln in lines) == 110_000_000
    assert sum(ln.details["tokens"]["output"] for ln in lines) == 60_000_000
    assert unbilled(customer) == 0
    call_command("billing_verify")
    assert "OK" in capsys.readouterr().out


def test_late_usage_arriving_after_the_interim_is_billed_once_by_the_later_close(
    source, november_closed_empty
):
    """The interim billed December's usage only: the re-run of November does not take it for November's
    late usage twice over — it bills nothing of it either, and December's close bills the late usage."""
    customer = november_closed_empty
    ServiceCharge.objects.create(
        customer=customer,
        description="Workshop",
        amount=Decimal("1000"),
        currency="CNY",
        starts_on=date(2026, 11, 20),
    )
    use(source, "key-r", DEC_3, **SIZE_600)
    [interim] = progressive_check([customer.pk], at=CUT_DEC_3)
    assert interim.total == Decimal("600.00")
    use(source, "key-r", NOV_25, **SIZE_100)  # late, after the interim

    [november] = close_period("2026-11", issue_date=date(2026, 12, 4)).invoices
    assert november.total == Decimal("1000.00") and usage_of([november]) == []
    [december] = close_period("2026-12", issue_date=date(2027, 1, 1)).invoices

    [line] = usage_of([december])
    assert line.amount == Decimal("100.00")
    assert (line.details["tokens"]["input"], line.details["tokens"]["output"]) == (10_000_000, 10_000_000)
    assert unbilled(customer) == 0


def test_a_genuine_negative_stays_on_the_rerun(source, november_closed_empty):
    """What November's own invoices billed beyond November's usage is credited on the re-run, and a later
    interim does not cover that credit up. (The state is made by hand: an interim counted as November's
    that billed 600 of usage November does not have, as a re-rating lowering it would leave.)"""
    customer = november_closed_empty
    use(source, "key-r", NOV_25, **SIZE_100)
    use(source, "key-r", DEC_3, **SIZE_600)
    [first] = progressive_check([customer.pk], at=CUT_DEC_3)
    Invoice.objects.filter(pk=first.pk).update(
        period="2026-11", period_start=date(2026, 11, 1), period_end=date(2026, 11, 30)
    )
    use(source, "key-r", DEC_3, **SIZE_600)
    [later] = progressive_check([customer.pk], at=datetime(2026, 12, 3, 5, tzinfo=UTC))
    assert (first.total, later.period, later.total) == (Decimal("700.00"), "2026-12", Decimal("600.00"))
    ServiceCharge.objects.create(
        customer=customer,
        description="Workshop",
        amount=Decimal("1000"),
        currency="CNY",
        starts_on=date(2026, 11, 20),
    )

    [november] = close_period("2026-11", issue_date=date(2026, 12, 4)).invoices

    [line] = usage_of([november])
    assert line.amount == Decimal("-600.00")  # November used 100; its invoices billed 700
    assert november.total == Decimal("400.00")
