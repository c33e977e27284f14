"""Token allowances cover tokens only: images and audio seconds are always charged, on both paths.

``imagen`` is priced (CNY) per million tokens at 5 input / 40 output, 0.04 per image and 0.006 per audio
second; it costs 2 / 20 / 0.02 / 0.003. The overage plan sells at cost × 2.5: 5 / 50 / 0.05 / 0.0075.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.allowances.drawdown import Balance, Draw, allowances_draw
from billing.allowances.models import AllowanceDraw, TokenAllowance
from billing.terms.models import BillingTerms
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import UsageDaily, UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import AIModel, BookKind, FreeGrant, PriceBook, PriceEntry, PriceTier, Vendor
from catalog.rating import PriceSchedule, TierPrices, Usage, rate
from tests.billing.usage.factories import (
    AT,
    T0,
    customer_make,
    default_plan,
    event,
    owned_plan,
    plan_assign,
    source_make,
)
from tests.billing.usage.test_allowances import subscribe
from tests.billing.usage.test_chain_hops import sub_make

D = Decimal
# (input, output, image, audio second) per book.
PRICES = {BookKind.SELL: ("5", "40", "0.04", "0.006"), BookKind.COST: ("2", "20", "0.02", "0.003")}


def test_a_token_allowance_never_covers_the_images_of_a_draw():
    """The reviewer's case, on plain data: 20 prompt tokens and 4 images against a 1,000,000-token grant
    pay the 4 images; a pure-token event is covered whole; a partly covered one shares its tokens' part."""
    at = datetime(2026, 5, 4, tzinfo=UTC)
    image = PriceSchedule(
        "b", "sell", "USD", "gpt-image", (TierPrices(0, None, D(5), D(40), image=D("0.04")),)
    )
    sell = rate(image, Usage(prompt_tokens=20, images=4, at=at)).total
    assert sell == D("0.1601")
    grant = Balance(
        1, 7, TokenAllowance.Kind.GRANT, at - timedelta(days=1), at + timedelta(days=1), None, 10**6
    )
    small = Balance(2, 8, TokenAllowance.Kind.GRANT, at - timedelta(days=1), at + timedelta(days=1), None, 10)
    draws = [
        Draw(ref="image", customer_id=7, model_id=1, at=at, tokens=20, sell=sell, units=D("0.16")),
        Draw(ref="text", customer_id=7, model_id=1, at=at, tokens=1500, sell=D("0.0201")),
        Draw(ref="half", customer_id=8, model_id=1, at=at, tokens=20, sell=sell, units=D("0.16")),
    ]

    changed = allowances_draw(draws=draws, balances={7: [grant], 8: [small]})

    assert {d.ref: (d.covered, d.charged) for d in changed} == {
        "image": (20, D("0.16")),
        "text": (1500, D(0)),
        "half": (10, D("0.16005")),  # the images whole, half of the 20 tokens' 0.0001
    }


@pytest.fixture
def imagen():
    vendor, _ = Vendor.objects.get_or_create(name="OpenAI", slug="openai")
    model = AIModel.objects.create(vendor=vendor, name="imagen")
    for kind, (inp, out, per_image, per_second) in PRICES.items():
        book, _ = PriceBook.objects.get_or_create(
            name=f"{kind}-CNY", defaults={"kind": kind, "currency": "CNY"}
        )
        entry = PriceEntry.objects.create(book=book, model=model, effective_from=T0)
        PriceTier.objects.create(
            entry=entry, lo=0, input=D(inp), output=D(out), image=D(per_image), audio_second=D(per_second)
        )
    default_plan()
    return model


def world(prefix: str, overage) -> dict:
    """``g`` holds a 1,000,000-token free grant, ``p`` a 10-token one and ``s`` a 10-token subscription
    whose overage plan is ``overage``; all on the default plan, billed monthly."""
    customers = {
        role: customer_make(key=f"{prefix}-{role}", mode=BillingTerms.Mode.MONTHLY)
        for role in ("g", "p", "s")
    }
    for role, tokens in (("g", 10**6), ("p", 10)):
        FreeGrant.objects.create(
            customer=customers[role],
            amount=D(tokens),
            granted_at=AT - timedelta(days=1),
            expires_at=AT + timedelta(days=30),
            currency="CNY",
        )
    subscribe(customers["s"], 10, overage_plan=overage)
    return customers


def records(prefix: str) -> list[dict]:
    def image(rid, role, minute=0, prompt=20, images=4):
        return event(
            rid, key=f"{prefix}-{role}", model="imagen", at=AT + timedelta(minutes=minute), prompt=prompt,
            completion=0, images=images,
        )  # fmt: skip

    def transcription(rid, role, minute=0):
        return event(
            rid, key=f"{prefix}-{role}", model="imagen", at=AT + timedelta(minutes=minute), prompt=50,
            completion=10, audio_prompt_tokens=50, audio_seconds=D("12.5"),
        )  # fmt: skip

    return [
        image("g-image", "g"),
        transcription("g-transcription", "g", 1),
        event("g-text", key=f"{prefix}-g", model="imagen", at=AT + timedelta(minutes=2)),
        image("g-no-tokens", "g", 3, prompt=0, images=2),
        image("p-image", "p"),
        image("s-image", "s"),
        transcription("s-transcription", "s", 1),
    ]


