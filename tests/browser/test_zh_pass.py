"""A Chinese reader meets no English: every navigation page of every shell, and the first detail page each
list links to, read in zh-hans over the demo data set, show no untranslated interface text.

What counts as untranslated: a text on the page (or a field's placeholder) that is, or contains, the English
of a message we translate (the zh-hans catalogue has it, so the page printed the msgid), or English prose
(common interface words) left once the names a person typed are removed (customer, plan, model and book
names, descriptions, e-mail addresses: data, shown as entered). Screenshots of every page are kept.
"""

import re
from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.db.models import CharField, TextField
from django.urls import reverse
from django.utils.translation import trans_real
from playwright.sync_api import Error as PlaywrightError

from accounts.models import StaffRole, User
from demo.accounts import DEMO_PASSWORD, DEMO_TOTP_SECRETS
from demo.loader import demo_load
from distributor.navigation import entries_for
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      const parent = node.parentElement;
      if (!parent || parent.closest("script, style, code, pre, noscript, textarea, option")) {
        return NodeFilter.FILTER_REJECT;
      }
      return node.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    },
  });
  while (walker.nextNode()) out.push(walker.currentNode.textContent.replace(/\\s+/g, " ").trim());
  document.querySelectorAll("[placeholder]").forEach((e) => out.push(e.getAttribute("placeholder")));
  document.querySelectorAll("th[title], button[title], a[title].btn").forEach((e) => out.push(e.title));
  return out;
}"""
FIRST_DETAIL = """() => {
  const link = document.querySelector("main table tbody a[href^='/'], main .list-group a[href^='/']");
  return link ? link.getAttribute("href") : null;
}"""

# Interface words that give English prose away; data names are removed before looking for them.
ENGLISH = re.compile(
    r"\b(the|of|and|for|with|from|to|is|are|not|no|none|per|total|amount|balance|date|status|customer|"
    r"invoice|payment|usage|price|prices|cost|credit|wallet|tokens|month|due|paid|open|view|download|export|"
    r"search|filter|next|previous|page|edit|save|cancel|delete|back|current|days|received|sign|add|new|"
    r"show|all|yes|created|updated|details|description|name|action|actions|reason|kind|type)\b",
    re.IGNORECASE,
)
# Names of things, codes and units that read the same in both languages.
ALLOWED = re.compile(
    r"\b(API|CSV|PDF|ID|IDs|URL|TOTP|Stripe|Redoc|OpenAI|LiteLLM|new-api|one-api|CNY|USD|EUR|JPY|SWIFT|"
    r"P\d+|e-mail|Excel|UTF-8|BOM|HTML|JSON|Webhook|Distributor)\b"
    # A list of column or field names (date,base,quote,rate) is machine vocabulary in any language.
    r"|\b[a-z_]+(?:, ?[a-z_]+)+\b"
)
# Text the product itself writes: it must follow the reader's language, so it is never taken for data.
MACHINE_WRITTEN = {
    "billing.JournalTransaction.memo",
    "billing.JournalTransaction.kind",
    "billing.UsageEvent.unrated_reason",
    "billing.UsageUpload.error",
    "billing.ReconciliationLine.detail",
    "billing.MismatchFlag.detail",
    "billing.RiskFlag.detail",
    "billing.InvoiceLine.unit",
}
# Tables too large to read whole; their typed text (request ids, keys) is not prose anyway.
SKIPPED_MODELS = {"billing.UsageEvent", "billing.UsageRequestKey", "billing.UsageRollup"}


def _catalogue_msgids() -> set[str]:
    """English messages the zh-hans catalogue translates (long enough to be interface text, not a code)."""
    catalog = trans_real.translation("zh-hans")._catalog
    return {
        key
        for key, value in catalog.items()
        if isinstance(key, str) and len(key) >= 6 and " " in key and value != key and re.search(r"[a-z]", key)
    }


def _data_strings() -> list[str]:
    """Every text a person typed into the data set (names, notes, descriptions, reasons): shown as entered."""
    strings: set[str] = set()
    for model in apps.get_models():
        label = model._meta.label
        if model._meta.app_label not in {"accounts", "catalog", "billing"} or label in SKIPPED_MODELS:
            continue
        fields = [
            f.name
            for f in model._meta.fields
            if isinstance(f, CharField | TextField)
            and not f.choices
            and f"{label}.{f.name}" not in MACHINE_WRITTEN
        ]
        if fields:
            for row in model.objects.values_list(*fields)[:5000]:
                strings.update(str(v) for v in row if v and len(str(v)) >= 3)
    return sorted(strings, key=len, reverse=True)


def _cut_tail(text: str, data: list[str]) -> str:
    """``text`` without a typed text cut short at its end ("…: Demo: goodwill discount on the l..."): a
    page that shortens a long memo cuts the data in it too."""
    body = text.removesuffix("...").removesuffix("…")
    if body == text:
        return text
    for name in data:
        for cut in range(len(name) - 1, 7, -1):
            if body.endswith(name[:cut]):
                return body[:-cut] + " "
    return text


def _untranslated(texts: list[str], msgids: set[str], data: list[str]) -> list[str]:
    found = []
    for text in texts:
        if not text or not re.search(r"[A-Za-z]", text):
            continue
        if text in msgids:
            found.append(text)
            continue
        stripped = _cut_tail(text, data)
        for name in data:
            if name in stripped:
                stripped = stripped.replace(name, " ")
        stripped = ALLOWED.sub(" ", stripped)
        stripped = re.sub(r"\S+@\S+|https?://\S+|/[\w/.-]+", " ", stripped)
        if ENGLISH.search(stripped) and len(re.findall(r"[A-Za-z]{2,}", stripped)) >= 2:
            found.append(text)
    return found


def _crawl(page, start_paths: list[str], prefix: str, label: str, msgids, data) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    queue = [(path, True) for path in start_paths]
    while queue:
        path, follow = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            response = page.goto(path)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue  # a list's first link was a file (an export, an attachment): not a page
            raise
        page.wait_for_load_state("networkidle")
        assert response is not None and response.status < 400, f"{label}: {path} answered {response.status}"
        if found := _untranslated(page.evaluate(TEXTS), msgids, data):
            problems[path] = sorted(set(found))
        name = re.sub(r"[^a-z0-9]+", "-", path.strip("/")) or "home"
        screenshot(page, f"zh-pass-{label}-{name}")
        if follow and (detail := page.evaluate(FIRST_DETAIL)):
            detail_path = urlparse(detail).path
            if detail_path.startswith(prefix) and not detail_path.endswith((".pdf", ".csv")):
                queue.append((detail_path, False))
    return problems


def _zh_context(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(20_000)
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    return context


def test_every_page_reads_in_chinese(browser, live_server):
    demo_load()
    msgids, data = _catalogue_msgids(), _data_strings()
    problems: dict[str, dict[str, list[str]]] = {}

    admin = User.objects.get(staff_role=StaffRole.ADMIN, email__startswith="admin@")
    context = _zh_context(browser, live_server)
    page = context.new_page()
    sign_in(page, admin.email, DEMO_PASSWORD, totp_secret=DEMO_TOTP_SECRETS[admin.email])
    staff_pages = [reverse(entry.url_name) for entry in entries_for(admin)]
    problems["admin"] = _crawl(page, staff_pages, "/dashboard/", "admin", msgids, data)
    context.close()

    for email in (
        "owner@acme-agents.example.com",
        "owner@huadong-ai.example.com",
        "owner@pacific-hub.example.com",
    ):
        context = _zh_context(browser, live_server)
        page = context.new_page()
        sign_in(page, email, DEMO_PASSWORD)
        links = page.eval_on_selector_all(
            ".navbar a[href^='/portal/']", "links => links.map(a => a.getAttribute('href'))"
        )
        label = email.split("@")[1].split(".")[0]
        problems[label] = _crawl(page, sorted(set(links)), "/portal/", label, msgids, data)
        context.close()

    problems = {who: pages for who, pages in problems.items() if pages}
    assert problems == {}, "\n".join(
        f"{who} {path}: {texts}" for who, pages in problems.items() for path, texts in pages.items()
    )
