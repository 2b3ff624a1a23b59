"""Languages: message catalogues (gettext, kept with Babel's extract/update/compile) and the reader's locale.

A message is written in English in the code, marked with ``_`` (or ``_n`` where a count decides its form),
with named placeholders (``_("Round #{number} is closed.", number=7)``). Marking returns a :class:`Text`:
what to say, not yet in which language, so governance (which knows no reader) can raise it, and the layer
that knows the reader (an interaction's locale, a cooperative's language) renders it. ``str()`` of a Text is
its English.

Catalogues live in ``governance/locales/<language>/LC_MESSAGES/<domain>.po``: ``coopbot`` for what people
read, ``commands`` for the names and descriptions of slash commands. A compiled ``.mo`` beside a ``.po`` is
used when it is newer; otherwise the ``.po`` is compiled in memory, so a checkout runs without a build step.
Adding a language is adding its catalogues (README: Languages).
"""

from __future__ import annotations

import gettext
import io
import re
import string
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "coopbot"
COMMANDS_DOMAIN = "commands"
SOURCE = "en"

# The languages coopbot speaks, by catalogue code, with their own names.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "pt_BR": "Português (Brasil)",
    "fr": "Français",
    "de": "Deutsch",
    "el": "Ελληνικά",
}
# Discord's locales (Interaction.locale, Guild.preferred_locale) for each language; the first is its own.
DISCORD_LOCALES: dict[str, tuple[str, ...]] = {
    "en": ("en-US", "en-GB"),
    "es": ("es-ES", "es-419"),
    "pt_BR": ("pt-BR",),
    "fr": ("fr",),
    "de": ("de",),
    "el": ("el",),
}
_BY_DISCORD = {locale: language for language, locales in DISCORD_LOCALES.items() for locale in locales}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def language_of(locale: object) -> str:
    """The language for a Discord locale ("es-419", or a discord.Locale), a catalogue code ("pt_BR") or
    a plain language ("pt"); English for anything coopbot does not speak."""
    text = str(getattr(locale, "value", locale or ""))
    if text in LANGUAGES:
        return text
    if text in _BY_DISCORD:
        return _BY_DISCORD[text]
    base = text.replace("_", "-").split("-")[0].lower()
    if base == "pt":
        return "pt_BR"
    return base if base in LANGUAGES else SOURCE


def babel_locale(language: str) -> str:
    """The CLDR locale Babel formats numbers and dates with for a language."""
    return {"en": "en_NZ", "es": "es_ES", "fr": "fr_FR", "de": "de_DE", "el": "el_GR"}.get(language, language)


