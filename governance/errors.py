"""Domain errors: each carries a short message that is safe to show to the user as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governance.i18n import Text


class DomainError(Exception):
    """A rule was broken or input was refused; ``message`` is user-safe and says what to do (in English;
    ``localized`` says it in the reader's language where the message is in the catalogue)."""

    def __init__(self, message: str | Text) -> None:
        super().__init__(str(message))
        self.text = message
        self.message = str(message)

    def localized(self, language: str) -> str:
        from governance.i18n import render

        return str(render(self.text, language))


class InvalidInput(DomainError):
    """The user typed something the bot cannot use (bad duration, amount, timezone...)."""


class NotFound(DomainError):
    """The thing named does not exist in this cooperative (or belongs to another one)."""


class NotAllowed(DomainError):
    """The user may not do this (role, ownership, own request...)."""


class Conflict(DomainError):
    """The state changed or forbids the action (already closed, already voted, overdraw...)."""
