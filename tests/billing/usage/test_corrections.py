"""Re-rating rated usage after a price error posts the difference: next invoice (credit) or wallet."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import translation

from accounts.models import MemberRole, StaffRole
from billing.invoicing.close.services import close_period
from billing.invoicing.models import ServiceCharge
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.terms.services import billing_terms_update
from billing.usage.corrections import rerate_diff, usage_correct
from billing.usage.models import UsageCorrection, UsageDaily, UsageEvent, UsageHourly
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.models import BookKind, PriceTier
from tests.billing.factories import staff
from tests.billing.invoicing.conftest import use
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, default_plan, priced_model
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

OCT = (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))  # October in Shanghai
AT = datetime(2026, 10, 3, 2, tzinfo=UTC)
# 1,234,567 prompt × 2/M + 345,678 completion × 8/M: the right price of one event.
RIGHT = Decimal("5.234558")


def _fix_sell(model, **prices) -> None:
    PriceTier.objects.filter(entry__model=model, entry__book__kind=BookKind.SELL).update(**prices)


def _balance(kind, customer=None) -> Decimal:
    return account_get(kind=kind, currency="CNY", **({"customer": customer} if customer else {})).balance


def _correct(customer, model, key="fix-1", reason="Output price typed as 0.8 instead of 8"):
    return usage_correct(
        customer=customer,
        model=model,
        since=OCT[0],
        until=OCT[1],
        reason=reason,
        actor=staff(StaffRole.FINANCE),
        idempotency_key=key,
    )


def _wallet(customer) -> Decimal:
    return wallet_balance(wallet=Wallet.objects.get(customer=customer, currency="CNY")).total


def _ledger_clean() -> None:
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    assert "OK" in out.getvalue()


def test_a_credit_customers_difference_is_on_the_next_invoice_exactly(settings, source):
    settings.TIME_ZONE = "Asia/Shanghai"
    model = priced_model(sell_output="0.8")  # the price error: 0.8 per million output tokens, not 8
    default_plan()
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-c", AT)
    [october] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert october.lines.get().amount_exact == Decimal("2.7456764")  # 2.469134 + 0.2765424

    _fix_sell(model, output=Decimal("8"))
    diff = rerate_diff(customer=customer, model=model, since=OCT[0], until=OCT[1])
    assert diff.sell_rows == [("credit", "CNY", Decimal("2.4888816"))]
    correction = _correct(customer, model)

    assert correction.events == 1
    assert correction.deltas == [{"mode": "credit", "currency": "CNY", "sell": "2.4888816"}]
    assert UsageEvent.objects.get().sell_amount == RIGHT  # the event carries the price in force
    for rollup in (UsageDaily, UsageHourly):
        assert rollup.objects.aggregate(s=Sum("sell_amount"))["s"] == RIGHT
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == Decimal("2.4888816")
    assert october.lines.get().amount_exact == Decimal("2.7456764")  # the past is not edited

    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    line = november.lines.get()
    assert (line.kind, line.amount_exact, line.amount) == ("usage", Decimal("2.4888816"), Decimal("2.49"))
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == 0
    _ledger_clean()


def test_a_prepaid_customers_difference_goes_to_the_wallet_exactly(source):
    model = priced_model(sell_input="20")  # the price error: 20 per million input tokens, not 2
    default_plan()
    customer = customer_make(key="key-p")
    top_up(customer, Decimal("100"))
    use(source, "key-p", AT)
    assert _wallet(customer) == Decimal("100") - Decimal("27.456764")

    _fix_sell(model, input=Decimal("2"))
    correction = _correct(customer, model, reason="Input price typed as 20 instead of 2")

    assert correction.deltas == [{"mode": "prepaid", "currency": "CNY", "sell": "-22.222206"}]
    assert _wallet(customer) == Decimal("100") - RIGHT
    assert _balance(AccountKind.REVENUE_USAGE) == -RIGHT
    _ledger_clean()


def test_a_rerun_posts_nothing_and_a_key_is_one_request(source):
    model = priced_model(sell_output="0.8")
    default_plan()
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-c", AT)
    _fix_sell(model, output=Decimal("8"))
    first = _correct(customer, model)
    posted = JournalTransaction.objects.count()

    assert _correct(customer, model) == first  # the same request replayed: the first answer
    with pytest.raises(ValidationError, match="already used for another"):
        _correct(customer, model, reason="another reason")
    with pytest.raises(ValidationError, match="Nothing to re-rate"):
        _correct(customer, model, key="fix-2")
    assert JournalTransaction.objects.count() == posted
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == RIGHT
    _ledger_clean()


def test_bad_input_names_the_field(source, model):
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    with pytest.raises(ValidationError) as exc:
        usage_correct(
            customer=customer,
            model=model,
            since=OCT[1],
            until=OCT[0],
            reason="x",
            actor=staff(StaffRole.FINANCE),
            idempotency_key="k",
        )
    assert "until" in exc.value.message_dict


def test_finance_previews_then_applies_on_the_page_and_others_are_refused(client, source):
    model = priced_model(sell_output="0.8")
    default_plan()
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-c", AT)
    _fix_sell(model, output=Decimal("8"))
    url = reverse("staff-usage-corrections")
    form = {
        "customer": customer.pk,
        "model": model.pk,
        "date_from": "2026-10-01",
        "date_to": "2026-10-31",
        "reason": "Output price typed as 0.8",
        "idempotency_key": "page-1",
    }
    client.force_login(staff(StaffRole.FINANCE))
    preview = client.post(url, {**form, "preview": ""}).content.decode()
    # The difference shown rounded to the fen, the exact one on hover.
    shown = '<span class="money" title="2.4888816 CNY">2.49</span> CNY'
    assert 'data-testid="correction-preview"' in preview and shown in preview
    assert not UsageCorrection.objects.exists()  # a preview writes nothing

    assert client.post(url, {**form, "apply": ""}).status_code == 302
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == RIGHT
    page = client.get(url, {"q": "0.8"}).content.decode()
    assert "Output price typed as 0.8" in page and shown in page

    bad = client.post(url, {**form, "date_to": "2026-09-01", "apply": ""})
    assert bad.status_code == 400 and "date_to" in bad.context["form"].errors
    with translation.override("en"):  # the request switches to Chinese; the tests after it must not
        chinese = client.post(
            url, {**form, "idempotency_key": "page-2", "apply": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert chinese.status_code == 400 and "无需重新计费" in chinese.content.decode()

    for role in (StaffRole.SALES, StaffRole.SUPPORT, StaffRole.AUDITOR):
        client.force_login(staff(role))
        assert client.post(url, {**form, "apply": ""}).status_code == 403
    client.force_login(MembershipFactory(customer=customer, role=MemberRole.OWNER).user)
    assert client.get(url).status_code == 403
    assert UsageCorrection.objects.count() == 1


def test_across_a_switch_each_events_difference_follows_the_terms_it_happened_under(source):
    model = priced_model(sell_output="0.8")
    default_plan()
    customer = customer_make(key="key-s", mode=BillingTerms.Mode.MONTHLY)
    with mock.patch("billing.terms.services.timezone.now", return_value=datetime(2026, 10, 15, tzinfo=UTC)):
        billing_terms_update(customer=customer, values={"mode": BillingTerms.Mode.PREPAID})
    top_up(customer, Decimal("100"))
    use(source, "key-s", AT)  # 3 Oct: on credit
    use(source, "key-s", datetime(2026, 10, 20, 2, tzinfo=UTC))  # 20 Oct: prepaid
    wrong = Decimal("2.7456764")
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == wrong
    assert _wallet(customer) == Decimal("100") - wrong

    _fix_sell(model, output=Decimal("8"))
    correction = _correct(customer, model)

    assert correction.deltas == [
        {"mode": "credit", "currency": "CNY", "sell": "2.4888816"},
        {"mode": "prepaid", "currency": "CNY", "sell": "2.4888816"},
    ]
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == RIGHT
    assert _wallet(customer) == Decimal("100") - RIGHT
    _ledger_clean()


def test_an_overcharge_on_credit_lowers_the_next_invoice(settings, source):
    settings.TIME_ZONE = "Asia/Shanghai"
    model = priced_model(sell_input="20")  # the price error: 20 per million input tokens, not 2
    default_plan()
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    ServiceCharge.objects.create(
        customer=customer,
        description="Retainer",
        amount=Decimal("100"),
        currency="CNY",
        recurrence=ServiceCharge.Recurrence.ONE_OFF,
        starts_on=date(2026, 11, 10),
    )
    use(source, "key-c", AT)
    [october] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert october.total == Decimal("27.46")

    _fix_sell(model, input=Decimal("2"))
    _correct(customer, model, reason="Input price typed as 20 instead of 2")
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == Decimal("-22.222206")

    use(source, "key-c", datetime(2026, 11, 3, 2, tzinfo=UTC))
    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    usage = november.lines.get(kind="usage")
    # November's 5.234558 less October's overcharge of 22.222206.
    assert (usage.amount_exact, usage.amount) == (Decimal("-16.987648"), Decimal("-16.99"))
    assert november.total == Decimal("83.01")
    assert _balance(AccountKind.UNBILLED_RECEIVABLE, customer) == 0
    _ledger_clean()
