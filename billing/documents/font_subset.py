"""Subset a CJK font to what documents need, so WeasyPrint loads and subsets a few MB, not 17 MB.

Used by ``make assets``: ``python -m billing.documents.font_subset SRC.otf DST.otf [cjk|latin]``. Keeps every
GB2312 character (the 6,763 common simplified hanzi and their punctuation), Latin-1, general
punctuation, currency signs and the minus; a rarer character falls back to the system's Noto Sans CJK.
"""

import sys

from fontTools import subset


def charset() -> str:
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2190, 0x2193)]
    for low, high in ranges:
        chars.update(chr(code) for code in range(low, high + 1))
    chars.update("\u2212\u2116\u2122\u3000\uff5e\uffe5")
    return "".join(sorted(chars))


def latin() -> str:
    """Latin, punctuation and currency only: English documents then never load the large CJK subset."""
    ranges = [(0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2190, 0x2193)]
    chars = {chr(code) for low, high in ranges for code in range(low, high + 1)}
    chars.update("\u2212\u2116\u2122")
    return "".join(sorted(chars))


def main(source: str, target: str, which: str = "cjk") -> None:
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=latin() if which == "latin" else charset())
    subsetter.subset(font)
    subset.save_font(font, target, options)


if __name__ == "__main__":
    main(*sys.argv[1:4])
