"""The unmapped channels page: upstream accounts no channel names, and mapping one to a channel with a
confirmation that says how many events will be re-costed."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import ChannelAlias
from catalog.services.contracts import channel_create, contract_create
from tests.billing.upstream.channels.conftest import client_for
from tests.billing.usage.factories import AT, customer_make, default_plan, event, priced_model, source_make
from tests.catalog.factories import PriceBookFactory, add_prices, tier

pytestmark = pytest.mark.django_db
MILLION = 1_000_000


@pytest.fixture
def mapped_channel():
    """A model (cost 1 + 4 CNY per million in and out at the best cost book), a prepaid customer, and a
    channel whose contract book costs it 0.5 + 2 CNY."""
    model = priced_model()
    default_plan()
    customer_make(key="key-a")
    book = PriceBookFactory(name="Cheap contract", kind="cost", currency="CNY", vendor=model.vendor)
    add_prices(book, model, tier(input="0.5", output="2"))
    contract = contract_create(
        vendor=model.vendor, name="Cheap", currency="CNY", valid_from=date(2026, 1, 1), cost_book=book
    )
    return channel_create(contract=contract, name="deepseek-main")


@pytest.fixture
def seen(mapped_channel):
    """Three events on the unmapped ``litellm-ds-9`` (two spellings), one on ``other-7``, one mapped."""
    source = source_make()[0]
    usage = [
        ("a1", "litellm-ds-9"),
        ("a2", "litellm-ds-9"),
        ("a3", "LiteLLM-DS-9"),
        ("b1", "other-7"),
        ("m1", "deepseek-main"),
    ]
    records = [
        event(rid, prompt=MILLION, completion=MILLION, upstream_account=account) for rid, account in usage
    ]
    usage_batch_ingest(source=source, records=records)
    return mapped_channel


def test_the_list_shows_accounts_no_channel_names_with_events_cost_and_days(seen):
    page = client_for(StaffRole.FINANCE).get(reverse("upstream-unmapped-list"))
    assert page.status_code == 200
    rows = list(page.context["page_obj"])
    assert [(r.account, r.events) for r in rows] == [("litellm-ds-9", 3), ("other-7", 1)]
    assert rows[0].costs == (("CNY", Decimal(15)),)  # 3 × (1 + 4) at the best cost book
    text = page.content.decode()
    assert "LiteLLM-DS-9" in text  # the other spelling
    assert "15.00 CNY" in text and AT.strftime("%Y-%m-%d") in text
    assert "deepseek-main" not in [r.account for r in rows]
    assert 'data-testid="map-link"' in text


def test_the_list_filters_and_sorts(seen):
    client = client_for(StaffRole.FINANCE)
    url = reverse("upstream-unmapped-list")
    accounts = lambda r: [row.account for row in r.context["page_obj"]]  # noqa: E731
    assert accounts(client.get(url, {"q": "OTHER"})) == ["other-7"]
    assert accounts(client.get(url, {"o": "account"})) == ["litellm-ds-9", "other-7"]
    assert accounts(client.get(url, {"o": "-account"})) == ["other-7", "litellm-ds-9"]
    assert accounts(client.get(url, {"since": "2030-01-01"})) == []
    response = client.get(url, {"since": "2026-05-05", "until": "2026-05-01"})
    assert response.context["filter"]["form"].errors["until"] and accounts(response) == []


def test_the_confirmation_says_how_many_events_will_be_re_costed(seen):
    client = client_for(StaffRole.FINANCE)
    page = client.get(reverse("upstream-unmapped-map"), {"upstream_account": "LITELLM-DS-9"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "3 events on litellm-ds-9" in text and "15.00 CNY" in text
    assert not ChannelAlias.objects.exists()  # nothing happens before the POST


def test_mapping_re_costs_the_events_and_adds_the_alias(seen):
    client = client_for(StaffRole.FINANCE)
    response = client.post(
        reverse("upstream-unmapped-map"),
        {"upstream_account": "litellm-ds-9", "channel": seen.pk},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("upstream-channel-detail", args=[seen.pk])
    text = response.content.decode()
    assert "3 events re-costed" in text
    assert list(seen.aliases.values_list("alias", flat=True)) == ["litellm-ds-9"]
    costs = set(
        UsageEvent.objects.filter(upstream_account__iexact="litellm-ds-9").values_list(
            "cost_amount", flat=True
        )
    )
    assert costs == {Decimal("2.5")}  # 0.5 + 2 on the channel's contract
    listed = client.get(reverse("upstream-unmapped-list"))
    assert [r.account for r in listed.context["page_obj"]] == ["other-7"]


def test_mapping_needs_a_channel_and_names_the_field(seen):
    client = client_for(StaffRole.FINANCE)
    response = client.post(
        reverse("upstream-unmapped-map"), {"upstream_account": "litellm-ds-9", "channel": ""}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["channel"]
    assert "3 events on litellm-ds-9" in response.content.decode()  # the confirmation stays
    assert not ChannelAlias.objects.exists()


def test_mapping_to_a_channel_that_cannot_price_the_usage_is_refused_on_the_field(seen):
    empty = PriceBookFactory(name="Empty contract", kind="cost", currency="CNY", vendor=seen.contract.vendor)
    contract = contract_create(
        vendor=seen.contract.vendor,
        name="Empty",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_book=empty,
    )
    nothing = channel_create(contract=contract, name="empty-1")
    client = client_for(StaffRole.FINANCE)

    response = client.post(
        reverse("upstream-unmapped-map"), {"upstream_account": "litellm-ds-9", "channel": nothing.pk}
    )

    assert response.status_code == 400
    [error] = response.context["form"].errors["upstream_account"]
    assert "cannot be costed at channel empty-1" in error and "nothing was changed" in error
    assert not ChannelAlias.objects.filter(alias__iexact="litellm-ds-9").exists()
    costs = set(
        UsageEvent.objects.filter(upstream_account__iexact="litellm-ds-9").values_list(
            "cost_amount", flat=True
        )
    )
    assert costs == {Decimal("5")}  # still the best cost book's, on the vendor's account


def test_an_account_a_channel_names_is_not_offered_for_mapping(seen):
    response = client_for(StaffRole.FINANCE).get(
        reverse("upstream-unmapped-map"), {"upstream_account": "deepseek-main"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("upstream-unmapped-list")
    assert "is not an unmapped upstream account" in response.content.decode()


def test_auditors_see_the_list_but_cannot_map_and_sales_support_see_nothing(seen):
    auditor = client_for(StaffRole.AUDITOR)
    page = auditor.get(reverse("upstream-unmapped-list"))
    assert page.status_code == 200 and 'data-testid="map-link"' not in page.content.decode()
    url = reverse("upstream-unmapped-map")
    assert auditor.get(url, {"upstream_account": "other-7"}).status_code == 403
    assert auditor.post(url, {"upstream_account": "other-7", "channel": seen.pk}).status_code == 403
    for role in (StaffRole.SALES, StaffRole.SUPPORT):
        client = client_for(role)
        assert client.get(reverse("upstream-unmapped-list")).status_code == 403
        assert client.post(url, {"upstream_account": "other-7", "channel": seen.pk}).status_code == 403
    assert not ChannelAlias.objects.exists()
