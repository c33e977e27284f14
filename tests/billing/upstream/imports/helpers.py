"""Build vendor files in tests: OpenAI pages of buckets (hourly or daily) and generic CSV rows."""

import json
from datetime import UTC, datetime, timedelta


def openai_page(buckets: list[tuple[datetime, datetime, list[dict]]]) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "data": [
                {
                    "object": "bucket",
                    "start_time": int(start.timestamp()),
                    "end_time": int(end.timestamp()),
                    "results": results,
                }
                for start, end, results in buckets
            ],
            "has_more": False,
            "next_page": None,
        }
    ).encode()


def openai_result(
    *,
    model="gpt-4o-mini-2024-07-18",
    key="key_AbC123",
    input_tokens=1000,
    cached=0,
    output=100,
    requests=1,
    batch=False,
) -> dict:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "input_cached_tokens": cached,
        "output_tokens": output,
        "num_model_requests": requests,
        "project_id": None,
        "user_id": None,
        "api_key_id": key,
        "model": model,
        "batch": batch,
    }


def hourly(start: datetime, hours: int, result_for) -> bytes:
    """``hours`` hourly buckets from ``start`` (UTC); ``result_for(hour)`` gives each bucket's results."""
    buckets = []
    for n in range(hours):
        begin = start + timedelta(hours=n)
        buckets.append((begin, begin + timedelta(hours=1), result_for(begin)))
    return openai_page(buckets)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


GENERIC_HEADER = (
    "date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens,output_tokens,"
    "reasoning_tokens,cost,currency"
)


def generic(*rows: str) -> bytes:
    return "\n".join([GENERIC_HEADER, *rows]).encode()
