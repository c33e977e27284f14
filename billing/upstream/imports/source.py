"""Read a vendor file's bytes: as JSON (numbers as Decimal, never float) or as CSV rows keyed by header.

Everything that makes a whole file unreadable is a ``FileRefused`` saying what and where (the JSON line
and column, the header's missing or unknown columns), never an exception from deep inside a parser.
"""

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.utils.translation import gettext as _

from billing.upstream.imports.rows import FileRefused


def decoded(content: bytes) -> str:
    """The file's text: UTF-8 (with or without the BOM Excel writes), else GB 18030, which Chinese
    Windows Excel saves CSV files in."""
    if b"\x00" in content[:4096]:
        raise FileRefused(_("The file is binary or UTF-16, not UTF-8 text: save it as CSV (UTF-8) or JSON."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused(_("The file is not UTF-8 (or GB 18030) text: save it as CSV (UTF-8)."))


def _refuse_constant(name: str):
    raise ValueError(name)


def json_load(content: bytes):
    """The parsed JSON document, numbers with a fraction as Decimal."""
    try:
        return json.loads(decoded(content), parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise FileRefused(
            _("The file is not valid JSON: %(error)s at line %(line)s, column %(column)s.")
            % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
        ) from None
    except (ValueError, RecursionError):
        raise FileRefused(_("The file is not valid JSON (NaN, Infinity or nesting too deep).")) from None


class CsvRow(NamedTuple):
    number: int  # as a spreadsheet numbers it: the header is row 1
    values: dict[str, str]
    overflow: bool  # the row has more non-blank cells than the header has columns


def csv_rows(
    content: bytes,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    allow_unknown: bool = False,
    format_name: str,
) -> Iterator[CsvRow]:
    """Yield each non-blank data row with its number as a spreadsheet shows it.

    The header is checked first (names are case- and space-insensitive): a missing required column, or an
    unknown one when ``allow_unknown`` is False (a misspelt column must not be silently ignored), refuses
    the file. Rows are read one at a time."""
    reader = csv.reader(io.StringIO(decoded(content), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileRefused(_("The file is not CSV: %(error)s.") % {"error": exc}) from None
    if not header or not any(h.strip() for h in header):
        raise FileRefused(
            _("The file is empty: a %(format)s file starts with its header.") % {"format": format_name}
        )
    # "Prompt Tokens" (a console's export) reads as prompt_tokens.
    names = [h.strip().lower().replace(" ", "_") for h in header]
    missing = [c for c in required if c not in names]
    unknown = [h for h in names if h and h not in required and h not in optional]
    duplicated = sorted({h for h in names if h and names.count(h) > 1})
    problems = []
    if missing:
        problems.append(_("missing column(s) %(columns)s") % {"columns": ", ".join(missing)})
    if unknown and not allow_unknown:
        problems.append(_("unknown column(s) %(columns)s") % {"columns": ", ".join(unknown)})
    if duplicated:
        problems.append(_("column(s) %(columns)s appear twice") % {"columns": ", ".join(duplicated)})
    if problems:
        raise FileRefused(
            _("Wrong header for a %(format)s file: %(problems)s. Expected the columns %(expected)s.")
            % {
                "format": format_name,
                "problems": "; ".join(problems),
                "expected": ",".join((*required, *optional)),
            }
        )
    return _records(reader, names)


def _records(reader, names: list[str]) -> Iterator[CsvRow]:
    number = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRefused(
                _("The CSV file cannot be read after row %(row)s: %(error)s.") % {"row": number, "error": exc}
            ) from None
        number += 1
        if not any(v.strip() for v in values):
            continue
        record = {
            name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names) if name
        }
        yield CsvRow(number, record, any(v.strip() for v in values[len(names) :]))
