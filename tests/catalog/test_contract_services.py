"""Contract and channel services: each refusal names the field at fault, and changes never leave an
upstream account without its channel or a channel's ledger in another vendor's or currency's accounts."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.models import BookKind, Channel, ChannelAlias, ContractTier, CostBasis
from catalog.selectors.channels import channels_resolve
from catalog.services.contracts import (
    channel_alias_add,
    channel_alias_remove,
    channel_create,
    channel_set_active,
    channel_update,
    contract_create,
    contract_set_active,
    contract_tiers_set,
    contract_update,
)
from tests.catalog.factories import PriceBookFactory, VendorFactory

pytestmark = pytest.mark.django_db
D = Decimal
JAN = date(2026, 1, 1)


@pytest.fixture
def vendor():
    return VendorFactory(name="Moonshot AI", slug="moonshot")


@pytest.fixture
def cost_book(vendor):
    return PriceBookFactory(name="Kimi contract", kind=BookKind.COST, currency="CNY", vendor=vendor)


@pytest.fixture
def list_book(vendor):
    return PriceBookFactory(name="Kimi list", kind=BookKind.LIST, currency="CNY", vendor=vendor)


@pytest.fixture
def contract(vendor, cost_book):
    return contract_create(
        vendor=vendor, name="Kimi prepaid", currency="CNY", valid_from=JAN, cost_book=cost_book
    )


def _field_errors(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


# -- contracts -------------------------------------------------------------------------------------


def test_a_book_priced_contract_needs_a_cost_book_not_a_list_or_sell_book(vendor, list_book):
    sell = PriceBookFactory(name="Retail", kind=BookKind.SELL, currency="CNY")
    for book in (None, list_book, sell):
        with pytest.raises(ValidationError) as exc:
            contract_create(vendor=vendor, name="K", currency="CNY", valid_from=JAN, cost_book=book)
        assert list(_field_errors(exc)) == ["cost_book"]
    assert "'Retail' is not a cost book." in _field_errors(exc)["cost_book"]


def test_the_list_book_of_a_discount_must_be_a_list_book(vendor, cost_book):
    with pytest.raises(ValidationError) as exc:
        contract_create(
            vendor=vendor,
            name="K",
            currency="CNY",
            valid_from=JAN,
            cost_basis="list_discount",
            list_book=cost_book,
        )
    assert _field_errors(exc) == {"list_book": ["'Kimi contract' is not a list book."]}


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([(D(100), D("0.1")), (D(100), D("0.2"))], "Two volume tiers start at the same monthly volume."),
        ([(D(-1), D("0.1"))], "A volume tier cannot start below zero."),
        ([(D(100), D("1.5"))], "A tier's discount is a fraction between 0 and 1."),
    ],
)
def test_bad_tiers_are_refused_on_the_tiers_field(vendor, list_book, tiers, message):
    with pytest.raises(ValidationError) as exc:
        contract_create(
            vendor=vendor,
            name="K",
            currency="CNY",
            valid_from=JAN,
            cost_basis="list_discount",
            list_book=list_book,
            tiers=tiers,
        )
    assert _field_errors(exc) == {"tiers": [message]}


def test_tiers_belong_to_a_discount_off_list_only(vendor, cost_book):
    with pytest.raises(ValidationError) as exc:
        contract_create(
            vendor=vendor,
            name="K",
            currency="CNY",
            valid_from=JAN,
            cost_book=cost_book,
            tiers=[(D(1), D("0.1"))],
        )
    assert _field_errors(exc) == {"tiers": ["Volume tiers apply to a discount off list only."]}


def test_a_contract_ending_before_it_starts_is_refused_on_valid_to_in_words(vendor, cost_book):
    with pytest.raises(ValidationError) as exc:
        contract_create(
            vendor=vendor,
            name="K",
            currency="CNY",
            valid_from=JAN,
            valid_to=date(2025, 12, 31),
            cost_book=cost_book,
        )
    assert _field_errors(exc) == {
        "valid_to": ["The contract ends (2025-12-31) before it starts (2026-01-01)."]
    }


def test_a_bad_currency_is_refused_on_its_field(vendor, cost_book):
    with pytest.raises(ValidationError) as exc:
        contract_create(vendor=vendor, name="K", currency="yuan", valid_from=JAN, cost_book=cost_book)
    assert list(_field_errors(exc)) == ["currency"]


def test_a_discount_contract_keeps_no_cost_book_and_a_book_contract_no_discount(vendor, cost_book, list_book):
    listed = contract_create(
        vendor=vendor,
        name="K1",
        currency="CNY",
        valid_from=JAN,
        cost_basis="list_discount",
        cost_book=cost_book,
        discount=D("0.2"),
    )
    booked = contract_create(
        vendor=vendor, name="K2", currency="CNY", valid_from=JAN, cost_book=cost_book, discount=D("0.2")
    )
    assert (listed.cost_book, listed.discount) == (None, D("0.2"))
    assert (booked.cost_book, booked.discount) == (cost_book, D(0))


def test_update_changes_terms_and_replaces_tiers(vendor, list_book):
    contract = contract_create(
        vendor=vendor,
        name="K",
        currency="CNY",
        valid_from=JAN,
        cost_basis="list_discount",
        list_book=list_book,
        discount=D("0.1"),
        tiers=[(D(1000), D("0.12"))],
    )
    contract_update(
        contract=contract,
        discount=D("0.15"),
        payment_terms_days=45,
        name="  Kimi volume ",
        tiers=[(D(5000), D("0.2")), (D(2000), D("0.18"))],
    )
    contract.refresh_from_db()
    assert (contract.name, contract.discount, contract.payment_terms_days) == ("Kimi volume", D("0.15"), 45)
    assert list(contract.tiers.values_list("min_monthly_volume", "discount")) == [
        (D(2000), D("0.18")),
        (D(5000), D("0.2")),
    ]


def test_update_without_tiers_keeps_them_but_a_book_basis_then_is_refused(vendor, list_book, cost_book):
    contract = contract_create(
        vendor=vendor,
        name="K",
        currency="CNY",
        valid_from=JAN,
        cost_basis="list_discount",
        list_book=list_book,
        tiers=[(D(1000), D("0.12"))],
    )
    with pytest.raises(ValidationError) as exc:
        contract_update(contract=contract, cost_basis=CostBasis.BOOK, cost_book=cost_book)
    assert _field_errors(exc) == {"tiers": ["Volume tiers apply to a discount off list only."]}
    contract_update(contract=contract, cost_basis=CostBasis.BOOK, cost_book=cost_book, tiers=[])
    contract.refresh_from_db()
    assert contract.cost_basis == CostBasis.BOOK and not contract.tiers.exists()


def test_a_refused_update_changes_nothing(contract, list_book):
    with pytest.raises(ValidationError):
        contract_update(contract=contract, payment_terms_days=60, cost_book=list_book)
    contract.refresh_from_db()
    assert contract.payment_terms_days == 30 and contract.cost_book.kind == BookKind.COST


def test_vendor_and_currency_cannot_change_under_channels(contract):
    other = VendorFactory(name="OpenRouter", slug="openrouter")
    assert contract_update(contract=contract, currency="USD").currency == "USD"  # no channel yet
    contract_update(contract=contract, currency="CNY")
    channel_create(contract=contract, name="kimi-main")
    for change in ({"currency": "USD"}, {"vendor": other}):
        with pytest.raises(ValidationError) as exc:
            contract_update(contract=contract, **change)
        (field,) = _field_errors(exc)
        assert field in change
        assert "kimi-main" in _field_errors(exc)[field][0]
    contract.refresh_from_db()
    assert (contract.currency, contract.vendor.slug) == ("CNY", "moonshot")


def test_unknown_fields_are_a_programming_error(contract):
    with pytest.raises(TypeError, match="created_by"):
        contract_update(contract=contract, created_by=None)


def test_tiers_set_replaces_and_refuses_on_a_book_contract(contract, vendor, list_book):
    with pytest.raises(ValidationError):
        contract_tiers_set(contract=contract, tiers=[(D(1), D("0.1"))])
    listed = contract_create(
        vendor=vendor,
        name="K",
        currency="CNY",
        valid_from=JAN,
        cost_basis="list_discount",
        list_book=list_book,
    )
    contract_tiers_set(contract=listed, tiers=[(D(1), D("0.1"))])
    contract_tiers_set(contract=listed, tiers=[(D(9), D("0.3"))])
    assert list(
        ContractTier.objects.filter(contract=listed).values_list("min_monthly_volume", flat=True)
    ) == [D(9)]


def test_a_contract_with_active_channels_cannot_be_deactivated(contract):
    channel = channel_create(contract=contract, name="kimi-main")
    with pytest.raises(ValidationError, match="kimi-main"):
        contract_set_active(contract=contract, active=False)
    channel_set_active(channel=channel, active=False)
    assert contract_set_active(contract=contract, active=False).is_active is False
    with pytest.raises(ValidationError) as exc:
        channel_set_active(channel=channel, active=True)
    assert "inactive" in _field_errors(exc)["contract"][0]
    with pytest.raises(ValidationError) as exc:
        channel_create(contract=contract, name="kimi-2")
    assert list(_field_errors(exc)) == ["contract"]


# -- channels --------------------------------------------------------------------------------------


def test_a_channel_name_cannot_be_another_channels_name_or_alias(contract):
    channel_create(contract=contract, name="kimi-main", aliases=["channel:7"])
    for taken in ("KIMI-MAIN", "Channel:7"):
        with pytest.raises(ValidationError) as exc:
            channel_create(contract=contract, name=taken)
        assert _field_errors(exc)["name"][0].endswith("already names channel kimi-main.")


def test_an_alias_cannot_be_another_channels_name(contract):
    first = channel_create(contract=contract, name="kimi-main")
    second = channel_create(contract=contract, name="kimi-backup")
    with pytest.raises(ValidationError) as exc:
        channel_alias_add(channel=second, alias="kimi-main")
    assert list(_field_errors(exc)) == ["alias"]
    assert channel_alias_add(channel=first, alias="deploy-1") == channel_alias_add(
        channel=first, alias="DEPLOY-1"
    )


def test_a_bad_zone_kind_or_lag_is_refused_on_its_field(contract):
    for field, value in (
        ("reporting_zone", "Mars/Olympus"),
        ("kind", "carrier-pigeon"),
        ("reporting_lag_hours", -1),
    ):
        with pytest.raises(ValidationError) as exc:
            channel_create(contract=contract, name="kimi-main", **{field: value})
        assert list(_field_errors(exc)) == [field]
    assert not Channel.objects.exists()


def test_renaming_keeps_the_old_name_as_an_alias(contract):
    channel = channel_create(contract=contract, name="kimi-main", aliases=["kimi-primary"])
    channel_update(channel=channel, name="kimi-primary", endpoint=" https://api.moonshot.cn/v1 ")
    channel.refresh_from_db()
    assert channel.endpoint == "https://api.moonshot.cn/v1"
    assert list(channel.aliases.values_list("alias", flat=True)) == ["kimi-main"]
    assert set(channels_resolve({"kimi-main", "KIMI-PRIMARY"}).values()) == {channel}


def test_renaming_onto_another_channels_alias_is_refused(contract):
    channel_create(contract=contract, name="kimi-main", aliases=["channel:7"])
    other = channel_create(contract=contract, name="kimi-backup")
    with pytest.raises(ValidationError) as exc:
        channel_update(channel=other, name="channel:7")
    assert list(_field_errors(exc)) == ["name"]
    other.refresh_from_db()
    assert other.name == "kimi-backup" and not other.aliases.exists()


def test_a_channel_moves_only_within_its_vendor_and_currency(contract, vendor, cost_book):
    channel = channel_create(contract=contract, name="kimi-main")
    usd_book = PriceBookFactory(name="Kimi USD", kind=BookKind.COST, currency="USD", vendor=vendor)
    usd = contract_create(vendor=vendor, name="Kimi USD", currency="USD", valid_from=JAN, cost_book=usd_book)
    reseller = VendorFactory(name="OpenRouter", slug="openrouter")
    via = contract_create(vendor=reseller, name="OR", currency="CNY", valid_from=JAN, cost_book=cost_book)
    for target in (usd, via):
        with pytest.raises(ValidationError) as exc:
            channel_update(channel=channel, contract=target)
        assert list(_field_errors(exc)) == ["contract"]
    renewed = contract_create(
        vendor=vendor, name="Kimi 2027", currency="CNY", valid_from=JAN, cost_book=cost_book
    )
    assert channel_update(channel=channel, contract=renewed).contract == renewed


def test_alias_removal_unmaps_only_that_alias(contract):
    channel = channel_create(contract=contract, name="kimi-main", aliases=["channel:7", "deploy-1"])
    other = channel_create(contract=contract, name="kimi-backup", aliases=["channel:8"])
    assert channel_alias_remove(channel=channel, alias=" CHANNEL:7 ") == "channel:7"
    assert channels_resolve({"channel:7", "deploy-1"}) == {"deploy-1": channel}
    for wrong in ("channel:8", "nothing"):
        with pytest.raises(ValidationError) as exc:
            channel_alias_remove(channel=channel, alias=wrong)
        assert list(_field_errors(exc)) == ["alias"]
    assert ChannelAlias.objects.filter(channel=other).count() == 1
