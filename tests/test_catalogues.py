"""The message catalogues: every message of every template is translated in every language, with the same
placeholders and the language's own plural forms; command names follow Discord's naming rules and every
string fits Discord's limits in each language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from governance.i18n import COMMANDS_DOMAIN, DOMAIN, LANGUAGES, LOCALES, SOURCE, placeholders

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in LANGUAGES if language != SOURCE]
DOMAINS = [DOMAIN, COMMANDS_DOMAIN]
# Discord's rule for a command's, group's or option's name in any locale (lowercase where the script has
# case): https://discord.com/developers/docs/interactions/application-commands#application-command-object
NAME = re.compile(r"^[-_\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
NAME_CONTEXTS = {"command_name", "group_name", "parameter_name"}
LIMITS = {
    "command_description": 100,
    "group_description": 100,
    "parameter_description": 100,
    "choice_name": 100,
}


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def _template(domain: str) -> Catalog:
    return _read(LOCALES / f"{domain}.pot")


def _catalogue(language: str, domain: str) -> Catalog:
    path = LOCALES / language / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path} is missing: run `make catalogues` and translate it"
    return _read(path, language)


def _strings(value: object) -> tuple[str, ...]:
    """A message's id or translation as its forms (one, or one per plural form)."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(form or "") for form in value) if isinstance(value, tuple | list) else ("",)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(language: str, domain: str) -> None:
    template, catalogue = _template(domain), _catalogue(language, domain)
    problems = []
    for message in template:
        if not message.id:
            continue
        found = catalogue.get(message.id, context=message.context)
        label = f"{language} {domain} [{message.context or ''}] {_strings(message.id)[0]!r}"
        if found is None or found.fuzzy:
            problems.append(f"{label}: missing" if found is None else f"{label}: fuzzy")
            continue
        strings = _strings(found.string)
        if not all(strings):
            problems.append(f"{label}: not translated")
            continue
        if message.pluralizable and len(strings) != catalogue.num_plurals:
            problems.append(f"{label}: {len(strings)} plural forms, {language} has {catalogue.num_plurals}")
        sources = _strings(message.id)
        expected = set().union(*(placeholders(source) for source in sources))
        for string in strings:
            if placeholders(string) != expected:
                problems.append(f"{label}: placeholders {sorted(placeholders(string))} != {sorted(expected)}")
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_localized_command_names_follow_discords_rules_and_fit_its_limits(language: str) -> None:
    catalogue = _catalogue(language, COMMANDS_DOMAIN)
    problems = []
    seen: dict[tuple[str | None, str], str] = {}
    for message in catalogue:
        if not message.id or not message.string:
            continue
        string = str(message.string)
        label = f"{language} [{message.context}] {message.id!r} -> {string!r}"
        if message.context in NAME_CONTEXTS:
            if not NAME.match(string) or string != string.lower():
                problems.append(f"{label}: not a valid Discord name (lowercase, no spaces, at most 32)")
            other = seen.setdefault((message.context, string), str(message.id))
            if other != message.id:
                problems.append(f"{label}: the same name as {other!r}")
        limit = LIMITS.get(message.context or "")
        if limit and len(string) > limit:
            problems.append(f"{label}: {len(string)} characters, Discord allows {limit}")
    assert not problems, "\n".join(problems)


def test_the_template_holds_every_message_marked_in_the_code() -> None:
    """A message marked in the code but not in the template would never be translated: `make catalogues`
    puts it there (and into every catalogue, where the test above then wants its translation)."""
    from babel.messages.extract import extract_from_dir

    keywords: dict[str, Any] = {"_": None, "_n": (1, 2), "N_": None}
    marked: set[str] = set()
    for folder in ("governance", "cogs", "sandbox"):  # as the Makefile's `catalogues` extracts them
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            marked.add(_strings(message)[0])
    template = {_strings(message.id)[0] for message in _template(DOMAIN) if message.id}
    assert marked - template == set(), "run `make catalogues`: these are not in the template"
    assert template - marked == set(), "run `make catalogues`: the template holds messages no longer used"
