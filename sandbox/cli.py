"""The sandbox's own slash command (/sandbox advance) and its command line (`coopbot sandbox`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from governance.errors import DomainError
from governance.timeparse import parse_duration

if TYPE_CHECKING:
    pass
from governance.i18n import LANGUAGES, language_of
from sandbox.runner import MAX_ADVANCE, Options, Sandbox
from sandbox.state import DEFAULT_DATA_DIR, SandboxError

log = logging.getLogger("coopbot.sandbox")


def parse_advance(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text, maximum=MAX_ADVANCE)
    except DomainError as error:
        raise SandboxError(f"--advance: {error.message}") from None


def _check_runtime() -> None:
    """The preview is an optional extra: say how to get it rather than fail on an import."""
    try:
        import simcord
        from simcord.preview import _require_preview_runtime

        _require_preview_runtime()
    except ImportError as error:
        raise SandboxError(_MISSING_EXTRA) from error
    except Exception as error:
        if error.__class__.__name__ == "SetupError":
            raise SandboxError(f"{_MISSING_EXTRA}\n({error})") from error
        raise
    del simcord


_MISSING_EXTRA = (
    "The sandbox needs SimCord's preview (the `sandbox` extra). Install it with\n"
    "    .venv/bin/pip install -e '.[sandbox]'\n"
    "or run `make sandbox`, which does it."
)


class _KnownNoise(logging.Filter):
    """discord.py's warnings that are true of every SimCord run and mean nothing for the sandbox: voice
    libraries not installed (coopbot uses no voice) and a client state SimCord makes without intents."""

    NOISE = ("voice will NOT be supported", "Guilds intent seems to be disabled")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


def run(
    *,
    fresh: bool = False,
    advance: str | None = None,
    port: int = 0,
    data_dir: Path | str | None = None,
    language: str | None = None,
) -> int:
    """Run the sandbox until Ctrl-C (or the page's "End preview session"). Returns the exit status."""
    for name in ("discord.client", "discord.state"):
        logging.getLogger(name).addFilter(_KnownNoise())
    try:
        _check_runtime()
        if not 0 <= port <= 65535:
            raise SandboxError("--port must be between 0 (any free port) and 65535.")
        options = Options(
            fresh=fresh,
            advance=parse_advance(advance),
            port=port,
            data_dir=Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR,
            language=_language(language),
        )
        return asyncio.run(_main(options))
    except SandboxError as error:
        print(f"coopbot sandbox: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130


async def _main(options: Options) -> int:
    sandbox = Sandbox(options)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def stop() -> None:
        # The first Ctrl-C stops cleanly; with the handlers gone, a second one interrupts at once.
        for signum in signals:
            loop.remove_signal_handler(signum)
        sandbox.stop()

    for signum in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop)
    try:
        return await sandbox.run()
    finally:
        for signum in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m sandbox` (the same as `coopbot sandbox`)."""
    parser = argparse.ArgumentParser(prog="sandbox", description="Try coopbot in a simulated Discord.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(
        fresh=args.fresh, advance=args.advance, port=args.port, data_dir=args.data_dir, language=args.language
    )


def _language(code: str | None) -> str | None:
    """A language the sandbox can show ("es", "pt", "pt_BR", "el"…), or None for English."""
    if code is None or not code.strip():
        return None
    language = language_of(code.strip())
    if language == "en" and not code.strip().lower().startswith("en"):
        spoken = ", ".join(sorted(LANGUAGES))
        raise SandboxError(f"--language: coopbot speaks {spoken}; {code.strip()!r} is not one of them.")
    return None if language == "en" else language


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fresh", action="store_true", help="start again from the demo cooperative")
    parser.add_argument(
        "--advance", metavar="DURATION", help="move the sandbox's time forward first, e.g. 1d"
    )
    parser.add_argument("--port", type=int, default=0, help="serve the page on this port (default: any free)")
    parser.add_argument(
        "--language",
        metavar="CODE",
        help="show the demo cooperative in another language: es, pt (Brazil), fr, de or el",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where the sandbox keeps its files (default: {DEFAULT_DATA_DIR})",
    )
