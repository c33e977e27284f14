"""``manage.py import_upstream``: text and JSON output, preview storing nothing, exit statuses."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.upstream.models import UpstreamImport, VendorUsage
from tests.billing.upstream.imports.conftest import SAMPLES
from tests.billing.upstream.imports.helpers import generic

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_upstream", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_a_file_and_says_what_it_stored(world):
    out, _err = run(str(SAMPLES / "generic_kimi_deepseek.csv"), "--format", "generic")
    assert "4 rows read, 0 rejected. Stored: 4 new, 0 changed, 0 unchanged." in out
    assert "created   kimi-main 2026-11-03 kimi-k2-0905-preview: requests=820 input_tokens=3100000" in out
    assert VendorUsage.objects.count() == 4
    out, _err = run(str(SAMPLES / "generic_kimi_deepseek.csv"), "--format", "generic")
    assert "Stored: 0 new, 0 changed, 4 unchanged." in out


def test_preview_stores_nothing_and_shows_old_and_new(world, tmp_path):
    run(str(SAMPLES / "generic_kimi_deepseek.csv"), "--format", "generic")
    revised = tmp_path / "revised.csv"
    revised.write_bytes(
        generic("2026-11-03,,kimi-main,kimi-k2-0905-preview,821,3100000,1900000,0,420000,0,25.18,CNY")
    )
    out, _err = run(str(revised), "--format", "generic", "--preview")
    assert "Would store: 0 new, 1 changed, 0 unchanged." in out
    assert "requests: 820 -> 821" in out
    assert "Preview only: nothing was stored." in out
    assert VendorUsage.objects.get(model_name="kimi-k2-0905-preview", day="2026-11-03").requests == 820


def test_json_output_lists_stored_rows_and_errors(world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        generic("2026-11-03,,kimi-main,kimi-k2,1,10,0,0,5,0,,", "2026-11-03,,nowhere,kimi-k2,1,10,0,0,5,0,,")
    )
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_upstream", str(bad), "--format", "generic", "--output", "json", stdout=out)
    assert raised.value.returncode == 2
    report = json.loads(out.getvalue())
    assert (report["created"], report["rejected"]) == (1, 1)
    assert report["errors"] == [
        {"row": 3, "field": "channel", "message": "'nowhere' is no channel's name or alias.", "where": ""}
    ]
    assert report["stored"][0]["channel"] == "kimi-main" and report["stored"][0]["outcome"] == "created"


def test_json_output_shape(world):
    out, _err = run(
        str(SAMPLES / "openrouter_activity.csv"),
        "--format",
        "openrouter-activity",
        "--channel",
        "OPENROUTER",
        "--output",
        "json",
    )
    report = json.loads(out)
    assert (report["state"], report["rows"], report["created"], report["rejected"]) == ("applied", 4, 3, 0)
    first = report["stored"][0]
    assert (first["channel"], first["day"], first["model"], first["cost"]) == (
        "openrouter",
        "2026-11-03",
        "deepseek/deepseek-r1",
        "0.987",
    )
    assert first["starts_at"] == "2026-11-03T00:00:00+00:00" and first["has_cache_counts"] is False
    assert {r["model"] for r in report["stored"]} == {"deepseek/deepseek-r1", "openai/gpt-4.1"}


def test_rejected_rows_exit_2_and_are_written_to_stderr(world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        generic("2026-11-03,,kimi-main,kimi-k2,1,10,0,0,5,0,,", "2026-11-03,,nowhere,kimi-k2,1,10,0,0,5,0,,")
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_upstream", str(bad), "--format", "generic", stdout=out, stderr=err)
    assert raised.value.returncode == 2 and "1 row(s) rejected" in str(raised.value)
    assert "row 3, channel: 'nowhere' is no channel's name or alias." in err.getvalue()
    assert VendorUsage.objects.count() == 1


def test_a_refused_file_exits_1_and_is_recorded_failed(world, tmp_path):
    bad = tmp_path / "wrong.csv"
    bad.write_bytes(b"day,model\n2026-11-03,x\n")
    with pytest.raises(CommandError) as raised:
        run(str(bad), "--format", "generic")
    assert raised.value.returncode == 1 and "Wrong header for a generic usage file" in str(raised.value)
    assert UpstreamImport.objects.get().state == "failed"


def test_an_unknown_channel_or_file_exits_1(world):
    with pytest.raises(CommandError, match="'nowhere' is no channel's name or alias"):
        run(
            str(SAMPLES / "openrouter_activity.csv"),
            "--format",
            "openrouter-activity",
            "--channel",
            "nowhere",
        )
    with pytest.raises(CommandError, match=r"Cannot read /no/such\.csv"):
        run("/no/such.csv", "--format", "generic")
    assert not UpstreamImport.objects.exists()
