"""The PostgreSQL bulk path gives the same money as the per-batch path, and re-runs exactly once."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.usage.bulk import bulk_ingest
from billing.usage.models import RatingState, UsageDaily, UsageEvent, UsageHourly
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import event

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_bulk_ingest_dedupes_rates_rolls_up_and_posts(source, prepaid):
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i, cache_read_tokens=i % 7) for i in range(250)]
    records += [event("r3"), event("x", model="unknown-model"), {"request_id": "bad"}]

    result = bulk_ingest(source=source, records=records, key_prefix="file-1", chunk=100)
    again = bulk_ingest(source=source, records=records, key_prefix="file-1", chunk=100)

    assert (result.accepted, result.duplicates, result.rejected, result.unrated) == (251, 1, 1, 1)
    assert again.accepted == 251  # replayed answers, nothing new
    assert UsageEvent.objects.count() == 251
    rated = UsageEvent.objects.filter(rating_state=RatingState.RATED)
    total = rated.aggregate(s=Sum("sell_amount"), c=Sum("cost_amount"), p=Sum("prompt_tokens"))
    for rollup in (UsageHourly, UsageDaily):
        sums = rollup.objects.aggregate(s=Sum("sell_amount"), c=Sum("cost_amount"), p=Sum("prompt_tokens"))
        assert sums == total
    assert (
        wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total["s"]
    )
