"""Names that people pick from a list and type back (fund names): one way to store them, one way to compare.

Unicode has many ways to write strings that differ but look the same: compatibility forms (full-width
letters, ligatures, mathematical letters), invisible characters (zero-width spaces, word joiners, variation
selectors, Hangul fillers, tags) and bidirectional controls that reorder what is shown. A name with any of
them would sit in an autocomplete list beside its twin, and a member could not tell which one they picked.
So a name is stored as :func:`clean_name` makes it, and two names are the same when their :func:`name_key`
is: then a second fund that only looks like the first one is refused, and a typed name finds its fund.

Lookalike letters of other scripts (Latin "C" and Cyrillic "С") are not folded together here: that needs
Unicode's confusables data (UTS #39), which coopbot does not ship.
"""

from __future__ import annotations

import unicodedata
from typing import Final

# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt): characters that render as
# nothing when a font has no glyph for them, bidirectional controls included. Python's unicodedata does not
# expose the property, hence the list; the format characters among them (category Cf) are also caught by
# category, so this list matters for the invisible letters and marks (fillers, variation selectors).
_DEFAULT_IGNORABLE: Final = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
# Control and format characters, and surrogates that only reach here when a caller skipped the ingress.
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs"})
# Shown as empty space although Unicode does not call it whitespace.
_BLANKS: Final = frozenset({"\u2800"})  # BRAILLE PATTERN BLANK
# What makes an emoji sequence (👨‍👩‍👧, ❤️, 🏳️‍🌈): kept in the shown name between pictographs only.
_ZWJ: Final = "\u200d"
_EMOJI_PRESENTATION: Final = frozenset({"\ufe0e", "\ufe0f"})
_PICTOGRAPH_CATEGORIES: Final = frozenset({"So", "Sk"})  # emoji are So; skin-tone modifiers are Sk


def _invisible(char: str) -> bool:
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _DEFAULT_IGNORABLE)


def _pictograph(char: str) -> bool:
    return unicodedata.category(char) in _PICTOGRAPH_CATEGORIES


def _visible(text: str, *, keep_emoji_joiners: bool) -> str:
    """``text`` without invisible characters; whitespace and blanks become spaces. With
    ``keep_emoji_joiners``, a joiner or variation selector that is part of an emoji sequence stays, so that
    🏳️‍🌈 is not shown as 🏳🌈."""
    kept: list[str] = []
    for index, char in enumerate(text):
        if char in _BLANKS or char.isspace():  # a line break or tab is a space too, not nothing
            kept.append(" ")
            continue
        if not _invisible(char):
            kept.append(char)
            continue
        if not keep_emoji_joiners or not kept:
            continue
        before = kept[-1]
        if (char in _EMOJI_PRESENTATION and _pictograph(before)) or (
            char == _ZWJ
            and (_pictograph(before) or before in _EMOJI_PRESENTATION)
            and _pictograph(text[index + 1 : index + 2] or " ")
        ):
            kept.append(char)
    return "".join(kept)


def _normalized(text: str, *, keep_emoji_joiners: bool) -> str:
    # NFKC before dropping what is invisible (it makes some characters invisible: U+FFA0 into U+3164), and
    # after (dropping a character can bring a letter and its accent together).
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFKC", _visible(text, keep_emoji_joiners=keep_emoji_joiners))
    return " ".join(_visible(text, keep_emoji_joiners=keep_emoji_joiners).split())


def clean_name(text: str) -> str:
    """A name as it is stored and shown: NFKC, without invisible or bidirectional control characters (but
    with emoji sequences whole), whitespace collapsed to single spaces and trimmed."""
    return _normalized(text, keep_emoji_joiners=True)


def name_key(text: str) -> str:
    """What two names are compared by: the clean name, case folded, without any joiner or variation
    selector. Names with the same key look the same (or differ only in case)."""
    folded = _normalized(text, keep_emoji_joiners=False).casefold()
    # Case folding can undo NFKC ("ǅ" folds to "dž", two letters in NFKC form); normalize once more.
    return _normalized(folded, keep_emoji_joiners=False)
