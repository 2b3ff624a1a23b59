"""The decision register: what the cooperative decided, newest first, in one list. A closed proposal and a
closed funding round are both decisions the members made together (a round by where they put their money),
so both are kept here; a cancelled one is not, as nothing was decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, literal, null, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import col

from governance.i18n import SOURCE, Text, _, recorded, render
from governance.rounds import visible_from
from storage.database import Database
from storage.models import Decision, DecisionStatus, Round, RoundPhase
from storage.types import as_utc

REGISTER_PAGE_SIZE = 10

EntryKind = Literal["decision", "round"]


@dataclass(frozen=True)
class RegisterEntry:
    kind: EntryKind
    id: int
    title: str
    passed: bool | None  # a round neither passes nor fails: None
    outcome: str  # in English, as it is kept
    statement: str | None  # the outcome statement a moderator wrote, for a decision
    closed_at: datetime | None
    said: Text | str = ""  # the outcome to render in the reader's language (the English when not kept)

    def outcome_in(self, language: str) -> str:
        """The outcome in ``language`` (in English for a record closed before outcomes were kept as said)."""
        return str(render(self.said or self.outcome, language))

    @property
    def label(self) -> str:
        """How people refer to it: #12 for a decision (as everywhere), Round #3 for a round."""
        return self.label_in(SOURCE)

    def label_in(self, language: str) -> str:
        """The label in ``language`` ("Ronda #3")."""
        if self.kind == "decision":
            return f"#{self.id}"
        return _("Round #{number}", number=self.id).render(language)


def _matching(needle: str | None, *columns: Any) -> list[Any]:
    if not needle:
        return []
    return [
        or_(*(func.lower(func.coalesce(column, "")).contains(needle, autoescape=True) for column in columns))
    ]


async def register(
    db: Database,
    guild_id: int,
    *,
    search: str | None = None,
    page: int = 0,
    per_page: int = REGISTER_PAGE_SIZE,
) -> tuple[list[RegisterEntry], int]:
    """One page of the register (closed decisions and closed rounds, newest first, optionally those whose
    words match ``search``) and how many entries match in all."""
    needle = search.strip().lower()[:100] if search and search.strip() else None
    both = union_all(
        sa_select(
            literal("decision").label("kind"),
            col(Decision.id).label("id"),
            col(Decision.title).label("title"),
            col(Decision.passed).label("passed"),
            col(Decision.outcome).label("outcome"),
            col(Decision.outcome_said).label("said"),
            col(Decision.outcome_statement).label("statement"),
            func.coalesce(col(Decision.closed_at), col(Decision.closes_at)).label("closed_at"),
        ).where(
            col(Decision.guild_id) == guild_id,
            col(Decision.status) == DecisionStatus.CLOSED,
            *_matching(needle, Decision.title, Decision.outcome, Decision.outcome_statement),
        ),
        sa_select(
            literal("round").label("kind"),
            col(Round.id).label("id"),
            col(Round.title).label("title"),
            null().label("passed"),
            col(Round.outcome).label("outcome"),
            col(Round.outcome_said).label("said"),
            null().label("statement"),
            col(Round.closed_at).label("closed_at"),
        ).where(
            visible_from(guild_id),  # its own rounds, and its networks' rounds
            col(Round.phase) == RoundPhase.CLOSED.value,
            *_matching(needle, Round.title, Round.outcome),
        ),
    ).subquery()
    async with db.read() as session:
        # A union of two tables is plain SQLAlchemy Core: it runs on the session's connection.
        connection = await session.connection()
        total = (await connection.execute(sa_select(func.count()).select_from(both))).scalar_one()
        rows = await connection.execute(
            sa_select(both)
            .order_by(both.c.closed_at.desc(), both.c.kind, both.c.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
        entries = [
            RegisterEntry(
                kind=kind,
                id=ident,
                title=title,
                passed=None if passed is None else bool(passed),
                outcome=outcome or "Closed.",
                statement=statement,
                closed_at=as_utc(closed_at),
                said=recorded(said, outcome) or _("Closed."),
            )
            for kind, ident, title, passed, outcome, said, statement, closed_at in rows
        ]
    return entries, int(total)
