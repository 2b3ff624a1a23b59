"""Every slash command a message names exists (issue 15): the text the bot can send (every string in cogs/,
governance/ and sandbox/, docstrings aside) is read for "/command sub option:value" and each mention is
resolved against the bot's real command tree, so a message never sends a member to a command that is not
there, or to an option the command does not have."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from discord import app_commands

from bot import CoopBot
from sandbox import sandbox_commands

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "cogs").rglob("*.py")),
    *sorted((ROOT / "governance").rglob("*.py")),
    *sorted((ROOT / "sandbox").rglob("*.py")),
]
# "/word word…" where a slash command starts: not in a URL, a file path, a mention or a ratio.
MENTION = re.compile(r"(?<![\w/<:.>])/([a-z][a-z_-]*(?![\w/-])(?: [a-z][a-z_-]*:?[^\s`]*)*)")

Node = app_commands.Command[Any, ..., Any] | app_commands.Group


@dataclass(frozen=True)
class Text:
    where: str
    text: str


def texts() -> list[Text]:
    """Every string constant (f-strings' literal parts included) that is not a docstring."""
    found: list[Text] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and (body := node.body)
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found.append(Text(f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def children(node: Node) -> dict[str, Node]:
    return {child.name: child for child in node.commands} if isinstance(node, app_commands.Group) else {}


def problems_of(mention: str, roots: dict[str, Node], subcommand_names: set[str]) -> list[str]:
    """What is wrong with one mention: an unknown command, a subcommand that is not there, an option the
    command has not. A word after a complete command that is no subcommand name anywhere is prose."""
    words = mention.split(" ")
    node = roots.get(words[0])
    if node is None:
        return [f"/{words[0]} is not a command"]
    path = [words[0]]
    for word in words[1:]:
        option, colon, _ = word.partition(":")
        if colon:
            if isinstance(node, app_commands.Group):
                return [f"/{' '.join(path)} is a group: it takes no option {option}:"]
            if option not in {parameter.name for parameter in node.parameters}:
                return [f"/{' '.join(path)} has no option {option}:"]
            continue
        child = children(node).get(word)
        if child is not None:
            node, path = child, [*path, word]
            continue
        if word in subcommand_names:
            return [f"/{' '.join(path)} has no subcommand {word}"]
        break
    return []


async def test_every_command_a_message_names_exists(simcord_bot: CoopBot, simcord_env: Any) -> None:
    roots: dict[str, Node] = {
        command.name: command
        for command in simcord_bot.tree.get_commands()
        if isinstance(command, app_commands.Command | app_commands.Group)
    }
    roots["sandbox"] = sandbox_commands(cast(Any, None))  # the sandbox's own group, added only there
    names: set[str] = set()
    for root in roots.values():
        if isinstance(root, app_commands.Group):
            names.update(command.name for command in root.walk_commands())
    names -= set(roots)  # a root's name after another command is prose ("/coop setup" then "coop")

    seen = 0
    problems: list[str] = []
    for text in texts():
        for mention in MENTION.findall(text.text):
            seen += 1
            problems.extend(f"{text.where}: {problem}" for problem in problems_of(mention, roots, names))
    assert seen >= 40  # the scan reads the real messages
    assert not problems, "\n".join(problems)


def test_the_reader_catches_what_it_must() -> None:
    """The rule on known cases, so that a silent reader cannot pass the test above."""
    leaf: Node = app_commands.Command(name="charter", description="…", callback=_noop)
    group = app_commands.Group(name="coop", description="…")
    group.add_command(app_commands.Command(name="setup", description="…", callback=_setup))
    roots: dict[str, Node] = {"charter": leaf, "coop": group}
    names = {"setup", "show"}
    assert problems_of("charter show and agree", roots, names) == ["/charter has no subcommand show"]
    assert problems_of("charter to read it", roots, names) == []
    assert problems_of("coop show", roots, names) == ["/coop has no subcommand show"]
    assert problems_of("coop setup currency:NZD", roots, names) == []
    assert problems_of("coop setup colour:red", roots, names) == ["/coop setup has no option colour:"]
    assert problems_of("proposals list", roots, names) == ["/proposals is not a command"]
    assert MENTION.findall("see https://discord.com/channels/1/2, /etc/timezone, <@1> 3/4, /coop setup") == [
        "coop setup"
    ]


async def _noop(interaction: Any) -> None:
    return None


async def _setup(interaction: Any, currency: str) -> None:
    return None
