import itertools
from datetime import datetime

import pytest
from django.utils import timezone

from billing.usage.services import usage_batch_ingest
from tests.billing.usage.factories import default_plan, priced_model, source_make

_batch = itertools.count(1)


@pytest.fixture
def source():
    return source_make()[0]


@pytest.fixture
def model():
    m = priced_model()
    default_plan()
    return m


def use(source, key: str, at: datetime, *, prompt=1_234_567, completion=345_678, model="deepseek-chat"):
    """Ingest one event through the real pipeline (rated, rolled up, accrued); return the batch result."""
    n = next(_batch)
    result = usage_batch_ingest(
        source=source,
        records=[
            {
                "request_id": f"req-{n}",
                "occurred_at": at.isoformat(),
                "key": key,
                "model": model,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
            }
        ],
        idempotency_key=f"batch-{n}",
        now=max(at, timezone.now()),
    )
    assert result.accepted == 1, result
    return result
