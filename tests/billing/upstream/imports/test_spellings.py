"""A channel's day holds one row per catalog model and batch flag, whatever the spelling: the same day
imported from OpenAI's JSON (``gpt-4o-mini-2024-07-18``) and again from a generic CSV (``gpt-4o-mini``)
is stored once, under the first spelling, and a revised figure replaces it (review item 10)."""

from datetime import date

import pytest

from accounts.models import StaffRole
from billing.upstream.imports.report import import_dict
from billing.upstream.imports.services import upstream_import
from billing.upstream.models import VendorUsage
from billing.upstream.reconcile.theirs import vendor_usage
from tests.billing.upstream.imports.helpers import generic, openai_page, openai_result, utc
from tests.billing.upstream.imports.test_pages import login, upload

pytestmark = pytest.mark.django_db

OPENAI_DAY = openai_page(
    [(utc(2026, 11, 3), utc(2026, 11, 4), [openai_result(input_tokens=1000, output=100, requests=1)])]
)


def vendor_figures(channel):
    found, _reported = vendor_usage({channel: [date(2026, 11, 3)]})
    return {name: (figures.input, figures.output) for (_c, name, _d), (_m, figures) in found.items()}


def test_the_same_day_in_two_formats_and_spellings_is_stored_once(world):
    channel = world["channels"]["openai-main"]
    upstream_import(content=OPENAI_DAY, filename="o.json", fmt="openai-usage", channel=channel)
    again = upstream_import(
        content=generic("2026-11-03,UTC,openai-main,gpt-4o-mini,1,1000,0,0,100,0,,"),
        filename="g.csv",
        fmt="generic",
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert list(VendorUsage.objects.values_list("model_name", "input_tokens")) == [
        ("gpt-4o-mini-2024-07-18", 1000)
    ]
    assert vendor_figures(channel) == {"gpt-4o-mini": (1000, 100)}


def test_a_revision_under_another_spelling_replaces_the_stored_row_and_says_so(world):
    channel = world["channels"]["openai-main"]
    first = upstream_import(content=OPENAI_DAY, filename="o.json", fmt="openai-usage", channel=channel)
    revised = generic("2026-11-03,UTC,openai-main,GPT-4o-mini,3,1200,0,0,120,0,,")
    preview = upstream_import(content=revised, filename="g.csv", fmt="generic", preview=True)
    (planned,) = preview.plan.planned
    assert (planned.outcome, planned.model_name, planned.other_spellings) == (
        "changed",
        "gpt-4o-mini-2024-07-18",
        ["GPT-4o-mini"],
    )
    assert planned.changes["input_tokens"] == (1000, 1200) and planned.existing.source_import == first
    assert import_dict(preview)["stored"][0]["reported_as"] == ["GPT-4o-mini"]
    upstream_import(content=revised, filename="g.csv", fmt="generic")
    row = VendorUsage.objects.get()
    assert (row.model_name, row.input_tokens, row.requests) == ("gpt-4o-mini-2024-07-18", 1200, 3)
    assert vendor_figures(channel) == {"gpt-4o-mini": (1200, 120)}


def test_the_preview_page_says_under_which_name_a_respelled_row_is_stored(client, world):
    upstream_import(
        content=OPENAI_DAY, filename="o.json", fmt="openai-usage", channel=world["channels"]["openai-main"]
    )
    login(client, StaffRole.FINANCE)
    response = upload(client, generic("2026-11-03,UTC,openai-main,gpt-4o-mini,2,1000,0,0,100,0,,"), "generic")
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="respelled"' in page
    assert (
        "Reported as gpt-4o-mini; stored under the day's existing name, so the day is not counted twice."
        in page
    )


def test_spellings_of_one_model_in_a_file_are_summed_into_one_row(world):
    record = upstream_import(
        content=generic(
            "2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY",
            "2026-11-03,,kimi-main,kimi-k2-0905-preview,5,500,0,0,50,0,0.5,CNY",
            "2026-11-03,,kimi-main,kimi-unknown-a,1,1,0,0,1,0,,",
            "2026-11-03,,kimi-main,kimi-unknown-b,1,2,0,0,1,0,,",
        ),
        filename="g.csv",
        fmt="generic",
    )
    assert record.created == 3
    stored = sorted(VendorUsage.objects.values_list("model_name", "requests", "input_tokens", "cost"))
    assert [s[:3] for s in stored] == [
        ("kimi-k2", 15, 1500),
        # Names the catalog does not know are told apart by name: nothing says they are one model.
        ("kimi-unknown-a", 1, 1),
        ("kimi-unknown-b", 1, 2),
    ]
    assert str(stored[0][3].normalize()) == "2"


def test_batch_and_non_batch_usage_of_a_model_stay_two_rows(world):
    channel = world["channels"]["openai-main"]
    content = openai_page(
        [
            (
                utc(2026, 11, 3),
                utc(2026, 11, 4),
                [
                    openai_result(input_tokens=10),
                    openai_result(model="gpt-4o-mini", input_tokens=20, batch=True),
                ],
            )
        ]
    )
    upstream_import(content=content, filename="o.json", fmt="openai-usage", channel=channel)
    stored = sorted(VendorUsage.objects.values_list("is_batch", "model_name", "input_tokens"))
    assert stored == [(False, "gpt-4o-mini-2024-07-18", 10), (True, "gpt-4o-mini", 20)]
