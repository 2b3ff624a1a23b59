"""Discord's size limits, and cutting text to them visibly: Discord rejects a message, embed, form or choice
that is too long, so whatever the bot writes from what people typed is cut to fit, with an ellipsis."""

from __future__ import annotations

import re

import discord

MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_LIMIT = 1024
MODAL_TITLE_LIMIT = 45
INPUT_LABEL_LIMIT = 45
THREAD_NAME_LIMIT = 100
AUTOCOMPLETE_LIMIT = 25  # choices an autocomplete may offer


def shorten(text: str, limit: int, *, more: str = "…") -> str:
    """Cut `text` to `limit` characters, visibly (never let Discord reject it)."""
    return text if len(text) <= limit else text[: max(0, limit - len(more))].rstrip() + more


def one_line(text: str, limit: int) -> str:
    """`text` on one line (a newline would break a list's layout), visibly cut to `limit` characters."""
    return shorten(" ".join(text.split()), limit)


# A number then "." at the start of a line makes Discord's Markdown a numbered list (and renumber it).
_NUMBERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def plain(text: str) -> str:
    """User text (a title, an option, a name, a reason) shown exactly as typed: Markdown escaped, so that
    Discord never bolds, links, quotes, heads or renumbers it. The one place that escapes what people typed;
    mentions are left alone (allowed_mentions decides whom they ping)."""
    return _NUMBERED.sub(r"\1\\\2", discord.utils.escape_markdown(text))


def numbered(number: int, text: str) -> str:
    """A line of the bot's own numbered list ("1. Tuesday") written so that Markdown keeps the number."""
    return f"{number}\\. {text}"
