"""Names people pick from lists: stored without what cannot be seen, compared by how they look."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from governance.names import clean_name, name_key


@pytest.mark.parametrize(
    ("typed", "clean", "key"),
    [
        ("  Commons   Fund ", "Commons Fund", "commons fund"),
        ("Com\u200bmons", "Commons", "commons"),  # zero-width space
        ("\u202dCommons\u202c", "Commons", "commons"),  # bidirectional override
        ("\u2066Commons\u2069", "Commons", "commons"),  # bidirectional isolate
        ("\u061cCommons", "Commons", "commons"),  # Arabic letter mark
        ("Commons\u2060", "Commons", "commons"),  # word joiner
        ("\ufeffCommons", "Commons", "commons"),  # byte order mark
        ("Com\u00admons", "Commons", "commons"),  # soft hyphen
        ("Commons\ufe0f", "Commons", "commons"),  # a variation selector after a letter
        ("\u3164Commons\u115f", "Commons", "commons"),  # Hangul fillers
        ("\u2800Commons", "Commons", "commons"),  # Braille blank
        ("Commons\U000e0041", "Commons", "commons"),  # a tag character
        ("Com\x07mons", "Commons", "commons"),  # a control character
        ("Ｃｏｍｍｏｎｓ", "Commons", "commons"),  # full-width
        ("\U0001d402ommons", "Commons", "commons"),  # mathematical bold
        ("ﬁsh fund", "fish fund", "fish fund"),  # a ligature
        ("Cafe\u0301", "Café", "café"),  # decomposed, even with something invisible between
        ("Cafe\u200b\u0301", "Café", "café"),
        ("Straße", "Straße", "strasse"),
        ("Commons\u2003Fund\u3000", "Commons Fund", "commons fund"),  # other spaces
        ("Commons\nFund", "Commons Fund", "commons fund"),
        # Emoji sequences keep their joiners where they are shown, and are compared without them.
        ("🏳️\u200d🌈 Pride", "🏳️\u200d🌈 Pride", "🏳🌈 pride"),
        ("👩🏽\u200d🌾 Farm", "👩🏽\u200d🌾 Farm", "👩🏽🌾 farm"),
        ("❤️ Care", "❤️ Care", "❤ care"),
        ("❤ Care", "❤ Care", "❤ care"),
        ("Fund\u200d🌈", "Fund🌈", "fund🌈"),  # a joiner after a letter is no emoji sequence
        ("\u200b\u2060", "", ""),
    ],
)
def test_names_are_cleaned_and_keyed(typed: str, clean: str, key: str) -> None:
    assert clean_name(typed) == clean
    assert name_key(typed) == key


def _visible_ish(text: str) -> bool:
    return all(unicodedata.category(char) not in {"Cc", "Cf", "Cs"} for char in text)


@given(st.text(max_size=40))
@example("\uffa0")  # NFKC turns this filler into another filler
@example("ǅ")  # case folding gives a letter NFKC spells as two
@example("e\u200b\u0301")
def test_cleaning_and_keys_are_stable(text: str) -> None:
    """Cleaning twice changes nothing more, a clean name has the same key as what was typed, and neither
    has a control or format character left (other than an emoji's joiner in the shown name)."""
    clean = clean_name(text)
    assert clean_name(clean) == clean
    assert name_key(clean) == name_key(text)
    assert name_key(name_key(text)) == name_key(text)
    assert clean == clean.strip() and "  " not in clean
    assert _visible_ish(name_key(text))
    assert _visible_ish(clean.replace("\u200d", ""))
