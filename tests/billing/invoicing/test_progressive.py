"""Progressive billing: an interim invoice when unbilled usage passes the threshold, the close bills the rest.

Sell prices (tests.billing.usage.factories): 2 per million prompt tokens, 8 per million completion tokens.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.progressive import ProgressiveError, progressive_check
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.receivables.aging import aging_by_customer
from billing.statements.build import statement_build
from billing.terms.models import BillingTerms
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make, priced_model

pytestmark = pytest.mark.django_db

NOV_5 = datetime(2026, 11, 5, 2, tzinfo=UTC)
CUT_NOV_5 = datetime(2026, 11, 5, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
NOV_20 = datetime(2026, 11, 20, 2, tzinfo=UTC)
# 600.00: 200.00 of prompt + 400.00 of completion; 250.00: 50.00 + 200.00.
SIZE_600 = {"prompt": 100_000_000, "completion": 50_000_000}
SIZE_250 = {"prompt": 25_000_000, "completion": 25_000_000}


def progressive_customer(key="key-p", **terms):
    fields = {"mode": BillingTerms.Mode.MONTHLY, "progressive_threshold": Decimal("500"), **terms}
    return customer_make(key=key, **fields)


def unbilled(customer) -> Decimal:
    return account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance


def usage_lines(invoice) -> dict[str, tuple[Decimal, dict]]:
    return {
        ln.description: (ln.amount, ln.details["tokens"])
        for ln in invoice.lines.filter(kind=InvoiceLine.Kind.USAGE)
    }


@pytest.fixture
def october_closed(model):
    """The month before: closed (empty), as progressive billing waits for it."""
    close_period("2026-10", issue_date=date(2026, 11, 1))


def test_interim_at_the_threshold_then_the_close_bills_only_the_rest(source, model, october_closed, capsys):
    customer = progressive_customer(payment_term="net", payment_days=30)
    use(source, "key-p", NOV_5, **SIZE_600)

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)

    assert interim.kind == Invoice.Kind.INTERIM and interim.status == Invoice.Status.ISSUED
    assert interim.number == "INV-2026-000001"  # the normal invoice series
    assert interim.total == Decimal("600.00")
    assert (interim.issue_date, interim.due_date) == (date(2026, 11, 5), date(2026, 12, 5))  # net 30
    assert (interim.period, interim.period_start, interim.period_end) == (
        "2026-11",
        date(2026, 11, 1),
        date(2026, 11, 5),
    )
    assert interim.close_key == f"interim:{customer.pk}:CNY:20261105T033000.000000Z"
    assert "2026-11-05 11:30 (Asia/Shanghai)" in interim.notes and "500.00 CNY" in interim.notes
    assert unbilled(customer) == 0
    assert account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer).balance == Decimal(600)

    use(source, "key-p", NOV_20, **SIZE_250)
    assert progressive_check([customer.pk], at=datetime(2026, 11, 20, 3, tzinfo=UTC)) == []  # 250 < 500
    [final] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices

    assert final.kind == Invoice.Kind.STANDARD and final.total == Decimal("250.00")
    [(amount_i, tokens_i)] = usage_lines(interim).values()
    [(amount_f, tokens_f)] = usage_lines(final).values()
    assert amount_i + amount_f == Decimal("850.00")
    assert tokens_i["input"] + tokens_f["input"] == 125_000_000
    assert tokens_i["output"] + tokens_f["output"] == 75_000_000
    assert unbilled(customer) == 0
    call_command("billing_verify")
    assert "OK" in capsys.readouterr().out


def test_lines_per_model_sum_to_the_usage_of_each(source, model, october_closed):
    priced_model("qwen-max", sell_input="4", sell_output="12")
    customer = progressive_customer()
    use(source, "key-p", NOV_5, **SIZE_600)
    use(source, "key-p", NOV_5, model="qwen-max", prompt=10_000_000, completion=5_000_000)  # 40 + 60

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)
    use(source, "key-p", NOV_20, model="qwen-max", prompt=1_000_000, completion=0)  # 4.00
    use(source, "key-p", NOV_20, **SIZE_250)
    [final] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices

    assert usage_lines(interim) == {
        "deepseek-chat": (
            Decimal("600.00"),
            interim.lines.get(description="deepseek-chat").details["tokens"],
        ),
        "qwen-max": (Decimal("100.00"), interim.lines.get(description="qwen-max").details["tokens"]),
    }
    assert {name: amount for name, (amount, _t) in usage_lines(final).items()} == {
        "deepseek-chat": Decimal("250.00"),
        "qwen-max": Decimal("4.00"),
    }
    assert (
        usage_lines(interim)["qwen-max"][1]["input"] + usage_lines(final)["qwen-max"][1]["input"]
        == 11_000_000
    )
    assert unbilled(customer) == 0


def test_below_the_threshold_nothing_is_issued(source, model, october_closed):
    customer = progressive_customer()
    use(source, "key-p", NOV_5, prompt=100_000_000, completion=37_499_999)  # 499.999992

    assert progressive_check([customer.pk], at=CUT_NOV_5) == []
    assert not Invoice.objects.exists()


def test_a_share_of_the_credit_limit_triggers(source, model, october_closed):
    customer = progressive_customer(
        progressive_threshold=None, credit_limit=Decimal("1000"), progressive_limit_share=Decimal("0.5")
    )
    use(source, "key-p", NOV_5, prompt=100_000_000, completion=12_500_000)  # 300.00: not yet 50%
    assert progressive_check([customer.pk], at=CUT_NOV_5) == []
    use(source, "key-p", NOV_5, prompt=50_000_000, completion=12_500_000)  # 200.00 more: 500.00

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)

    assert interim.total == Decimal("500.00")
    assert "50% of the credit limit of 1000.00 CNY" in interim.notes


def test_the_lower_of_both_bars_is_named(source, model, october_closed):
    customer = progressive_customer(credit_limit=Decimal("2000"), progressive_limit_share=Decimal("0.2"))
    use(source, "key-p", NOV_5, **SIZE_600)

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)

    assert "20% of the credit limit of 2000.00 CNY" in interim.notes  # 400 < 500


@pytest.mark.parametrize(
    "terms",
    [
        {"mode": BillingTerms.Mode.PREPAID},  # prepaid: the wallet pays, nothing is unbilled
        {"progressive_threshold": None},  # both fields blank
        {"progressive_threshold": None, "progressive_limit_share": Decimal("0.5")},  # a share of no limit
    ],
)
def test_no_interim_invoice_unless_billed_progressively(source, model, october_closed, terms):
    from tests.billing.usage.conftest import top_up

    customer = progressive_customer(**terms)
    top_up(customer, Decimal("1000"))
    use(source, "key-p", NOV_5, **SIZE_600)

    assert progressive_check([customer.pk], at=CUT_NOV_5) == []
    assert not Invoice.objects.exists()


def test_checking_twice_makes_one_invoice(source, model, october_closed):
    customer = progressive_customer()
    use(source, "key-p", NOV_5, **SIZE_600)

    first = progressive_check([customer.pk], at=CUT_NOV_5)
    again = progressive_check([customer.pk, customer.pk], at=CUT_NOV_5)
    later = progressive_check([customer.pk], at=datetime(2026, 11, 6, tzinfo=UTC))

    assert len(first) == 1 and again == [] and later == []
    assert Invoice.objects.count() == 1


def test_due_date_follows_the_terms(source, model, october_closed):
    customer = progressive_customer(payment_term="eom", payment_days=10)
    use(source, "key-p", NOV_5, **SIZE_600)

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)

    assert interim.due_date == date(2026, 12, 10)  # end of November + 10 days


def test_issued_at_once_even_when_invoices_are_reviewed(source, model, october_closed):
    customer = progressive_customer(review_invoices=True)
    use(source, "key-p", NOV_5, **SIZE_600)

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)

    assert interim.status == Invoice.Status.ISSUED and interim.number
    assert unbilled(customer) == 0


def test_waits_for_the_previous_period_to_be_closed(source, model):
    customer = progressive_customer()
    use(source, "key-p", NOV_5, **SIZE_600)

    assert progressive_check([customer.pk], at=CUT_NOV_5) == []  # October is not closed yet

    close_period("2026-10", issue_date=date(2026, 11, 5))
    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)
    assert interim.total == Decimal("600.00")


def test_late_usage_of_a_closed_period_is_billed_once_even_if_its_close_runs_again(source, model):
    customer = progressive_customer()
    close_period("2026-10", issue_date=date(2026, 11, 1))  # nothing to bill yet
    use(source, "key-p", datetime(2026, 10, 20, tzinfo=UTC), **SIZE_600)  # October's, delivered late

    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)
    again = close_period("2026-10", issue_date=date(2026, 11, 6))  # finance runs October's close again

    assert interim.total == Decimal("600.00")
    assert again.invoices == []  # the interim invoice billed it: nothing twice
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []
    assert unbilled(customer) == 0


def test_a_voided_interim_invoice_is_billed_again_by_the_close(source, model, october_closed):
    from billing.receivables.credit_notes import invoice_void

    customer = progressive_customer(progressive_threshold=Decimal("5000"))
    use(source, "key-p", NOV_5, **SIZE_600)
    customer.billing_terms.progressive_threshold = Decimal("500")
    customer.billing_terms.save(update_fields=["progressive_threshold"])
    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)
    invoice_void(invoice=interim, reason="wrong PO number", actor=None)

    # Voided: its usage is unbilled again (though the ledger's unbilled was relieved), so a check bills it.
    [again] = progressive_check([customer.pk], at=datetime(2026, 11, 6, tzinfo=UTC))
    [line] = again.lines.all()

    assert again.total == Decimal("600.00") and line.details["rebilled"] == "600.000000000000"
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []
    assert unbilled(customer) == 0


def test_quarterly_customer_interim_then_the_quarter_close(source, model, capsys):
    customer = progressive_customer(mode=BillingTerms.Mode.QUARTERLY, payment_term="net", payment_days=15)
    close_period("2026-Q3", issue_date=date(2026, 10, 1))
    use(source, "key-p", datetime(2026, 10, 12, tzinfo=UTC), **SIZE_600)

    [interim] = progressive_check([customer.pk], at=datetime(2026, 10, 12, 6, tzinfo=UTC))
    use(source, "key-p", NOV_20, **SIZE_250)
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []  # a month close: not its
    [final] = close_period("2026-Q4", issue_date=date(2027, 1, 1)).invoices

    assert (interim.period, interim.period_start, interim.period_end) == (
        "2026-Q4",
        date(2026, 10, 1),
        date(2026, 10, 12),
    )
    assert interim.total == Decimal("600.00") and interim.due_date == date(2026, 10, 27)
    assert final.total == Decimal("250.00")
    assert unbilled(customer) == 0
    call_command("billing_verify")
    assert "OK" in capsys.readouterr().out


def test_switching_to_prepaid_after_an_interim_invoice(source, model, october_closed):
    from unittest import mock

    from billing.terms.services import billing_terms_update
    from tests.billing.usage.conftest import top_up

    customer = progressive_customer()
    top_up(customer, Decimal("100"))
    use(source, "key-p", NOV_5, **SIZE_600)
    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)
    use(source, "key-p", datetime(2026, 11, 8, tzinfo=UTC), **SIZE_250)  # still on credit
    with mock.patch("billing.terms.services.timezone.now", return_value=datetime(2026, 11, 10, tzinfo=UTC)):
        billing_terms_update(
            customer=customer, values={"mode": BillingTerms.Mode.PREPAID, "progressive_threshold": None}
        )
    use(source, "key-p", datetime(2026, 11, 12, tzinfo=UTC), prompt=5_000_000, completion=0)  # 10.00, wallet

    assert progressive_check([customer.pk], at=datetime(2026, 11, 12, 6, tzinfo=UTC)) == []  # prepaid now
    result = close_period("2026-11", issue_date=date(2026, 12, 1))

    [final] = result.invoices
    assert final.total == Decimal("250.00")  # the credit span's rest, not the prepaid usage
    assert interim.total + final.total == Decimal("850.00")
    assert unbilled(customer) == 0


def test_statement_and_aging_show_the_interim_invoice(source, model, october_closed):
    customer = progressive_customer(payment_term="net", payment_days=30)
    use(source, "key-p", NOV_5, **SIZE_600)
    [interim] = progressive_check([customer.pk], at=CUT_NOV_5)

    statement = statement_build(customer, date(2026, 11, 1), date(2026, 11, 30), strict=True)
    [receivable] = [s for s in statement.sections if s.kind == "receivable"]
    [row] = [r for r in receivable.rows if r.reference == interim.number]
    aging_current = aging_by_customer(date(2026, 11, 30))[(customer.pk, "CNY")]
    aging_late = aging_by_customer(date(2026, 12, 20))[(customer.pk, "CNY")]

    assert (row.increase, row.due_date, receivable.closing) == (
        Decimal("600.00"),
        date(2026, 12, 5),
        Decimal(600),
    )
    assert aging_current["current"] == Decimal("600.00")
    assert aging_late["d1_30"] == Decimal("600.00")  # 15 days past its due date


def test_a_failing_customer_never_keeps_the_others_from_their_interim_invoice(source, model, october_closed):
    from unittest import mock

    from billing.invoicing import progressive

    first = progressive_customer(key="key-1")
    second = progressive_customer(key="key-2")
    use(source, "key-1", NOV_5, **SIZE_600)
    use(source, "key-2", NOV_5, **SIZE_600)
    real = progressive.interim_lines

    def broken_for_the_first(terms, cutoff, span):
        if terms.customer_id == first.pk:
            raise ValueError("a price book cannot be read")
        return real(terms, cutoff, span)

    refused = pytest.raises(ProgressiveError, match=rf"customers \[{first.pk}\]; 1 interim invoice")
    with mock.patch.object(progressive, "interim_lines", broken_for_the_first), refused:
        progressive_check([first.pk, second.pk], at=CUT_NOV_5)

    assert list(Invoice.objects.values_list("customer_id", flat=True)) == [second.pk]
    [late] = progressive_check([first.pk], at=CUT_NOV_5)  # fixed: the next check bills it
    assert late.total == Decimal("600.00")
