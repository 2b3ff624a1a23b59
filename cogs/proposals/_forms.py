"""Modals and short-lived selects: writing a proposal, giving a reason, filling a multi-option ballot."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal, CoopView, PagedView
from cogs._text import INPUT_LABEL_LIMIT, MODAL_TITLE_LIMIT, shorten
from cogs.proposals._render import reasons_embed
from governance.decision_types import DECISION_TYPES
from governance.decisions import MAX_REASON
from governance.errors import InvalidInput
from governance.i18n import N_, SOURCE, Text, _, translate
from governance.proposing import MAX_DETAILS, MAX_TITLE, ProposalDraft
from governance.records import Decision
from governance.tally import RawBallot

if TYPE_CHECKING:
    from cogs.proposals._cog import Proposals

FIELDS_PER_MODAL = 5
SELECT_TIMEOUT = 600.0

# The form's title, the field's label (Discord shows at most 45 characters) and its placeholder.
REASON_PROMPTS = {
    "block": (N_("Block"), N_("Why do you block?"), N_("What would have to change for you to agree?")),
    "objection": (N_("Objection"), N_("What is your objection?"), N_("And what would resolve it?")),
    "advice": (N_("Advice"), N_("Your advice to the proposer"), N_("What you would do, and why")),
}
# Any other position, where the proposal asks every voter for a reason: its label, and "Why?".
POSITION_LABELS = {
    position.key: position.label
    for decision_type in DECISION_TYPES.values()
    for position in decision_type.positions
}
OTHER_REASON_PROMPT = N_("Why?")
OTHER_REASON_HINT = N_("Every voter gives a reason here")


class ProposalForm(CoopModal):
    """The form a proposal is written in: its title and details, and its options for option kinds. A
    subclass says what a submission does with them (`written` reads them)."""

    def __init__(
        self, *, title: Text, about: Text, options: tuple[str, ...], ask_options: bool, language: str = SOURCE
    ) -> None:
        super().__init__(title=shorten(title.render(language), MODAL_TITLE_LIMIT), timeout=900)
        self.given_options = options
        self.title_input: discord.ui.TextInput[ProposalForm] = discord.ui.TextInput(
            label=_("Title").render(language),
            custom_id="title",
            max_length=MAX_TITLE,
            placeholder=_("What is being decided, in one line").render(language),
        )
        self.details_input: discord.ui.TextInput[ProposalForm] = discord.ui.TextInput(
            label=_("Details").render(language),
            custom_id="details",
            style=discord.TextStyle.paragraph,
            max_length=MAX_DETAILS,
            required=False,
            placeholder=about.render(language),
        )
        self.add_item(self.title_input)
        self.add_item(self.details_input)
        self.options_input: discord.ui.TextInput[ProposalForm] | None = None
        if ask_options:
            self.options_input = discord.ui.TextInput(
                label=_("Options, one per line").render(language),
                custom_id="options",
                style=discord.TextStyle.paragraph,
                max_length=2000,
                placeholder=_("Option A\nOption B\nOption C").render(language),
            )
            self.add_item(self.options_input)

    def written(self) -> tuple[str, str, tuple[str, ...]]:
        """The title, the details and the options as submitted (the options given with the command, when
        the form did not ask for them)."""
        options = self.given_options
        if self.options_input is not None:
            options = tuple(line for line in self.options_input.value.splitlines() if line.strip())
        return self.title_input.value, self.details_input.value, options


class NewProposalModal(ProposalForm):
    """Title and details (and options, for option kinds) of a new proposal."""

    def __init__(
        self, cog: Proposals, draft: ProposalDraft, *, ask_options: bool, language: str = SOURCE
    ) -> None:
        super().__init__(
            title=_("New proposal"),
            about=_("Context, the proposal itself, links to discussion"),
            options=draft.options,
            ask_options=ask_options,
            language=language,
        )
        self.cog = cog
        self.draft = draft

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        title, details, options = self.written()
        draft = dataclasses.replace(self.draft, title=title, details=details, options=options)
        await self.cog.publish_proposal(interaction, draft)


class ReasonModal(CoopModal):
    """Asked before a vote that needs a reason: a block, an objection, advice, or any position of a
    decision that asks every voter for a reason."""

    def __init__(self, cog: Proposals, decision_id: int, key: str, language: str = SOURCE) -> None:
        heading, prompt, hint = (
            translate(text, language)
            for text in REASON_PROMPTS.get(
                key, (POSITION_LABELS.get(key, "Vote"), OTHER_REASON_PROMPT, OTHER_REASON_HINT)
            )
        )
        title = _("{heading} on #{number}", heading=heading, number=decision_id).render(language)
        super().__init__(title=shorten(title, MODAL_TITLE_LIMIT), timeout=900)
        self.cog = cog
        self.decision_id = decision_id
        self.key = key
        self.reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
            label=prompt,
            placeholder=hint,
            custom_id="reason",
            style=discord.TextStyle.paragraph,
            max_length=MAX_REASON,
        )
        self.add_item(self.reason)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.cast_and_confirm(
            interaction, self.decision_id, choice=self.key, reason=self.reason.value
        )


class PollSelectView(CoopView):
    """An ephemeral select of the poll's options (up to the allowed number of choices)."""

    def __init__(self, cog: Proposals, decision: Decision, language: str = SOURCE) -> None:
        super().__init__(timeout=SELECT_TIMEOUT)
        assert decision.id is not None
        self.cog = cog
        self.decision_id = decision.id
        placeholder = (
            _("Choose up to {count}", count=decision.max_choices)
            if decision.max_choices > 1
            else _("Choose one")
        )
        select: discord.ui.Select[PollSelectView] = discord.ui.Select(
            placeholder=shorten(placeholder.render(language), 150),
            min_values=1,
            max_values=min(decision.max_choices, len(decision.options)),
            options=[
                discord.SelectOption(label=shorten(option, 100), value=str(index))
                for index, option in enumerate(decision.options)
            ],
        )
        select.callback = self._chosen  # type: ignore[method-assign]
        self.select = select
        self.add_item(select)

    async def _chosen(self, interaction: discord.Interaction[Any]) -> None:
        choice = [int(value) for value in self.select.values]
        await self.cog.cast_and_confirm(interaction, self.decision_id, choice=choice, edit=True)