@cache
def translations(language: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """A language's catalogue (English: the messages as written)."""
    if language == SOURCE or language not in LANGUAGES:
        return gettext.NullTranslations()
    po = LOCALES / language / "LC_MESSAGES" / f"{domain}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and po.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message ("{number}")."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class Text:
    """A message to say, in whichever language its reader reads."""

    message: str
    plural: str | None = None
    count: int | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def render(self, language: str) -> str:
        catalogue = translations(language_of(language))
        if self.plural is not None:
            assert self.count is not None
            template = catalogue.ngettext(self.message, self.plural, self.count)
        else:
            template = catalogue.gettext(self.message)
        values = {name: render(value, language) for name, value in self.values.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation must never hide the message
            return (self.plural if self.plural and self.count != 1 else self.message).format(**values)

    def __str__(self) -> str:
        return self.render(SOURCE)

    def to_json(self) -> dict[str, Any]:
        """What it says, as JSON to store (language-neutral): :func:`said_from_json` reads it back."""
        data: dict[str, Any] = {"text": self.message}
        if self.plural is not None:
            data["plural"], data["count"] = self.plural, self.count
        if self.values:
            data["values"] = {name: _value_to_json(value) for name, value in self.values.items()}
        return data


def _(message: str, /, **values: Any) -> Text:
    """Mark a message for the catalogue; ``values`` fill its named placeholders."""
    return Text(message, values=values)


def _n(singular: str, plural: str, count: int, /, **values: Any) -> Text:
    """A message whose form follows ``count`` (available to it as ``{count}``), by the language's own rules:
    "1 vote" / "2 votes", and each language's plural forms."""
    return Text(singular, plural, count, {"count": count, **values})


def render(text: object, language: str) -> Any:
    """A Text (or an amount, a date: anything that renders itself) in ``language``; anything else as it is
    (a number, or a string already in its language)."""
    rendering = getattr(text, "render", None)
    return rendering(language) if callable(rendering) else text


@dataclass(frozen=True)
class Translated:
    """A constant marked with ``N_`` (a position's label, a decision type's name), as a placeholder's value:
    it is said in the reader's language."""

    message: str

    def render(self, language: str) -> str:
        return translate(self.message, language)


@dataclass(frozen=True)
class Lowered:
    """A label marked with ``N_`` said within a sentence ("a consent decision", "not a poll vote"), as a
    placeholder's value: in the reader's language, in lower case where the language writes it so (German
    keeps the capital of its nouns)."""

    message: str

    def render(self, language: str) -> str:
        text = translate(self.message, language)
        return text if language_of(language) == "de" else text.lower()

    def __str__(self) -> str:
        return self.render(SOURCE)


@dataclass(frozen=True)
class LowerCased:
    """A Text said within a sentence: in lower case where the language writes it so (German keeps the
    capital of its nouns)."""

    text: Text

    def render(self, language: str) -> str:
        said = self.text.render(language)
        return said if language_of(language) == "de" else said.lower()

    def __str__(self) -> str:
        return self.render(SOURCE)


# --- what was said, kept: a Text as JSON, rendered later in each reader's language -------------------


def _value_to_json(value: object) -> Any:
    """A placeholder's value as JSON: a Text, a label to translate, an amount or a duration as what they are
    (so each reader gets them in their language); a number or a string as it is; anything else as its
    English."""
    from governance.money import Money
    from governance.timeparse import Duration

    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Text):
        return value.to_json()
    if isinstance(value, Translated):
        return {"translated": value.message}
    if isinstance(value, Lowered):
        return {"lowered": value.message}
    if isinstance(value, LowerCased):
        return {"lower_cased": value.text.to_json()}
    if isinstance(value, Money):
        return {"money": value.minor, "currency": value.currency}
    if isinstance(value, Duration):
        return {"seconds": value.span.total_seconds()}
    return str(value)  # a Fraction, a date...: its English, as the sentence had it


def _value_from_json(data: Any) -> Any:
    from governance.money import Money
    from governance.timeparse import Duration

    if not isinstance(data, dict):
        return data
    if "text" in data:
        return said_from_json(data)
    if "translated" in data:
        return Translated(str(data["translated"]))
    if "lowered" in data:
        return Lowered(str(data["lowered"]))
    if "lower_cased" in data:
        return LowerCased(said_from_json(data["lower_cased"]))
    if "money" in data:
        return Money(int(data["money"]), str(data["currency"]))
    if "seconds" in data:
        return Duration(timedelta(seconds=float(data["seconds"])))
    raise ValueError(f"not a stored value: {data!r}")


def said_from_json(data: Any) -> Text:
    """A Text stored with :meth:`Text.to_json`; raises ValueError when ``data`` is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError(f"not a stored text: {data!r}")
    values = {str(name): _value_from_json(value) for name, value in (data.get("values") or {}).items()}
    plural = data.get("plural")
    if plural is None:
        return Text(data["text"], values=values)
    return Text(data["text"], str(plural), int(data["count"]), values)


def recorded(said: Any, english: str | None) -> Text | str | None:
    """What a record says, to render in its reader's language: the Text stored as JSON (``said``), or the
    English kept beside it when there is none (a record from before sentences were kept so) or it cannot be
    read."""
    if said is not None:
        try:
            return said_from_json(said)
        except (ValueError, TypeError, KeyError):
            pass
    return english


@dataclass(frozen=True)
class Joined:
    """Lines or items said each in the reader's language, joined by ``separator`` (a placeholder's value)."""

    parts: tuple[object, ...]
    separator: str = "\n"

    def render(self, language: str) -> str:
        return self.separator.join(str(render(part, language)) for part in self.parts)

    def __str__(self) -> str:
        return self.render(SOURCE)


def N_(message: str, /) -> str:  # noqa: N802 (gettext's name for it)
    """Mark a message for the catalogue where it is translated later, by its English (a constant)."""
    return message


def translate(message: str, language: str) -> str:
    """A constant marked with ``N_``, in ``language``."""
    return translations(language_of(language)).gettext(message)
