"""``manage.py billing_verify``: every rated usage event in a wallet debit, an invoice or the open period."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.invoicing.close.services import close_period
from billing.invoicing.models import PeriodClose
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.terms.models import BillingTerms
from billing.usage.models import RatingState, UsageBatch, UsageEvent
from billing.wallets.debits import wallet_debit
from tests.billing.invoicing.conftest import use
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make

pytestmark = pytest.mark.django_db

OCT_3 = datetime(2026, 10, 3, 2, tzinfo=UTC)


def problems(capsys) -> str:
    with pytest.raises(CommandError, match=r"billing_verify: \d+ problem\(s\) found"):
        call_command("billing_verify")
    return capsys.readouterr().err


def test_clean_books_pass(source, model, capsys):
    monthly = customer_make(key="key-m", mode=BillingTerms.Mode.MONTHLY)
    prepaid = customer_make(key="key-p")
    top_up(prepaid, Decimal("100"))
    use(source, "key-m", OCT_3)
    use(source, "key-p", OCT_3)
    close_period("2026-10", issue_date=date(2026, 11, 1))
    use(source, "key-m", datetime(2026, 11, 3, 2, tzinfo=UTC))  # the open period's, in unbilled

    call_command("billing_verify")

    assert "OK" in capsys.readouterr().out
    assert monthly.invoices.count() == 1


def test_a_voided_invoice_waits_for_the_next_close_without_a_problem(source, model, capsys):
    from billing.receivables.credit_notes import invoice_void

    customer_make(key="key-m", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-m", OCT_3)
    [invoice] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    invoice_void(invoice=invoice, reason="wrong address", actor=None)

    call_command("billing_verify")  # the next close bills it again: the open period accounts for it

    assert "OK" in capsys.readouterr().out


@pytest.mark.corrupts_billing("posts to unbilled by hand")
def test_unbilled_that_no_usage_explains_is_reported(source, model, capsys):
    c = customer_make(key="key-m", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-m", OCT_3)
    transaction_post(
        idempotency_key="by-hand",
        kind="manual",
        lines=[
            debit(
                account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=c),
                Decimal(10),
                "CNY",
            ),
            credit(account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"), Decimal(10), "CNY"),
        ],
    )

    err = problems(capsys)

    assert f"(#{c.pk}) CNY: unbilled holds 15.234558000000" in err
    assert "not yet invoiced is 5.234558000000" in err


@pytest.mark.corrupts_billing("records a close that invoiced nothing")
def test_credit_usage_of_a_closed_period_on_no_invoice_is_reported(source, model, capsys):
    c = customer_make(key="key-m", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-m", OCT_3)
    PeriodClose.objects.create(
        period="2026-10", period_start=date(2026, 10, 1), period_end=date(2026, 10, 31), state="done"
    )

    err = problems(capsys)

    assert f"(#{c.pk}) CNY: 5.23 of credit-time usage up to 2026-10-31 is on no invoice" in err
    # Usage delivered after that close is the open period's: only the first event is reported.
    use(source, "key-m", OCT_3)
    assert "5.23 of credit-time usage" in problems(capsys)


@pytest.mark.corrupts_billing("debits a wallet for a batch that charged nothing")
def test_wallet_usage_debit_without_usage_is_reported(model, capsys):
    c = customer_make(key="key-p")
    top_up(c, Decimal("100"))
    wallet_debit(
        customer=c,
        currency="CNY",
        amount=Decimal("7"),
        idempotency_key="ghost",
        target_account=account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"),
        kind="usage.prepaid",
        memo="usage",
        source="usage_batch:424242",
    )

    err = problems(capsys)

    assert f"(#{c.pk}) CNY: prepaid-time usage sold 0" in err and "took 7.000000000000 from the wallet" in err


@pytest.mark.corrupts_billing("stores a rated event without its batch's postings")
def test_a_batch_that_rated_but_posted_nothing_is_reported(model, capsys):
    c = customer_make(key="key-m", mode=BillingTerms.Mode.MONTHLY)
    batch = UsageBatch.objects.create(idempotency_key="lost", request_hash="")
    UsageEvent.objects.create(
        batch=batch,
        rated_in=batch,
        request_id="r1",
        occurred_at=OCT_3,
        customer=c,
        model=model,
        model_name=model.name,
        rating_state=RatingState.RATED,
        sell_amount=Decimal("3"),
        sell_currency="CNY",
    )

    assert f"1 usage batch(es) rated events with a sale but posted nothing: {batch.pk}" in problems(capsys)


def test_the_demo_invoices_carry_its_usage_and_verify_clean(capsys):
    from billing.invoicing.models import Invoice, InvoiceLine
    from demo.loader import demo_load

    demo_load()

    # The demo customers were onboarded after their traffic began: their invoices bill it all the same.
    with_traffic = Invoice.objects.filter(customer__code__in=["beijing-search", "acme-agents", "suzhou-mfg"])
    assert with_traffic.count() == 3
    for invoice in with_traffic:
        assert invoice.lines.filter(kind=InvoiceLine.Kind.USAGE).exists(), invoice.customer.code
    call_command("billing_verify")
    assert "OK" in capsys.readouterr().out
