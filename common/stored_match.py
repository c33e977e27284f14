"""Text written by fixed English templates, read back into its stored text (common.stored_text).

Some reasons are built in many places by plain formatting (a bad usage row's, a skipped price-import
entry's) and are also answered as written (the API, the digest of an import). Where such a text is kept
for a person to read later, ``stored_match`` reads it back against the registered templates of the given
key prefixes into the template's key and parameters, so it renders in the reader's language; a text no
template reads gives None (shown as written)."""

import re
from functools import cache

from common.stored_text import messages_registered, stored


@cache
def _patterns(prefixes: tuple[str, ...]) -> tuple[tuple[str, re.Pattern], ...]:
    """Each template of ``prefixes`` as an anchored pattern (its parameters as groups), the longest first:
    a specific template is tried before a general one it also matches."""
    registered = messages_registered()
    keys = [k for k in registered if k.startswith(prefixes)]
    found = []
    for key in sorted(keys, key=lambda k: (-len(registered[k]), k)):
        parts = re.split(r"%\((\w+)\)s", registered[key].replace("%%", "%"))
        pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        found.append((key, re.compile(pattern + r"\Z", re.S)))
    return tuple(found)


def stored_match(text: str, prefixes: tuple[str, ...], nested: frozenset[str] = frozenset()) -> dict | None:
    """``text`` as the stored text of the first template of ``prefixes`` that reads it, or None. A
    parameter named in ``nested`` is itself read back (a reason within a reason); the others are data."""
    for key, pattern in _patterns(prefixes):
        if (match := pattern.match(text)) is not None:
            params = {
                name: (stored_match(value, prefixes, nested) or value) if name in nested else value
                for name, value in match.groupdict().items()
            }
            return stored(key, **params)
    return None
