"""Unrated events become rated once the cause is fixed; uploads; retention."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Sum

from billing.ledger.models import JournalTransaction
from billing.usage.models import GatewayKey, RatingState, UsageEvent, UsageHourly, UsageUpload
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from billing.usage.tasks import usage_rerate_task
from billing.usage.uploads import usage_upload_process
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, alias_add, customer_make, event, source_make

pytestmark = pytest.mark.django_db


def test_unknown_alias_and_key_are_rated_after_the_fix(source, prepaid, model):
    top_up(prepaid, Decimal("10"))
    usage_batch_ingest(
        source=source, records=[event("r1", model="ds-chat"), event("r2", key="new-key"), event("r3")]
    )
    assert UsageEvent.objects.filter(rating_state=RatingState.UNRATED).count() == 2

    # when staff add the alias and map the key
    alias_add(model, "ds-chat")
    GatewayKey.objects.create(key="new-key", customer=prepaid)
    result = usage_rerate_task()

    # then
    assert result == {"rated": 2, "unrated": 0}
    assert set(UsageEvent.objects.values_list("rating_state", flat=True)) == {RatingState.RATED}
    charged = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("10") - charged
    assert UsageHourly.objects.aggregate(n=Sum("requests"))["n"] == 3
    # and re-running finds nothing more to charge
    assert usage_rerate().accepted == 0
    assert JournalTransaction.objects.filter(kind="usage.prepaid").count() == 2


def test_rerate_keeps_the_refreshed_reason_when_still_unrated(source, prepaid):
    usage_batch_ingest(source=source, records=[event("r1", model="mystery")])
    result = usage_rerate()
    assert (result.accepted, result.unrated) == (0, 1)
    assert UsageEvent.objects.get().unrated_reason.startswith("unknown_model")


def test_upload_is_processed_in_batches_with_progress(source, prepaid, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ndjson = "\n".join(
        f'{{"request_id": "u{i}", "occurred_at": "{AT.isoformat()}", "key": "key-a", '
        f'"model": "deepseek-chat", "prompt_tokens": 10, "completion_tokens": 5}}'
        for i in range(12)
    )
    upload = UsageUpload.objects.create(
        source=source,
        fmt="generic",
        file=SimpleUploadedFile("u.ndjson", ndjson.encode()),
        size_bytes=len(ndjson),
    )

    done = usage_upload_process(upload_id=upload.pk)

    assert done.state == UsageUpload.State.DONE and done.percent == 100
    assert done.accepted == 12 and UsageEvent.objects.count() == 12


def test_retention_drops_old_events_but_keeps_rollups(source, prepaid):
    usage_batch_ingest(source=source, records=[event("old", at=AT - timedelta(days=120)), event("new")])

    call_command("usage_retention", "--keep-months", "2")  # relative to now: both events are older

    assert UsageEvent.objects.count() == 0
    assert UsageHourly.objects.aggregate(n=Sum("requests"))["n"] == 2
    # a redelivery is still a duplicate
    assert usage_batch_ingest(source=source, records=[event("new")]).duplicates == 1


def test_rerate_charges_a_customer_once_for_all_its_sources(model):
    """A customer's unrated events came through two gateway sources: one re-rate charges them all (the
    sources once posted under one batch's keys, so the second posting replayed the first)."""
    one, two = source_make("one")[0], source_make("two")[0]
    usage_batch_ingest(source=one, records=[event("a", key="later")], idempotency_key="x1")
    usage_batch_ingest(source=two, records=[event("b", key="later", prompt=2000)], idempotency_key="x2")
    customer = customer_make(key="later")
    top_up(customer, Decimal("100"))

    result = usage_rerate()

    assert result.accepted == 2
    sold = UsageEvent.objects.filter(rating_state=RatingState.RATED).aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=customer)).available == Decimal("100") - sold
    assert (
        JournalTransaction.objects.filter(
            kind="usage.prepaid", source=f"usage_batch:{result.batch_id}"
        ).count()
        == 1
    )
