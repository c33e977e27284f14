"""Importing is idempotent: the same file again changes nothing; a revised figure replaces the stored one
and the preview shows the old and the new; a preview stores nothing."""

from datetime import date

import pytest

from billing.upstream.imports.services import upstream_import, upstream_import_apply
from billing.upstream.models import UpstreamImport, VendorUsage
from tests.billing.upstream.imports.conftest import sample
from tests.billing.upstream.imports.helpers import generic

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "fmt", "channel"),
    [
        ("openai_usage_daily.json", "openai-usage", None),
        ("anthropic_usage_daily.json", "anthropic-usage", None),
        ("openrouter_activity.csv", "openrouter-activity", "openrouter"),
        ("generic_kimi_deepseek.csv", "generic", None),
    ],
)
def test_the_same_file_again_is_all_unchanged(world, name, fmt, channel):
    chosen = world["channels"][channel] if channel else None
    first = upstream_import(content=sample(name), filename=name, fmt=fmt, channel=chosen)
    stamps = dict(VendorUsage.objects.values_list("pk", "updated_at"))
    again = upstream_import(content=sample(name), filename=name, fmt=fmt, channel=chosen)
    assert first.created > 0 and (again.created, again.updated, again.unchanged) == (0, 0, first.created)
    assert dict(VendorUsage.objects.values_list("pk", "updated_at")) == stamps  # nothing rewritten
    assert set(VendorUsage.objects.values_list("source_import", flat=True)) == {first.pk}


def test_a_revised_figure_is_changed_with_old_and_new_in_the_preview(world):
    upstream_import(
        content=generic("2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY"),
        filename="a.csv",
        fmt="generic",
    )
    revised = generic("2026-11-03,,kimi-main,kimi-k2,12,1000,0,0,100,0,1.75,CNY")
    preview = upstream_import(content=revised, filename="b.csv", fmt="generic", preview=True)
    assert (preview.state, preview.updated, preview.created) == ("preview", 1, 0)
    (planned,) = preview.plan.planned
    assert planned.outcome == "changed"
    assert planned.changes["requests"] == (10, 12)
    assert [str(v) for v in planned.changes["cost"]] == ["1.500000000000", "1.75"]
    assert set(planned.changes) == {"requests", "cost"}
    assert VendorUsage.objects.get().requests == 10  # the preview stored nothing
    applied = upstream_import(content=revised, filename="b.csv", fmt="generic")
    row = VendorUsage.objects.get()
    assert (applied.updated, row.requests, row.source_import) == (1, 12, applied)


def test_a_preview_stores_no_usage_and_applies_later_once(world):
    preview = upstream_import(
        content=sample("generic_kimi_deepseek.csv"), filename="g.csv", fmt="generic", preview=True
    )
    assert preview.state == UpstreamImport.State.PREVIEW and preview.created == 4
    assert not VendorUsage.objects.exists()
    applied = upstream_import_apply(preview)
    assert applied.pk == preview.pk and applied.state == "applied" and applied.applied_at
    assert VendorUsage.objects.filter(source_import=preview).count() == 4
    with pytest.raises(Exception, match="applied already"):
        upstream_import_apply(preview)


def test_a_preview_applies_against_what_is_stored_when_applied(world):
    content = generic("2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY")
    preview = upstream_import(content=content, filename="g.csv", fmt="generic", preview=True)
    upstream_import(content=content, filename="g.csv", fmt="generic")  # someone imported it meanwhile
    applied = upstream_import_apply(preview)
    assert (applied.created, applied.unchanged) == (0, 1)
    assert VendorUsage.objects.get().day == date(2026, 11, 3)


def test_a_model_found_later_changes_the_row_and_the_preview_names_both(world):
    from billing.upstream.imports.report import changes_shown
    from catalog.models import ModelAlias

    content = generic("2026-11-03,,kimi-main,kimi-latest,10,1000,0,0,100,0,1.5,CNY")
    upstream_import(content=content, filename="a.csv", fmt="generic")
    assert VendorUsage.objects.get().model is None
    ModelAlias.objects.create(model=world["models"]["kimi-k2"], alias="kimi-latest")
    preview = upstream_import(content=content, filename="a.csv", fmt="generic", preview=True)
    (planned,) = preview.plan.planned
    assert planned.outcome == "changed" and changes_shown(planned) == [("model", "—", "kimi-k2")]
