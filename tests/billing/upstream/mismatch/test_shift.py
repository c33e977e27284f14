"""Signal (b): prompt or output tokens per request shifted from the same model on other channels."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.upstream.mismatch import shift
from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import MismatchFlag, UpstreamSettings
from tests.billing.upstream.mismatch.factories import DAY, at, record

pytestmark = pytest.mark.django_db

# Each other channel's day: (prompt, output) tokens per request, a few percent apart.
HISTORY = [(1000, 500), (1030, 480), (980, 515), (1010, 495), (970, 505), (1020, 490), (990, 510)]


def _history(world, *, days=7, requests=20, channels=("ant-b", "ant-c", "ant-d"), figures=HISTORY):
    rows = []
    for c, channel in enumerate(channels):
        for d in range(days):
            day = DAY - timedelta(days=d)
            prompt, output = figures[(d + c) % len(figures)]
            rows += [
                record(
                    f"{channel}-{d}-{i}",
                    channel=channel,
                    when=at(day, 2, i),
                    prompt=prompt,
                    completion=output,
                )
                for i in range(requests)
            ]
    world.ingest(rows)


def _target(world, *, prompt=1000, output=500, requests=50):
    world.ingest(
        [
            record(f"t-{i}", channel="ant-a", when=at(DAY, 9, i), prompt=prompt, completion=output)
            for i in range(requests)
        ]
    )


def _scan():
    return mismatch_scan(date_from=DAY, date_to=DAY)


def test_a_prompt_shift_is_flagged_with_its_figures(world):
    # Another tokenizer counts the same prompts 40% longer; the answers are as long as elsewhere.
    _history(world)
    _target(world, prompt=1400, output=500)
    _scan()
    flag = MismatchFlag.objects.get(signal=MismatchFlag.Signal.DISTRIBUTION_SHIFT)
    assert (flag.channel, flag.model, flag.day) == (world.channels[0], world.opus, DAY)
    evidence = flag.evidence
    assert (evidence["requests"], evidence["history_days"], evidence["history_points"]) == (50, 7, 21)
    assert evidence["history_requests"] == 420 and evidence["k"] == "3.00"
    prompt, output = evidence["metrics"]["prompt"], evidence["metrics"]["output"]
    assert prompt["mean"] == "1400.00" and prompt["mu"] == "1000.00" and prompt["shifted"]
    assert Decimal(prompt["z"]) > 10 and not output["shifted"]
    assert flag.score == abs(Decimal(prompt["z"]))
    assert {p["channel"] for p in evidence["points"]} == {"ant-b", "ant-c", "ant-d"}


def test_shorter_answers_are_flagged_too(world):
    _history(world)
    _target(world, prompt=1000, output=200)
    _scan()
    flag = MismatchFlag.objects.get()
    assert flag.evidence["metrics"]["output"]["shifted"] and not flag.evidence["metrics"]["prompt"]["shifted"]
    assert Decimal(flag.evidence["metrics"]["output"]["z"]) < -3


def test_within_k_sigma_flags_nothing_and_k_comes_from_the_settings(world):
    _history(world)
    # σ of the history's prompt means is ~20 tokens: 1050 is ~2.5σ above μ 1000.
    _target(world, prompt=1050, output=500)
    _scan()
    assert not MismatchFlag.objects.exists()
    settings = UpstreamSettings.load()
    settings.shift_sigmas = Decimal(2)
    settings.save()
    _scan()
    flag = MismatchFlag.objects.get()
    assert flag.evidence["k"] == "2.00" and 2 < Decimal(flag.evidence["metrics"]["prompt"]["z"]) < 3


@pytest.mark.parametrize(
    "history,target",
    [
        ({"days": shift.MIN_HISTORY_DAYS - 1}, {}),  # too few days of history
        ({"requests": shift.MIN_POINT_REQUESTS - 1}, {}),  # history days too thin to count
        ({}, {"requests": shift.MIN_DAY_REQUESTS - 1}),  # the day itself too thin
        ({"channels": ()}, {}),  # the model runs on no other channel
    ],
)
def test_thin_data_flags_nothing(world, history, target):
    _history(world, **history)
    _target(world, prompt=3000, output=50, **target)
    _scan()
    assert not MismatchFlag.objects.filter(signal=MismatchFlag.Signal.DISTRIBUTION_SHIFT).exists()


def test_the_channels_own_history_is_not_its_baseline(world):
    # ant-a has always run at 1400 tokens per request; it is the other channels that it differs from.
    _history(world, channels=("ant-a",))
    _target(world, prompt=1400)
    _scan()
    assert not MismatchFlag.objects.exists()


def test_resold_requests_count_once(world):
    """A reseller's customer's request is rolled up twice (hop 0 for the end customer, hop 1 for the
    reseller): only the operator's sale (customers without a seller) is read."""
    from accounts.models import Customer
    from billing.terms.models import BillingTerms
    from billing.usage.models import GatewayKey, UsageDaily
    from tests.billing.usage.factories import customer_make, owned_plan, plan_assign
    from tests.factories import SubDistributorFactory

    reseller = SubDistributorFactory(parent=None, chain_mode=Customer.ChainMode.RESALE)
    BillingTerms.objects.create(customer=reseller, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
    plan_assign(reseller, owned_plan(None, "Wholesale", "0.2"))
    end = customer_make(key="key-r", parent=reseller, mode=BillingTerms.Mode.MONTHLY)
    plan_assign(end, owned_plan(reseller, "Retail", "0.5"))
    assert GatewayKey.objects.filter(key="key-r").exists()
    _history(world)
    rows = [
        {**record(f"r-{i}", channel="ant-a", when=at(DAY, 9, i), prompt=1400), "key": "key-r"}
        for i in range(50)
    ]
    world.ingest(rows)
    assert sum(r.requests for r in UsageDaily.objects.filter(upstream_account="ant-a", day=DAY)) == 100
    _scan()
    assert MismatchFlag.objects.get().evidence["requests"] == 50


def test_sigma_is_floored_at_a_fiftieth_of_the_mean(world, client):
    """Channels that agree exactly (σ = 0) would make any difference infinitely many σ: σ is taken as at
    least 0.02 × μ, so 1,040 against 1,000 is 2σ (nothing) and 1,100 is 5σ (a flag)."""
    from django.urls import reverse

    from accounts.models import StaffRole
    from tests.billing.factories import staff

    _history(world, figures=[(1000, 500)])
    _target(world, prompt=1040)
    _scan()
    assert not MismatchFlag.objects.exists()
    world.ingest([record(f"more-{i}", channel="ant-a", when=at(DAY, 11, i), prompt=1160) for i in range(50)])
    _scan()  # the day's mean is now 1,100
    prompt = MismatchFlag.objects.get().evidence["metrics"]["prompt"]
    assert (prompt["sigma"], prompt["spread"], prompt["z"]) == ("0.00", "20.00", "5.00")
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(
        reverse("upstream-mismatch-detail", args=[MismatchFlag.objects.get().pk])
    ).content.decode()
    assert "0.00 → 20.00*" in page and "raised to 0.02 × the mean" in page
