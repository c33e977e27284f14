"""Money shown as money: amounts rounded to the currency's minor unit with the exact figure on hover, unit
prices exact, counts as integers, thousands separators in Chinese too, and rankings across currencies
compared in the base currency."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from billing.usage.models import UsageDaily
from billing.usage.selectors import (
    daily_rows,
    usage_by_customer,
    usage_by_model,
    usage_by_sub_distributor,
)
from catalog.services.fx import fx_rate_set
from tests.billing.factories import spend, staff, topup
from tests.catalog.factories import AIModelFactory
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset():
    """A Chinese request leaves Chinese active in the thread (LocaleMiddleware): reset it."""
    yield
    translation.deactivate()


DAY = dt.date(2026, 5, 4)
MAY = {"start": "2026-05-01", "end": "2026-05-31"}


def _render(source: str, **context) -> str:
    return Template("{% load money humanize %}" + source).render(Context(context))


def _text(html: str) -> str:
    """The page as a person reads it: tags (and the hover titles in them) removed."""
    return re.sub(r"<[^>]+>", "", html)


# -- the filters ------------------------------------------------------------------------------------


def test_money_rounds_with_separators_and_keeps_the_exact_figure_on_hover():
    html = _render("{{ v|money:'CNY' }}", v=Decimal("1324.3137065"))
    assert _text(html) == "1,324.31"
    assert 'title="1,324.3137065 CNY"' in html
    # Nothing to hide: no hover.
    assert _render("{{ v|money:'CNY' }}", v=Decimal("1324.30")) == "1,324.30"
    assert _render("{{ v|money:'JPY' }}", v=Decimal("1234.5")).endswith(">1,235</span>")
    assert _render("{{ v|money:'KWD' }}", v=Decimal("1.5")) == "1.500"
    assert _render("{{ v|money:'CNY' }}", v=Decimal("-0.001")).endswith(">0.00</span>")
    assert _render("{{ v|money:'CNY' }}", v=None) == "—"


def test_unit_prices_keep_every_place_and_counts_are_integers():
    assert _render("{{ v|money_exact:'CNY' }}", v=Decimal("0.000325")) == "0.000325"
    assert _render("{{ v|quantity }}", v=Decimal("1635884.00")) == "1,635,884"
    assert _render("{{ v|quantity }}", v=None) == "—"
    # An invoice line's quantity that is not whole keeps its places (decimal_places=6 stored).
    assert _render("{{ v|quantity }}", v=Decimal("12.500000")) == "12.5"
    assert _render("{{ v|quantity }}", v=Decimal("1234.500000")) == "1,234.5"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_thousands_separators_in_either_language(language):
    with translation.override(language):
        rendered = _render(
            "{{ n|intcomma }} {{ n|floatformat:'0g' }} {{ n|quantity }} {{ v|money:'CNY' }}",
            n=1635884,
            v=Decimal("49942.3889183045"),
        )
    assert _text(rendered) == "1,635,884 1,635,884 1,635,884 49,942.39"


# -- pages ---------------------------------------------------------------------------------------------


def _customer(**kwargs):
    customer = CustomerFactory(**kwargs)
    BillingTermsFactory(customer=customer, currency="CNY")
    return customer


def test_the_portal_wallet_shows_cents_with_the_exact_balance_on_hover(client):
    customer = _customer()
    topup(customer, "400", "t1")
    spend(customer, "56.61573", "d1")  # usage is charged at ledger precision
    client.force_login(MembershipFactory(customer=customer).user)

    page = client.get(reverse("portal-wallet")).content.decode()

    available = re.search(r'data-testid="wallet-available">(.*?)</div>', page).group(1)
    assert _text(available) == "343.38 CNY"
    assert 'title="343.38427 CNY"' in available
    assert "343.38427" not in _text(page)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_wallets_page_rounds_and_groups_thousands(client, language):
    customer = _customer(name="Acme")
    topup(customer, "1400", "t1")
    spend(customer, "75.6862935", "d1")
    client.force_login(staff(StaffRole.FINANCE))

    page = client.get(reverse("staff-wallet-list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert "1,324.31" in _text(page) and "1,324.3137065" not in _text(page)
    assert 'title="1,324.3137065 CNY"' in page


def test_the_journal_rounds_ledger_precision_amounts(client):
    customer = _customer()
    topup(customer, "10", "t1")
    spend(customer, "0.12345678", "d1")
    client.force_login(staff(StaffRole.FINANCE))

    page = client.get(reverse("staff-journal")).content.decode()

    assert "0.12" in _text(page) and "0.12345678" not in _text(page)
    assert "0.12345678 CNY" in page  # on hover
    # The export keeps every place.
    export = client.get(reverse("staff-journal"), {"export": "csv"})
    body = b"".join(export.streaming_content) if export.streaming else export.content
    assert b"0.12345678" in body


# -- rankings across currencies --------------------------------------------------------------------------

# The rankings read only the daily rollups, so these tests write rollups directly, without the usage
# events and wallet debits behind them.
HAND_WRITTEN_ROLLUPS = pytest.mark.corrupts_billing("daily rollups written by hand, no events behind them")


@pytest.fixture
def three_currencies(settings):
    """Sales on one day: 500 CNY, 100 USD (720 CNY at 7.20) and 1,000 EUR with no rate to CNY."""
    settings.BASE_CURRENCY = "CNY"
    fx_rate_set(base="USD", quote="CNY", on=dt.date(2026, 5, 1), rate=Decimal("7.20"))
    sold = {}
    for name, currency, amount in (
        ("Yuan Co", "CNY", "500.00"),
        ("Dollar Inc", "USD", "100.00"),
        ("Euro AG", "EUR", "1000.00"),
    ):
        customer = CustomerFactory(name=name)
        model = AIModelFactory(name=f"model-{currency.lower()}")
        UsageDaily.objects.create(
            customer=customer,
            model=model,
            day=DAY,
            sell_currency=currency,
            cost_currency=currency,
            requests=1635884,
            prompt_tokens=1000,
            completion_tokens=500,
            sell_amount=Decimal(amount),
            cost_amount=Decimal(0),
        )
        sold[currency] = customer
    return sold


@HAND_WRITTEN_ROLLUPS
def test_top_customers_rank_by_sales_in_the_base_currency(three_currencies):
    ranked = usage_by_customer(daily_rows())
    # In their own currencies 1,000 EUR > 500 CNY > 100 USD; in CNY the dollar customer leads, and the
    # customer whose currency has no rate cannot be compared, so comes last.
    assert [r["customer__name"] for r in ranked] == ["Dollar Inc", "Yuan Co", "Euro AG"]
    assert [r["sell_base"] for r in ranked] == [Decimal("720.00"), Decimal("500.00"), None]
    assert ranked[0]["sell"] == Decimal("100.00") and ranked[0]["sell_currency"] == "USD"


@HAND_WRITTEN_ROLLUPS
def test_a_group_with_days_before_its_first_rate_is_not_ranked_on_part_of_its_sales(three_currencies):
    early = UsageDaily.objects.get(sell_currency="USD")
    early.pk, early.day, early.sell_amount = None, dt.date(2026, 4, 30), Decimal("900.00")  # before any rate
    early.save()
    ranked = usage_by_customer(daily_rows())
    dollar = next(r for r in ranked if r["sell_currency"] == "USD")
    assert dollar["sell"] == Decimal("1000.00") and dollar["sell_base"] is None
    assert ranked[0]["customer__name"] == "Yuan Co"


@HAND_WRITTEN_ROLLUPS
def test_models_rank_by_sales_in_the_base_currency(three_currencies):
    ranked = list(usage_by_model(daily_rows()))
    assert [r["model__name"] for r in ranked] == ["model-usd", "model-cny", "model-eur"]


@HAND_WRITTEN_ROLLUPS
def test_sub_distributor_groups_rank_by_sales_in_the_base_currency(three_currencies):
    ranked = usage_by_sub_distributor(daily_rows(), book=None)
    assert [r["customer__name"] for r in ranked] == ["Dollar Inc", "Yuan Co", "Euro AG"]
    assert ranked[-1]["sell_base"] is None


@HAND_WRITTEN_ROLLUPS
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_usage_overview_shows_each_amount_with_its_base_figure(client, three_currencies, language):
    client.force_login(staff(StaffRole.SALES))

    page = client.get(reverse("staff-usage"), MAY, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    table = page[page.index('data-testid="usage-by-customer"') :]
    order = [table.index(name) for name in ("Dollar Inc", "Yuan Co", "Euro AG")]
    assert order == sorted(order)
    text = _text(table)
    assert "100.00 USD" in text and "≈ 720.00 CNY" in text
    assert "1,635,884" in text  # requests with separators, in Chinese too
    assert ("no rate" if language == "en" else "无汇率") in text
    assert ("ranked by sales in CNY" if language == "en" else "按 CNY 销售额排名") in _text(page)


@HAND_WRITTEN_ROLLUPS
@pytest.mark.parametrize(("order", "first"), [("-sell", "model-usd"), ("sell", "model-cny")])
def test_sorting_by_model_by_sales_compares_the_base_currency(client, three_currencies, order, first):
    client.force_login(staff(StaffRole.SALES))

    response = client.get(reverse("staff-usage"), {**MAY, "o": order})

    names = [row["model__name"] for row in response.context["page_obj"]]
    assert names[0] == first
    assert names[-1] == "model-eur"  # no rate to CNY: last whichever way


@HAND_WRITTEN_ROLLUPS
def test_customers_see_neither_the_base_figures_nor_the_operators_ranking(client, three_currencies):
    member = MembershipFactory(customer=three_currencies["USD"]).user
    client.force_login(member)

    assert client.get(reverse("staff-usage"), MAY).status_code in (302, 403)
    page = client.get(reverse("portal-usage"), MAY).content.decode()
    table = page[page.index('data-testid="usage-by-model"') :]
    assert "model-usd" in table and "model-cny" not in table  # its own usage only
    assert 'data-testid="sell-base"' not in page and "720.00" not in page
