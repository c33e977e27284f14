"""No page loads a script, style, font or image from another site: everything is served from static/.

A page that reached for a CDN would break offline and behind a firewall (where distributors run this),
and would hand a third party our users' browsing. The CSP forbids it at run time (tests/browser/test_csp.py
watches the main pages); this reads every template and every stylesheet we serve, so a page no browser test
visits is covered too.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]

# An address that leaves the site: http(s):// or protocol-relative //host.
OFFSITE = r"(?:https?:)?//[^/\"'\s]"
SCRIPT_OR_MEDIA = re.compile(
    rf"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*[\"']?{OFFSITE}", re.I
)
LINK = re.compile(rf"<link\b[^>]*\bhref\s*=\s*[\"']?{OFFSITE}", re.I)
CSS_URL = re.compile(rf"(?:url\(\s*[\"']?|@import\s+[\"']){OFFSITE}", re.I)


def _templates() -> list[Path]:
    return sorted(
        p for folder in TEMPLATE_DIRS for p in folder.rglob("*") if p.suffix in {".html", ".txt", ".css"}
    )


def test_no_template_loads_anything_from_another_site():
    templates = _templates()
    assert len(templates) > 100
    found = {
        str(path.relative_to(ROOT)): hits
        for path in templates
        if (hits := _offsite(path.read_text(encoding="utf-8"), SCRIPT_OR_MEDIA, LINK, CSS_URL))
    }
    assert found == {}


def test_no_stylesheet_we_serve_imports_from_another_site():
    sheets = list(ROOT.glob("static/**/*.css"))
    assert len(sheets) >= 3
    found = {
        str(sheet.relative_to(ROOT)): hits
        for sheet in sheets
        if (hits := _offsite(sheet.read_text(encoding="utf-8", errors="replace"), CSS_URL))
    }
    assert found == {}


def _offsite(text: str, *patterns) -> list[str]:
    return [m.group(0) for pattern in patterns for m in pattern.finditer(text)]


def test_the_patterns_catch_what_they_are_for():
    assert SCRIPT_OR_MEDIA.search(
        '<script src="https://cdn.jsdelivr.net/npm/redoc/bundles/redoc.standalone.js">'
    )
    assert SCRIPT_OR_MEDIA.search("<img src=//example.com/x.png>")
    assert LINK.search('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Inter">')
    assert CSS_URL.search("@import 'https://fonts.googleapis.com/css2'")
    assert CSS_URL.search("src: url(https://fonts.gstatic.com/s/x.woff2)")
    assert not SCRIPT_OR_MEDIA.search('<script src="/static/vendor/htmx/htmx.min.js">')
    assert not LINK.search('<link rel="stylesheet" href="{% static \'css/app.css\' %}">')
    assert not CSS_URL.search("background: url(data:image/svg+xml;base64,AAAA)")
