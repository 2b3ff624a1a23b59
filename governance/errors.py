"""Domain errors: each carries a short message that is safe to show to the user as it is."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken or input was refused; ``message`` is user-safe and says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The user typed something the bot cannot use (bad duration, amount, timezone...)."""


class NotFound(DomainError):
    """The thing named does not exist in this cooperative (or belongs to another one)."""


class NotAllowed(DomainError):
    """The user may not do this (role, ownership, own request...)."""


class Conflict(DomainError):
    """The state changed or forbids the action (already closed, already voted, overdraw...)."""
