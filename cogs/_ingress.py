"""The one door typed text comes in by: every interaction's payload, before discord.py parses it.

What a member types (a command option, an autocomplete query, a form field) can hold characters no
database stores: U+0000, which PostgreSQL refuses in text, and lone UTF-16 surrogates, which are not
UTF-8 at all. Neither can mean anything to a reader, so they are dropped (NUL) or shown as U+FFFD
(surrogates) here, once, instead of being checked for in every command and every query.
"""

from __future__ import annotations

from typing import Any

from discord.shard import AutoShardedConnectionState

REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """`text` without NUL and with any lone surrogate replaced: text that SQLite and PostgreSQL both store
    and give back unchanged."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def scrub(value: Any) -> Any:
    """`value` (a JSON payload) with every string made storable, in place for lists and dicts."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = scrub(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = scrub(item)
    return value


class CoopConnectionState(AutoShardedConnectionState[Any]):
    """discord.py's connection state, with typed text made storable before anything reads it."""

    def parse_interaction_create(self, data: Any) -> None:
        # Only the interaction's own data is typed by the member (options, form values, the focused
        # autocomplete value); names and messages elsewhere in the payload come from Discord's records.
        if isinstance(data.get("data"), dict):
            scrub(data["data"])
        super().parse_interaction_create(data)
