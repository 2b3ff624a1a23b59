"""Slash commands in the member's language: discord.py's Translator, reading the ``commands`` catalogue.

Discord shows each member the command names, descriptions, option names and choices of their client's
locale, from the localizations sent when the commands are synced. Each string's catalogue entry is keyed by
where it appears (its msgctxt: ``command_name``, ``parameter_description``…), since a name and a
description follow different rules. ``python -m cogs._translator PATH`` writes the catalogue template of
every command's strings (``make catalogues`` runs it).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import discord
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from discord import app_commands

from governance.i18n import COMMANDS_DOMAIN, SOURCE, language_of, translations

Location = app_commands.TranslationContextLocation


class CatalogueTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext,
    ) -> str | None:
        return translated(string.message, _language(locale), context.location)


# discord.py asks for every string in each of Discord's thirty-odd locales whenever the commands are
# built for a sync (a bot start): answered from memory after the first time, as the catalogues are fixed.
@cache
def _language(locale: discord.Locale) -> str:
    return language_of(locale)


@cache
def translated(message: str, language: str, location: Location) -> str | None:
    """A command's string in a language, or None where the catalogue has none (Discord then shows it as
    written)."""
    if language == SOURCE:
        return None
    found = translations(language, COMMANDS_DOMAIN).pgettext(location.name, message)
    return found if found != message else None


def command_strings(tree: app_commands.CommandTree) -> Iterator[tuple[Location, str]]:
    """Every string of every command that Discord shows, with where it appears."""
    for root in tree.get_commands():
        if isinstance(root, app_commands.Group):
            yield from _group_strings(root)
        elif isinstance(root, app_commands.Command):
            yield from _command_strings(root)


def _group_strings(group: app_commands.Group) -> Iterator[tuple[Location, str]]:
    yield Location.group_name, group.name
    yield Location.group_description, group.description
    for child in group.commands:
        if isinstance(child, app_commands.Group):
            yield from _group_strings(child)
        else:
            yield from _command_strings(child)


def _command_strings(command: app_commands.Command) -> Iterator[tuple[Location, str]]:
    yield Location.command_name, command.name
    yield Location.command_description, command.description
    for parameter in command.parameters:
        yield Location.parameter_name, parameter.name
        yield Location.parameter_description, parameter.description
        for choice in parameter.choices:
            yield Location.choice_name, choice.name


def template(tree: app_commands.CommandTree) -> Catalog:
    catalog = Catalog(project="coopbot", domain=COMMANDS_DOMAIN, fuzzy=False)
    for location, message in command_strings(tree):
        if message and message != "…":
            catalog.add(message, context=location.name)
    return catalog


async def _write_template(path: Path) -> int:
    from bot import create_bot
    from config import Settings

    bot = create_bot(Settings(database_url="sqlite+aiosqlite:///:memory:"), start_scheduler=False)
    async with bot:
        await bot.setup_hook()
        catalog = template(bot.tree)
    with path.open("wb") as out:
        write_po(out, catalog, width=110, sort_output=True)
    return len(catalog)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "governance/locales/commands.pot")
    print(f"{asyncio.run(_write_template(target))} command strings written to {target}")
