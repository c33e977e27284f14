"""Pages of time buckets, as OpenAI's and Anthropic's usage APIs return them.

A file is one page (``{"data": [bucket, …], "has_more": …}``) or a list of pages (what a script that follows
``next_page`` saves), or a bare list of buckets. Every bucket's window is kept, empty ones included: they
are what shows that a file covers a whole day. The same window twice (a page saved twice) or overlapping
windows (hourly and daily buckets mixed) would count usage twice, so they refuse the file.
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise

from django.utils.translation import gettext as _

from billing.upstream.imports.rows import FieldProblem, FileRefused, ParsedFile, RowError, identity_of
from billing.upstream.imports.source import json_load

Window = tuple[datetime, datetime]


def buckets_of(document, *, vendor: str) -> list[dict]:
    """The buckets of a page, of a list of pages, or of a list of buckets, in file order."""
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        pages = [document]
    elif (
        isinstance(document, list) and all(isinstance(p, dict) and "data" in p for p in document) and document
    ):
        pages = document
    elif isinstance(document, list) and all(isinstance(b, dict) and "results" in b for b in document):
        return document
    else:
        raise FileRefused(
            _(
                'This is not %(vendor)s usage: expected a page {"data": [bucket, …]}, a list of pages or a '
                "list of buckets."
            )
            % {"vendor": vendor}
        )
    found = []
    for number, page in enumerate(pages, start=1):
        data = page.get("data")
        if not isinstance(data, list) or not all(isinstance(b, dict) for b in data):
            raise FileRefused(_('Page %(page)s has no list of buckets under "data".') % {"page": number})
        found.extend(data)
    return found


def windows_checked(
    buckets: list[dict], bounds: Callable[[dict], Window]
) -> Iterator[tuple[int, dict, Window]]:
    """Each bucket with its [start, end) window in UTC; refuse the file on a bad, repeated or overlapping
    window."""
    windows = []
    for number, bucket in enumerate(buckets, start=1):
        try:
            start, end = bounds(bucket)
        except FieldProblem as problem:
            raise FileRefused(
                _("Bucket %(bucket)s: %(message)s") % {"bucket": number, "message": problem.message}
            ) from None
        if not start < end:
            raise FileRefused(
                _("Bucket %(bucket)s ends (%(end)s) before it starts (%(start)s).")
                % {"bucket": number, "start": _iso(start), "end": _iso(end)}
            )
        if not isinstance(bucket.get("results"), list):
            raise FileRefused(_("Bucket %(bucket)s has no list of results.") % {"bucket": number})
        windows.append((start, end, number))
    ordered = sorted(windows)
    for (s1, e1, n1), (s2, e2, n2) in pairwise(ordered):
        if (s1, e1) == (s2, e2):
            raise FileRefused(
                _(
                    "Buckets %(a)s and %(b)s cover the same time (%(start)s): was a page saved twice? "
                    "Importing both would count that usage twice."
                )
                % {"a": min(n1, n2), "b": max(n1, n2), "start": _iso(s1)}
            )
        if s2 < e1:
            raise FileRefused(
                _(
                    "Buckets %(a)s (%(start1)s–%(end1)s) and %(b)s (%(start2)s–%(end2)s) overlap: export one "
                    "bucket width per file."
                )
                % {
                    "a": n1,
                    "b": n2,
                    "start1": _iso(s1),
                    "end1": _iso(e1),
                    "start2": _iso(s2),
                    "end2": _iso(e2),
                }
            )
    for number, bucket in enumerate(buckets, start=1):
        start, end, _n = windows[number - 1]
        yield number, bucket, (start, end)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def where(window: Window, result: int) -> str:
    # Translators: where a row is in a usage file, e.g. "bucket 2026-11-03T00:00:00Z, result 2".
    return _("bucket %(start)s, result %(n)s") % {"start": _iso(window[0]), "n": result}


def buckets_parse(content: bytes, *, vendor: str, bounds: Callable, row: Callable, identity) -> ParsedFile:
    """Parse a JSON usage report of buckets of results (OpenAI's and Anthropic's share the shape): each
    result through ``row(result, row=, place=, window=)``, a refused one kept as a ``RowError`` naming it
    (``identity``: what it would have summed with)."""
    parsed = ParsedFile(items=[])
    number = 0
    for _index, bucket, window in windows_checked(buckets_of(json_load(content), vendor=vendor), bounds):
        parsed.buckets.append(window)
        for index, result in enumerate(bucket["results"], start=1):
            number += 1
            place = where(window, index)
            try:
                parsed.items.append(row(result, row=number, place=place, window=window))
            except FieldProblem as problem:
                found = identity_of(identity, result, row=number, place=place, window=window)
                parsed.items.append(RowError(number, problem.field, problem.message, place, found))
    return parsed
