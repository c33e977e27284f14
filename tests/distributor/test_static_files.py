"""Production's static files: every reference resolves, so collectstatic succeeds and no page answers 500.

Production stores static files with a manifest (whitenoise's CompressedManifestStaticFilesStorage):
collectstatic follows every url() and sourceMappingURL in CSS and JS and fails on one that names a missing
file, and with WHITENOISE_MANIFEST_STRICT (on, as by default) a `{% static %}` of a file the manifest lacks
is a server error. These run in seconds without PostgreSQL; tests/distributor/test_production.py serves
the real thing.
"""

import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from billing.documents.pdf import FONT_FACES

ROOT = Path(__file__).resolve().parents[2]
STATIC_TAG = re.compile(r"""{%\s*static\s+["']([^"']+)["']""")


def test_collectstatic_resolves_every_reference_with_the_manifest_storage(tmp_path, settings):
    # Django's manifest storage post-processes exactly as whitenoise's does, without the slow compression.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)

    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/chartjs/chart.umd.min.js" in manifest
    icons_css = next(tmp_path.glob("vendor/bootstrap-icons/bootstrap-icons.min.*.css")).read_text()
    assert re.search(r"fonts/bootstrap-icons\.[0-9a-f]{12}\.woff2", icons_css)


def test_templates_name_only_static_files_that_exist():
    named = {
        (template.relative_to(ROOT), path)
        for template in (ROOT / "templates").rglob("*.html")
        for path in STATIC_TAG.findall(template.read_text())
    }
    assert named
    assert [(str(template), path) for template, path in sorted(named) if not finders.find(path)] == []


def test_pdf_fonts_ship_outside_the_static_files():
    # WeasyPrint reads them from disk; a browser never does, so collectstatic need not copy or compress them.
    for _family, _weight, path in FONT_FACES:
        assert path.is_file(), path
        assert Path(settings.BASE_DIR, "static") not in path.parents
