"""Typed text (titles, details, reasons, notes): one check for every field a person fills in."""

from __future__ import annotations

from fractions import Fraction

from governance.errors import InvalidInput
from governance.i18n import Text, _


def clean_text(
    text: str | None,
    *,
    field: str | Text,
    limit: int,
    required: bool = False,
    one_line: bool = False,
    empty_message: str | Text | None = None,
) -> str:
    """``text`` trimmed (with ``one_line``, its runs of whitespace and line breaks made single spaces), or
    InvalidInput when it is empty but ``required`` or longer than ``limit``. ``field`` names the field as a
    sentence starts ("The title", "A reason"); ``empty_message`` replaces the default refusal of an empty one.
    """
    cleaned = " ".join((text or "").split()) if one_line else (text or "").strip()
    if required and not cleaned:
        raise InvalidInput(empty_message or _("{what} can't be empty.", what=field))
    if len(cleaned) > limit:
        raise InvalidInput(
            _(
                "{what} is at most {limit} characters (yours has {length}).",
                what=field,
                limit=limit,
                length=len(cleaned),
            )
        )
    return cleaned


def plural(count: int, singular: str, plural_form: str) -> str:
    """ "1 vote", "2 votes": the count with the word that fits it."""
    return f"{count} {singular if count == 1 else plural_form}"


def percent(share: Fraction) -> str:
    """A share as a percentage for people: "75%", "66.7%" (display only; the counting stays exact)."""
    value = share * 100
    if value.denominator == 1:
        return f"{value.numerator}%"
    return f"{float(value):.1f}%"
