"""The demo's upstream side: every demo usage event names a channel, every demo vendor has a contract and
channel, upstream credit with a pack, a month of vendor rows and a reconciliation with one difference of
each kind, so the /upstream/ pages show something on first run."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import StaffRole, User
from billing.ledger.models import JournalTransaction
from billing.upstream.cover import cover_for_channels
from billing.upstream.models import (
    MismatchFlag,
    ReconciliationRun,
    ReconClass,
    UpstreamImport,
    UpstreamPack,
    VendorUsage,
)
from billing.usage.channels import unmapped_channels
from billing.usage.models import UsageEvent
from catalog.models import Channel, ChannelKind, Settlement, Vendor, VendorContract
from catalog.selectors.channels import channels_resolve
from demo.upstream import ROUTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("load_demo")


def test_every_demo_event_names_a_channel_of_a_contract_for_every_vendor(demo, client):
    events = list(
        UsageEvent.objects.filter(hop=0).values_list("upstream_account", "cost_currency", "rating_state")
    )
    assert events
    channels = channels_resolve({account for account, _ccy, _state in events})
    unknown = {account for account, _ccy, _state in events if account.lower() not in channels}
    assert unknown == set()
    for account, currency, state in events:
        if state == "rated":
            assert currency == channels[account.lower()].contract.currency, account
    # Some events carry an alias the gateway uses, not the channel's name.
    names = set(Channel.objects.values_list("name", flat=True))
    assert {a for a, _c, _s in events} - names == {"litellm-deepseek-r1", "channel:7"}
    assert unmapped_channels() == []
    assert set(ROUTES.values()) <= {a for a, _c, _s in events}
    # every demo vendor has a contract and channel; one postpaid, one reseller at its own book, USD and CNY
    model_vendors = set(Vendor.objects.filter(models__isnull=False).values_list("slug", flat=True).distinct())
    with_channels = set(Channel.objects.values_list("contract__vendor__slug", flat=True))
    assert model_vendors <= with_channels
    contracts = VendorContract.objects.select_related("cost_book", "vendor")
    assert contracts.filter(settlement=Settlement.POSTPAID).count() == 1
    assert contracts.filter(currency="USD").exists() and contracts.filter(currency="CNY").exists()
    assert contracts.filter(cost_basis="list_discount", tiers__isnull=False).exists()
    reseller = Channel.objects.get(kind=ChannelKind.OPENROUTER)
    assert reseller.contract.vendor.slug == "openrouter"  # a reseller of Google's models at its own book
    assert reseller.contract.cost_book.vendor.slug == "openrouter"
    # the pages show them
    client.force_login(User.objects.get(staff_role=StaffRole.FINANCE))
    contracts = client.get(reverse("upstream-contract-list")).content.decode()
    assert "Alibaba Cloud Bailian" in contracts and "OpenRouter credits" in contracts
    deepseek = Channel.objects.get(name="deepseek-main")
    page = client.get(reverse("upstream-channel-detail", args=[deepseek.pk]))
    assert any(row.model.name == "deepseek-v3.2" and not row.unavailable for row in page.context["rows"])


def test_the_demo_has_upstream_credit_a_vendor_month_and_one_difference_of_each_kind(demo, client):
    pack = UpstreamPack.objects.get(kind=UpstreamPack.Kind.AMOUNT)
    assert pack.credit > pack.price and pack.expires_at is not None and pack.used_credit > 0
    covers = cover_for_channels(Channel.objects.all())
    prepaid = [c for c in covers.values() if c.prepaid]
    assert all(c.balance > 0 for c in prepaid)
    assert any(c.low for c in prepaid) and any(not c.low and c.days for c in prepaid)
    assert covers[Channel.objects.get(contract__settlement=Settlement.POSTPAID).pk].accrued > 0
    # the committed contract's months that ended fell short of its commitment (the demo's traffic is small)
    assert JournalTransaction.objects.filter(kind="upstream.commitment.shortfall").exists()
    client.force_login(User.objects.get(staff_role=StaffRole.FINANCE))
    assert 'data-testid="low-cover"' in client.get(reverse("upstream-channel-list")).content.decode()
    # the vendors' month, imported without a rejected row, and its reconciliation
    record = UpstreamImport.objects.get(filename="demo-vendor-usage.csv")
    assert record.state == UpstreamImport.State.APPLIED and record.rejected == 0
    assert VendorUsage.objects.count() == record.created > 100
    run = ReconciliationRun.objects.get()
    assert run.state == ReconciliationRun.State.DONE
    classes = {klass: figures["lines"] for klass, figures in run.totals["classes"].items()}
    flagged = {k: n for k, n in classes.items() if k != ReconClass.MATCHED and n}
    expected = set(ReconClass.values) - {ReconClass.MATCHED}
    assert set(flagged) == expected
    # one planted difference of each kind; a model mismatch is a pair of lines (ours and the vendor's)
    assert flagged == {k: 2 if k == ReconClass.MODEL_MISMATCH else 1 for k in expected}
    assert classes[ReconClass.MATCHED] > 100
    # a week in which one channel answered claude-sonnet-4-5 with claude-haiku-4-5: the 货不对版 page shows it
    flags = MismatchFlag.objects.filter(signal=MismatchFlag.Signal.REPORTED_MODEL)
    assert flags.exists() and {f.model_name for f in flags} == {"claude-sonnet-4.5"}
    assert "claude-haiku-4-5" in client.get(reverse("upstream-mismatch-list")).content.decode()