# (sell amount, sell plan), cost amount — cost is never reduced by an allowance.
EXPECTED = {
    # 20 tokens covered: 4 images × 0.04 (the tokens' 0.0001 covered).
    "g-image": ((D("0.16"), "standard-CNY"), D("0.08004")),
    # 60 tokens covered (audio tokens are tokens): 12.5 s × 0.006.
    "g-transcription": ((D("0.075"), "standard-CNY"), D("0.0378")),
    "g-text": ((D(0), "standard-CNY"), D("0.012")),
    # No tokens: nothing drawn, the images charged as rated.
    "g-no-tokens": ((D("0.08"), "standard-CNY"), D("0.04")),
    # 10 of 20 tokens covered: the images plus half the tokens' 0.0001.
    "p-image": ((D("0.16005"), "standard-CNY"), D("0.08004")),
    # The subscription's 10 tokens, the other 10 at the overage plan: 4 × 0.05 + half of 0.0001.
    "s-image": ((D("0.20005"), "overage"), D("0.08004")),
    # Nothing left: the whole request at the overage plan, 50 × 5 + 10 × 50 per million + 12.5 s × 0.0075.
    "s-transcription": ((D("0.0945"), "overage"), D("0.0378")),
}


def stored(prefix: str) -> dict:
    rows = UsageEvent.objects.filter(gateway_key__startswith=f"{prefix}-").values_list(
        "request_id", "sell_amount", "sell_plan", "cost_amount"
    )
    return {rid: ((sell, plan), cost) for rid, sell, plan, cost in rows}


@pytest.mark.postgres
@pytest.mark.django_db
def test_images_and_audio_seconds_are_charged_under_a_token_allowance_on_both_paths(imagen):
    overage = owned_plan(None, "overage", "1.5")
    worlds = {prefix: world(prefix, overage) for prefix in ("ref", "blk")}
    usage_batch_ingest(source=source_make("ref")[0], records=records("ref"), idempotency_key="units")
    bulk_ingest(source=source_make("blk")[0], records=records("blk"), key_prefix="units", chunk=1000)

    for prefix, customers in worlds.items():
        assert stored(prefix) == EXPECTED, prefix
        # The allowances took the tokens: 20 + 60 + 1500 from the big grant, 10 from each small one.
        remaining = {role: TokenAllowance.objects.get(customer=c).remaining for role, c in customers.items()}
        assert remaining == {"g": 10**6 - 1580, "p": 0, "s": 0}, prefix
        drawn = AllowanceDraw.objects.filter(allowance__customer=customers["g"]).get()
        assert (drawn.tokens, drawn.events) == (1580, 3), prefix
        # The rollups (what invoices read) hold the charged amounts.
        daily = {c.pk: role for role, c in customers.items()}
        sums = {daily[d.customer_id]: d.sell_amount for d in UsageDaily.objects.filter(customer_id__in=daily)}
        assert sums == {"g": D("0.315"), "p": D("0.16005"), "s": D("0.29455")}, prefix


@pytest.mark.django_db
def test_a_pure_token_event_is_still_fully_covered_and_an_image_is_charged(source, imagen):
    """The per-batch path on SQLite too: the grant covers a text request whole; the image request pays
    its images alone."""
    customer = customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    FreeGrant.objects.create(
        customer=customer,
        amount=D(10**6),
        granted_at=AT - timedelta(days=1),
        expires_at=AT + timedelta(days=30),
        currency="CNY",
    )
    usage_batch_ingest(
        source=source,
        records=[
            event("text", model="imagen"),
            event("image", model="imagen", prompt=20, completion=0, images=4, at=AT + timedelta(minutes=1)),
        ],
        idempotency_key="b1",
    )

    sells = dict(UsageEvent.objects.values_list("request_id", "sell_amount"))
    assert sells == {"text": D(0), "image": D("0.16")}
    assert TokenAllowance.objects.get().remaining == 10**6 - 1520


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_resellers_grant_leaves_it_paying_the_images_it_buys_on_both_paths(imagen):
    """A resale sub-distributor S (wholesale at cost × 1.25) holds a token grant; its end customer (retail
    at cost × 2) holds none. S's purchase of an image request pays the images only, and the end
    customer's sale costs what S was charged."""
    monthly = BillingTerms.Mode.MONTHLY
    got = {}
    for prefix in ("ref", "blk"):
        s = sub_make(terms=monthly)
        plan_assign(s, owned_plan(None, f"{prefix} wholesale", "0.25"))
        FreeGrant.objects.create(
            customer=s,
            amount=D(10**6),
            granted_at=AT - timedelta(days=1),
            expires_at=AT + timedelta(days=30),
            currency="CNY",
        )
        e = customer_make(key=f"{prefix}-e", parent=s, mode=monthly)
        plan_assign(e, owned_plan(s, f"{prefix} retail", "1"))
        rows = [event("e-image", key=f"{prefix}-e", model="imagen", prompt=20, completion=0, images=4)]
        source = source_make(prefix)[0]
        if prefix == "ref":
            usage_batch_ingest(source=source, records=rows, idempotency_key="units")
        else:
            bulk_ingest(source=source, records=rows, key_prefix="units", chunk=1000)
        got[prefix] = set(
            UsageEvent.objects.filter(source=source).values_list("hop", "sell_amount", "cost_amount")
        )

    assert (
        got["blk"]
        == got["ref"]
        == {
            # retail: 20 × 4 per million + 4 × 0.04; its cost is S's charge
            (0, D("0.16008"), D("0.1")),
            # S's purchase: 4 × 0.025 (its 20 tokens' 0.00005 covered); contract cost 20 × 2 / 10⁶ + 4 × 0.02
            (1, D("0.1"), D("0.08004")),
        }
    )
