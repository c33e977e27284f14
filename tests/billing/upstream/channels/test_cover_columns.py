"""The channels list and pages show each channel's prepaid balance, burn rate and days of cover
(``billing.upstream.cover``), in a warning style under the channel's threshold."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.terms.models import BillingTerms
from billing.upstream.packs import upstream_pack_buy
from billing.usage.services import usage_batch_ingest
from catalog.models import Settlement
from catalog.services.contracts import channel_create, contract_create
from tests.billing.upstream.channels.conftest import client_for
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make
from tests.catalog.factories import PriceBookFactory, add_prices, tier

pytestmark = pytest.mark.django_db
MILLION = 1_000_000


@pytest.fixture
def channels():
    """A prepaid channel (1 + 4 CNY per million in and out) and a postpaid one, 5 CNY of usage on each two
    days ago (inside the trailing week the burn rate averages)."""
    model = priced_model()
    default_plan()
    customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    book = PriceBookFactory(name="Contract", kind="cost", currency="CNY", vendor=model.vendor)
    add_prices(book, model, tier(input="1", output="4"))
    made = {}
    for name, settlement in (("ds-prepaid", Settlement.PREPAID), ("ds-postpaid", Settlement.POSTPAID)):
        contract = contract_create(
            vendor=model.vendor,
            name=name,
            currency="CNY",
            valid_from=date(2026, 1, 1),
            cost_book=book,
            settlement=settlement,
        )
        made[name] = channel_create(contract=contract, name=name)
    at = timezone.now() - timedelta(days=2)
    records = [
        event(f"r-{name}", at=at, prompt=MILLION, completion=MILLION, upstream_account=name) for name in made
    ]
    usage_batch_ingest(source=source_make()[0], records=records)
    return made


def _buy(channel, amount: str):
    upstream_pack_buy(
        channel=channel,
        kind="prepayment",
        reference="TOPUP-1",
        price=Decimal(amount),
        purchased_at=timezone.now() - timedelta(days=10),
        payment="bank",
    )


def test_low_cover_shows_in_a_warning_style(channels):
    _buy(channels["ds-prepaid"], "8")  # 8 − 5 used = 3 left at 5/7 a day: 4.2 days, under the default 7
    page = client_for(StaffRole.FINANCE).get(reverse("upstream-channel-list"))
    covered = {c.name: c.cover for c in page.context["page_obj"]}
    assert covered["ds-prepaid"].balance == Decimal(3)
    assert covered["ds-prepaid"].days == Decimal("4.2") and covered["ds-prepaid"].low
    text = page.content.decode()
    assert 'data-testid="low-cover"' in text and "4.2" in text
    assert "3.00 CNY" in text
    assert covered["ds-postpaid"].accrued == Decimal(5)  # shown as accrued, no cover


def test_enough_cover_shows_plainly(channels):
    _buy(channels["ds-prepaid"], "100")  # 95 left: 133 days
    page = client_for(StaffRole.FINANCE).get(
        reverse("upstream-channel-detail", args=[channels["ds-prepaid"].pk])
    )
    assert page.context["cover"].days == Decimal("133.0")
    assert 'data-testid="low-cover"' not in page.content.decode()
    assert "95.00 CNY" in page.content.decode()
    ledger = reverse("upstream-ledger-channel", args=[channels["ds-prepaid"].pk])
    assert f'href="{ledger}" data-testid="ledger-link"' in page.content.decode()
