"""Contracts and channels pages: lists, filters, forms with their field errors, and who may do what."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from catalog.models import Channel, ChannelAlias, VendorContract
from catalog.services.contracts import channel_create, contract_create
from tests.billing.upstream.channels.conftest import client_for
from tests.catalog.factories import PriceBookFactory, VendorFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _contract_post(vendor, book, **overrides) -> dict:
    data = {
        "vendor": vendor.pk,
        "name": "DeepSeek 2027",
        "reference": "DS-2027-01",
        "currency": "CNY",
        "cost_basis": "book",
        "cost_book": book.pk,
        "list_book": "",
        "discount": "0",
        "settlement": "prepaid",
        "prepaid_amount": "50000",
        "committed_amount": "0",
        "commit_period": "month",
        "payment_terms_days": "30",
        "valid_from": "2027-01-01",
        "valid_to": "",
        "notes": "",
        "tiers-TOTAL_FORMS": "3",
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def _channel_post(contract, **overrides) -> dict:
    data = {
        "name": "deepseek-backup",
        "contract": contract.pk,
        "kind": "direct",
        "endpoint": "https://api.deepseek.com",
        "vendor_key_id": "",
        "reporting_zone": "Asia/Shanghai",
        "reporting_lag_hours": "24",
        "low_cover_days": "7",
        "notes": "",
        "aliases": "litellm-ds-2\nchannel:9",
    }
    data.update(overrides)
    return data


# -- lists -----------------------------------------------------------------------------------------


def test_the_contract_list_shows_terms_and_channel_counts(finance_client, channel, discount_contract):
    page = finance_client.get(reverse("upstream-contract-list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "DeepSeek prepaid" in text and "DeepSeek volume" in text
    assert "DeepSeek contract" in text  # the cost book of the book-priced one
    assert "10% off" in text  # the discount of the other
    rows = {c.name: c for c in page.context["page_obj"]}
    assert rows["DeepSeek prepaid"].channel_count == 1 and rows["DeepSeek volume"].channel_count == 0
    assert 'data-testid="contract-new"' in text


def test_the_contract_list_filters_and_sorts(finance_client, contract, discount_contract):
    other = VendorFactory(name="OpenRouter", slug="openrouter")
    book = PriceBookFactory(name="OpenRouter cost", kind="cost", currency="USD")
    contract_create(
        vendor=other, name="OpenRouter", currency="USD", valid_from=contract.valid_from, cost_book=book
    )
    url = reverse("upstream-contract-list")
    names = lambda response: [c.name for c in response.context["page_obj"]]  # noqa: E731
    assert names(finance_client.get(url, {"currency": "usd"})) == ["OpenRouter"]
    assert names(finance_client.get(url, {"cost_basis": "list_discount"})) == ["DeepSeek volume"]
    assert names(finance_client.get(url, {"q": "volume"})) == ["DeepSeek volume"]
    assert names(finance_client.get(url, {"o": "-name"})) == [
        "OpenRouter",
        "DeepSeek volume",
        "DeepSeek prepaid",
    ]


def test_the_channel_list_shows_contract_vendor_zone_and_aliases(finance_client, channel):
    page = finance_client.get(reverse("upstream-channel-list"))
    text = page.content.decode()
    assert page.status_code == 200
    for shown in ("deepseek-main", "DeepSeek prepaid", "DeepSeek", "CNY", "UTC", "channel:3"):
        assert shown in text
    assert [
        c.name
        for c in finance_client.get(reverse("upstream-channel-list"), {"q": "CHANNEL:3"}).context["page_obj"]
    ] == ["deepseek-main"]
    assert not finance_client.get(reverse("upstream-channel-list"), {"currency": "USD"}).context["page_obj"]


def test_the_contract_page_lists_terms_tiers_and_channels(finance_client, discount_contract):
    channel_create(contract=discount_contract, name="deepseek-volume")
    page = finance_client.get(reverse("upstream-contract-detail", args=[discount_contract.pk]))
    text = page.content.decode()
    assert "15%" in text and "10,000.00" in text  # the tier
    assert "deepseek-volume" in text


def test_the_channel_page_previews_cost_per_million_tokens(finance_client, channel, model, discount_contract):
    page = finance_client.get(reverse("upstream-channel-detail", args=[channel.pk]))
    rows = [r for r in page.context["rows"] if r.model == model]
    assert [r.prices[0] for r in rows] == [D("1.7")]  # the contract book's input price
    discounted = channel_create(contract=discount_contract, name="deepseek-volume")
    page = finance_client.get(reverse("upstream-channel-detail", args=[discounted.pk]))
    (row,) = [r for r in page.context["rows"] if r.model == model]
    assert row.prices[0] == D("1.8") and "list × (1 − 0.1)" in row.basis  # 10% off the list's 2
    assert "1.8" in page.content.decode()


# -- forms -----------------------------------------------------------------------------------------


def test_a_contract_is_created_with_inline_tiers(finance_client, vendor, list_book):
    data = _contract_post(
        vendor,
        list_book,
        cost_basis="list_discount",
        cost_book="",
        list_book=list_book.pk,
        discount="0.1",
        **{
            "tiers-0-min_monthly_volume": "20000",
            "tiers-0-discount": "0.15",
            "tiers-1-min_monthly_volume": "5000",
            "tiers-1-discount": "0.12",
        },
    )
    response = finance_client.post(reverse("upstream-contract-new"), data)
    contract = VendorContract.objects.get(name="DeepSeek 2027")
    assert response.status_code == 302 and response.url == reverse(
        "upstream-contract-detail", args=[contract.pk]
    )
    assert list(contract.tiers.values_list("min_monthly_volume", "discount")) == [
        (D(5000), D("0.12")),
        (D(20000), D("0.15")),
    ]


def test_the_cost_book_field_offers_cost_books_only(finance_client, vendor, list_book, cost_book):
    page = finance_client.get(reverse("upstream-contract-new"))
    form = page.context["form"]
    assert list(form.fields["cost_book"].queryset) == [cost_book]
    assert list(form.fields["list_book"].queryset) == [list_book]
    response = finance_client.post(reverse("upstream-contract-new"), _contract_post(vendor, list_book))
    assert response.status_code == 400
    assert response.context["form"].errors["cost_book"]
    assert not VendorContract.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"valid_to": "2026-06-30"},
            "valid_to",
            "The contract ends (2026-06-30) before it starts (2027-01-01).",
        ),
        ({"currency": "rmb"}, "currency", "Use a three-letter ISO 4217 code such as CNY or USD."),
        ({"cost_book": ""}, "cost_book", "A contract priced from its own book needs that book."),
        ({"discount": "1.5"}, "discount", None),
    ],
)
def test_bad_contract_input_answers_on_its_field(
    finance_client, vendor, cost_book, overrides, field, message
):
    response = finance_client.post(
        reverse("upstream-contract-new"), _contract_post(vendor, cost_book, **overrides)
    )
    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert errors and (message is None or message in errors)
    assert not VendorContract.objects.exists()


def test_tier_errors_show_under_the_tiers(finance_client, vendor, cost_book, list_book):
    twice = {
        "tiers-0-min_monthly_volume": "100",
        "tiers-0-discount": "0.1",
        "tiers-1-min_monthly_volume": "100",
        "tiers-1-discount": "0.2",
    }
    base = {"cost_basis": "list_discount", "cost_book": "", "list_book": list_book.pk}
    response = finance_client.post(
        reverse("upstream-contract-new"), _contract_post(vendor, cost_book, **base, **twice)
    )
    assert response.status_code == 400
    assert "Rows 1 and 2 both start at 100" in response.content.decode()
    half = {"tiers-0-min_monthly_volume": "100"}
    response = finance_client.post(
        reverse("upstream-contract-new"), _contract_post(vendor, cost_book, **base, **half)
    )
    assert "Give both the monthly volume and the discount" in response.content.decode()
    on_book = {"tiers-0-min_monthly_volume": "100", "tiers-0-discount": "0.1"}
    response = finance_client.post(
        reverse("upstream-contract-new"), _contract_post(vendor, cost_book, **on_book)
    )
    assert response.context["tier_errors"] == ["Volume tiers apply to a discount off list only."]
    assert not VendorContract.objects.exists()


def test_editing_a_contract_says_terms_apply_from_now_on(finance_client, contract, vendor, cost_book):
    url = reverse("upstream-contract-edit", args=[contract.pk])
    page = finance_client.get(url)
    assert 'data-testid="terms-apply-note"' in page.content.decode()
    assert page.context["form"].initial["name"] == "DeepSeek prepaid"
    data = _contract_post(
        vendor, cost_book, name="DeepSeek prepaid", payment_terms_days="45", valid_from="2026-01-01"
    )
    response = finance_client.post(url, data, follow=True)
    contract.refresh_from_db()
    assert contract.payment_terms_days == 45
    assert "its terms cost usage rated from now on" in response.content.decode()


def test_a_contract_with_channels_keeps_its_vendor_and_currency(finance_client, channel, vendor, cost_book):
    contract = channel.contract
    url = reverse("upstream-contract-edit", args=[contract.pk])
    form = finance_client.get(url).context["form"]
    assert form.fields["currency"].disabled and form.fields["vendor"].disabled
    other = VendorFactory(name="OpenRouter", slug="openrouter")
    data = _contract_post(
        other, cost_book, name=contract.name, currency="USD", valid_from="2026-01-01", payment_terms_days="60"
    )
    assert finance_client.post(url, data).status_code == 302
    contract.refresh_from_db()
    assert (contract.currency, contract.vendor, contract.payment_terms_days) == ("CNY", vendor, 60)


def test_a_channel_moves_only_to_contracts_of_its_vendor_and_currency(
    finance_client, channel, vendor, cost_book
):
    renewed = contract_create(
        vendor=vendor,
        name="DeepSeek 2027",
        currency="CNY",
        valid_from=channel.contract.valid_from,
        cost_book=cost_book,
    )
    usd_book = PriceBookFactory(name="DeepSeek USD", kind="cost", currency="USD", vendor=vendor)
    contract_create(
        vendor=vendor, name="DeepSeek USD", currency="USD", valid_from=renewed.valid_from, cost_book=usd_book
    )
    form = finance_client.get(reverse("upstream-channel-edit", args=[channel.pk])).context["form"]
    assert set(form.fields["contract"].queryset) == {channel.contract, renewed}


def test_a_channel_is_created_with_aliases_under_the_preselected_contract(finance_client, contract):
    page = finance_client.get(reverse("upstream-channel-new"), {"contract": contract.pk})
    assert page.context["form"]["contract"].value() == contract.pk
    response = finance_client.post(reverse("upstream-channel-new"), _channel_post(contract))
    channel = Channel.objects.get(name="deepseek-backup")
    assert response.url == reverse("upstream-channel-detail", args=[channel.pk])
    assert sorted(channel.aliases.values_list("alias", flat=True)) == ["channel:9", "litellm-ds-2"]
    assert channel.reporting_zone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"aliases": "channel:3"}, "aliases"),  # already an alias of deepseek-main
        ({"name": "Channel:3"}, "name"),
        ({"reporting_zone": "Beijing"}, "reporting_zone"),
        ({"reporting_lag_hours": "-3"}, "reporting_lag_hours"),
        ({"kind": "pigeon"}, "kind"),
    ],
)
def test_bad_channel_input_answers_on_its_field(finance_client, channel, overrides, field):
    response = finance_client.post(
        reverse("upstream-channel-new"), _channel_post(channel.contract, **overrides)
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Channel.objects.count() == 1


def test_renaming_a_channel_on_its_form_keeps_the_old_name(finance_client, channel):
    data = _channel_post(channel.contract, name="deepseek-primary")
    data.pop("aliases")
    response = finance_client.post(reverse("upstream-channel-edit", args=[channel.pk]), data, follow=True)
    assert "its old name deepseek-main stays as an alias" in response.content.decode()
    assert set(ChannelAlias.objects.filter(channel=channel).values_list("alias", flat=True)) == {
        "channel:3",
        "deepseek-main",
    }


def test_aliases_are_added_and_removed_on_the_channel_page(finance_client, channel, contract):
    page = finance_client.get(reverse("upstream-channel-detail", args=[channel.pk])).content.decode()
    assert (
        'data-confirm="Remove this alias?' in page and "onsubmit" not in page
    )  # app.js asks; CSP allows no inline JS
    url = reverse("upstream-channel-alias-add", args=[channel.pk])
    assert finance_client.post(url, {"alias": "litellm-deploy-4"}).status_code == 302
    other = channel_create(contract=contract, name="deepseek-2")
    response = finance_client.post(url, {"alias": "deepseek-2"})
    assert response.status_code == 400
    assert "already names channel deepseek-2" in response.context["alias_form"].errors["alias"][0]
    response = finance_client.post(
        reverse("upstream-channel-alias-remove", args=[channel.pk]), {"alias": "channel:3"}, follow=True
    )
    assert "moved back to the vendor&#x27;s account at the best cost book" in response.content.decode()
    assert sorted(channel.aliases.values_list("alias", flat=True)) == ["litellm-deploy-4"]
    assert not other.aliases.exists()


def test_deactivating_a_contract_with_active_channels_says_which(finance_client, channel):
    url = reverse("upstream-contract-active", args=[channel.contract.pk])
    response = finance_client.post(url, {"active": "0"}, follow=True)
    assert "Deactivate or move its active channels first: deepseek-main." in response.content.decode()
    finance_client.post(reverse("upstream-channel-active", args=[channel.pk]), {"active": "0"})
    finance_client.post(url, {"active": "0"})
    channel.refresh_from_db()
    channel.contract.refresh_from_db()
    assert not channel.is_active and not channel.contract.is_active


# -- who may -----------------------------------------------------------------------------------------


def _read_urls(channel) -> list[str]:
    return [
        reverse("upstream-contract-list"),
        reverse("upstream-contract-detail", args=[channel.contract.pk]),
        reverse("upstream-channel-list"),
        reverse("upstream-channel-detail", args=[channel.pk]),
    ]


def _write_requests(channel) -> list[tuple[str, dict]]:
    return [
        (reverse("upstream-contract-new"), {}),
        (reverse("upstream-contract-edit", args=[channel.contract.pk]), {}),
        (reverse("upstream-contract-active", args=[channel.contract.pk]), {"active": "0"}),
        (reverse("upstream-channel-new"), {}),
        (reverse("upstream-channel-edit", args=[channel.pk]), {}),
        (reverse("upstream-channel-active", args=[channel.pk]), {"active": "0"}),
        (reverse("upstream-channel-alias-add", args=[channel.pk]), {"alias": "x"}),
        (reverse("upstream-channel-alias-remove", args=[channel.pk]), {"alias": "channel:3"}),
    ]


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused_everything(channel, role):
    client = client_for(role)
    for url in _read_urls(channel):
        assert client.get(url).status_code == 403, url
    for url, data in _write_requests(channel):
        assert client.post(url, data).status_code == 403, url


def test_auditors_read_but_change_nothing(auditor_client, channel):
    for url in _read_urls(channel):
        response = auditor_client.get(url)
        assert response.status_code == 200, url
        assert 'data-testid="contract-new"' not in response.content.decode()
        assert 'data-testid="alias-form"' not in response.content.decode()
    assert auditor_client.get(reverse("upstream-contract-new")).status_code == 403
    assert auditor_client.get(reverse("upstream-channel-edit", args=[channel.pk])).status_code == 403
    for url, data in _write_requests(channel):
        assert auditor_client.post(url, data).status_code == 403, url
    channel.refresh_from_db()
    assert channel.is_active and channel.aliases.count() == 1


def test_an_anonymous_visitor_is_sent_to_sign_in(client, channel):
    response = client.get(reverse("upstream-channel-list"))
    assert response.status_code == 302 and "login" in response.url
