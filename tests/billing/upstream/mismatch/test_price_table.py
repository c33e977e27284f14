"""Signal (c): vendor charges that reconcile only at another model's prices.

Contract prices per million tokens (CNY): claude-opus 15 in / 75 out, claude-haiku 1 / 5; list prices
opus 20 / 100, haiku 1.5 / 7.5. A row of 1M input and 1M output tokens costs 90 at opus's contract price,
6 at haiku's, 120 at opus's list price.
"""

from decimal import Decimal

import pytest

from billing.upstream.mismatch.price_table import row_cost
from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import MismatchFlag, UpstreamSettings
from catalog.selectors.channels import channel_cost
from catalog.selectors.pricing import PricingSnapshot
from tests.billing.upstream.mismatch.factories import DAY, at, vendor_row

pytestmark = pytest.mark.django_db

M = 1_000_000


def _scan():
    return mismatch_scan(date_from=DAY, date_to=DAY)


def _row(world, model, cost, **extra):
    return vendor_row(world.channels[0], model, cost=cost, input_tokens=M, output_tokens=M, **extra)


def test_row_cost_prices_the_vendors_token_classes(world):
    schedule = channel_cost(PricingSnapshot(at(DAY)), world.channels[0], world.opus)
    row = _row(world, world.opus, "90", requests=10, reasoning_tokens=M // 2)
    assert row_cost(schedule, row) == Decimal(90)  # reasoning is output here (no reasoning price)


def test_haiku_billed_at_opus_contract_prices_is_flagged_naming_opus(world):
    row = _row(world, world.haiku, "90.00")
    _scan()
    flag = MismatchFlag.objects.get()
    assert (flag.signal, flag.channel, flag.model, flag.model_name) == (
        MismatchFlag.Signal.PRICE_TABLE,
        world.channels[0],
        world.haiku,
        "claude-haiku",
    )
    (evidence,) = flag.evidence["rows"]
    assert evidence["vendor_usage"] == row.pk and evidence["match_model"] == "claude-opus"
    assert Decimal(evidence["named_expected"]) == 6 and Decimal(evidence["match_expected"]) == 90
    assert evidence["match_basis"] == "contract" and evidence["match_gap"] == "0.0000"
    assert flag.score == Decimal("0.9333")  # haiku's 6 misses the vendor's 90 by 93.33%


def test_opus_billed_at_the_haiku_table_is_flagged(world):
    _row(world, world.opus, "6.03")  # within 1% of haiku's 6.00
    _scan()
    (evidence,) = MismatchFlag.objects.get().evidence["rows"]
    assert evidence["match_model"] == "claude-haiku" and evidence["match_gap"] == "0.0050"


def test_a_list_price_match_names_the_list(world):
    _row(world, world.haiku, "120")
    _scan()
    (evidence,) = MismatchFlag.objects.get().evidence["rows"]
    assert (evidence["match_model"], evidence["match_basis"]) == ("claude-opus", "list")


@pytest.mark.parametrize(
    "model,cost,flagged",
    [
        ("opus", "90.89", False),  # the named model's price, within 1%
        ("opus", "91.00", False),  # a price mismatch no other model explains: reconciliation's, not ours
        ("haiku", "90.89", True),  # 0.99% from opus's price
        ("haiku", "90.91", False),  # 1.01%: no model explains it
    ],
)
def test_tolerance_boundaries(world, model, cost, flagged):
    _row(world, getattr(world, model), cost)
    _scan()
    assert MismatchFlag.objects.exists() is flagged


def test_the_tolerance_comes_from_the_settings(world):
    settings = UpstreamSettings.load()
    settings.cost_tolerance = Decimal("0.05")
    settings.save()
    _row(world, world.haiku, "94")  # 4.4% above opus's price
    _scan()
    assert MismatchFlag.objects.get().evidence["tolerance"] == "0.050000"


def test_rows_without_a_cost_or_a_price_flag_nothing(world):
    vendor_row(world.channels[0], world.haiku, cost="0", input_tokens=M, output_tokens=M)
    other = vendor_row(world.channels[1], world.haiku, cost="90", input_tokens=M, output_tokens=M)
    other.model = None
    other.model_name = "unknown-model"
    other.save()
    assert _scan().flagged == 0


def test_several_rows_of_one_day_make_one_flag(world):
    _row(world, world.haiku, "90")
    # A batch row at half price: the books have no batch discount, so no model's price explains it.
    _row(world, world.haiku, "45", is_batch=True, vendor_key="key-2")
    _row(world, world.haiku, "90", vendor_key="key-3")
    _scan()
    flag = MismatchFlag.objects.get()
    assert [r["vendor_key"] for r in flag.evidence["rows"]] == ["", "key-3"]


def test_a_vendor_file_imported_as_generic_csv_is_checked(world, settings, tmp_path):
    from billing.upstream.imports.services import upstream_import

    settings.MEDIA_ROOT = tmp_path
    header = "date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens,"
    header += "output_tokens,reasoning_tokens,cost,currency"
    content = f"{header}\n2026-05-20,,ant-b,claude-haiku,10,1000000,0,0,1000000,0,90,CNY\n".encode()
    record = upstream_import(content=content, filename="ant-b.csv", fmt="generic")
    assert (record.state, record.rejected) == ("applied", 0), record.errors
    _scan()
    flag = MismatchFlag.objects.get()
    assert (flag.channel.name, flag.model_name, flag.evidence["rows"][0]["match_model"]) == (
        "ant-b",
        "claude-haiku",
        "claude-opus",
    )