class BallotFormModal(CoopModal):
    """Ranked, score and dot ballots: one field per option when they fit in a form, else one typed line."""

    def __init__(self, cog: Proposals, decision: Decision, language: str = SOURCE) -> None:
        assert decision.id is not None
        title = _("Your ballot on #{number}", number=decision.id).render(language)
        super().__init__(title=shorten(title, MODAL_TITLE_LIMIT), timeout=900)
        self.cog = cog
        self.decision_id = decision.id
        self.kind = decision.kind
        self.per_option: list[discord.ui.TextInput[BallotFormModal]] = []
        self.typed: discord.ui.TextInput[BallotFormModal] | None = None
        hint = {
            "ranked": _("rank (1 = first choice; blank = not ranked)"),
            "score": _("score from {low} to {high}", low=decision.score_min, high=decision.score_max),
            "dot": _("dots (you have {dots}; blank = 0)", dots=decision.dots),
        }[decision.kind].render(language)
        if len(decision.options) <= FIELDS_PER_MODAL:
            for index, option in enumerate(decision.options):
                field: discord.ui.TextInput[BallotFormModal] = discord.ui.TextInput(
                    label=shorten(option, INPUT_LABEL_LIMIT),
                    custom_id=f"option-{index}",
                    placeholder=hint,
                    max_length=6,
                    required=decision.kind == "score",
                )
                self.per_option.append(field)
                self.add_item(field)
        else:
            example = {
                "ranked": "3 > 1 > 2",
                "score": f"1:{decision.score_max}, 2:{decision.score_min}, 3:{decision.score_max}, …",
                "dot": "1:4, 3:4",
            }[decision.kind]
            self.typed = discord.ui.TextInput(
                label=_("Your ballot (options by number)").render(language),
                custom_id="ballot",
                style=discord.TextStyle.paragraph,
                placeholder=_("e.g. {example} — numbers as in the proposal", example=example).render(
                    language
                ),
                max_length=500,
            )
            self.add_item(self.typed)

    def _numbers(self) -> dict[int, int]:
        numbers: dict[int, int] = {}
        for index, field in enumerate(self.per_option):
            text = field.value.strip()
            if not text:
                continue
            try:
                numbers[index] = int(text)
            except ValueError:
                raise InvalidInput(
                    _(
                        "“{text}” for {option} is not a whole number.",
                        text=shorten(text, 10),
                        option=field.label,
                    )
                ) from None
        return numbers

    def ballot(self) -> RawBallot:
        numbers = self._numbers()
        if self.kind == "ranked":
            ranks = sorted(numbers.items(), key=lambda item: item[1])
            if any(rank < 1 for _, rank in ranks) or len({rank for _, rank in ranks}) != len(ranks):
                raise InvalidInput(
                    _("Give each ranked option a different rank: 1 for your first choice, then 2…")
                )
            return [index for index, _ in ranks]
        return numbers

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        if self.typed is not None:
            await self.cog.cast_and_confirm(interaction, self.decision_id, typed=self.typed.value)
        else:
            await self.cog.cast_and_confirm(interaction, self.decision_id, choice=self.ballot())


class ReasonsView(PagedView):
    """Turns the pages of the reasons shown by /proposal show; the pages are kept, no read per turn. It is
    sent as a followup: whoever sends it sets `message`."""

    def __init__(self, decision: Decision, pages: list[str], language: str = SOURCE) -> None:
        super().__init__(pages=len(pages), timeout=SELECT_TIMEOUT, language=language)
        self.decision = decision
        self.texts = pages
        self.language = language

    async def render_page(self) -> discord.Embed:
        return reasons_embed(self.decision, self.texts, self.page, self.language)
