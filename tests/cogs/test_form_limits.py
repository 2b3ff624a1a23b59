"""Every form the bot can build stays within Discord's limits, built with ordinary and with the longest
values it can be given: a title (45), a field's label (45), placeholder (100), a default no longer than the
field allows, lengths in order, at most five fields. discord.py does not check these for every field, and
Discord cuts or refuses what is over: a test that walks every form keeps a cut label from coming back."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import discord
import pytest

import cogs
from cogs._common import CoopModal
from cogs.funds._forms import RejectModal, RequestModal
from cogs.networks._forms import NetworkProposalModal
from cogs.onboarding._forms import CharterModal, ProfileModal
from cogs.proposals._forms import BallotFormModal, NewProposalModal, ProposalForm, ReasonModal
from cogs.rounds._forms import AmountModal, BucketModal, RoundModal
from governance import rounds
from governance.decision_types import DECISION_TYPES
from governance.funds import RequestPlan
from governance.i18n import LANGUAGES, _
from governance.membership import ProfileDraft
from governance.networks import NetworkDraft
from governance.proposing import ProposalDraft
from storage.models import MAX_ID, Decision, Fund

TITLE_LIMIT = 45
LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
VALUE_LIMIT = 4000
FIELDS_LIMIT = 5
LONG = "Ω" * 200  # longer than any name, title or label the bot may put in a form

NO_COG: Any = None
# discord.py 2.7 deprecates reading a text input's label (in favour of discord.ui.Label); this test reads it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:label is deprecated:DeprecationWarning"
)  # the forms only keep their cog, to call back on submit


def _decision(kind: str, options: int, label: str) -> Decision:
    return Decision(
        id=MAX_ID,
        guild_id=1,
        author_id=1,
        title=LONG,
        kind=kind,
        options=[f"{label} {n}" for n in range(options)],
        score_min=-10,
        score_max=100,
        dots=1000,
    )


def _fund(name: str) -> Fund:
    return Fund(id=MAX_ID, guild_id=1, name=name, name_key=name, currency="NZD", created_by=1)


def _profile(text: str) -> ProfileDraft:
    return ProfileDraft(display_name=text, what_they_do=text, skills=text, why=text, timezone=text)


# Every form, each built as it can be: ordinary and longest values. A new form must be added here.
BUILDERS: dict[type[CoopModal], list[Callable[[], CoopModal]]] = {
    ProposalForm: [lambda: ProposalForm(title=_("A form"), about=_("Context"), options=(), ask_options=True)],
    NetworkProposalModal: [
        lambda: NetworkProposalModal(NO_COG, None, NetworkDraft(title=""), ask_options=True),
        lambda: NetworkProposalModal(NO_COG, LONG, NetworkDraft(title=LONG, details=LONG), ask_options=False),
    ],
    NewProposalModal: [
        *(
            lambda language=language: NewProposalModal(
                NO_COG, ProposalDraft(title=""), ask_options=True, language=language
            )
            for language in LANGUAGES
        ),
        lambda: NewProposalModal(NO_COG, ProposalDraft(title=LONG, details=LONG * 20), ask_options=False),
    ],
    # The voting forms in every language coopbot speaks: each translation must fit Discord's limits too.
    ReasonModal: [
        lambda key=key, language=language: ReasonModal(NO_COG, MAX_ID, key, language)  # type: ignore[misc]
        for decision_type in DECISION_TYPES.values()
        for key in decision_type.position_keys
        for language in LANGUAGES
    ],
    BallotFormModal: [
        lambda kind=kind, count=count, language=language: BallotFormModal(  # type: ignore[misc]
            NO_COG, _decision(kind, count, LONG), language
        )
        for kind in ("ranked", "score", "dot")
        for count in (2, 5, 20)
        for language in LANGUAGES
    ],
    RequestModal: [
        lambda: RequestModal(NO_COG, RequestPlan(_fund("Commons"), 100, None, by_treasurer=True)),
        lambda: RequestModal(NO_COG, RequestPlan(_fund("Ω" * 80), 100, 200, by_treasurer=False)),
    ],
    RejectModal: [
        lambda: RejectModal(NO_COG, "request", 1),
        lambda: RejectModal(NO_COG, "contribution", MAX_ID),
    ],
    ProfileModal: [
        lambda: ProfileModal(NO_COG, 1, _profile(""), first=True),
        lambda: ProfileModal(NO_COG, 1, _profile(LONG * 30), first=False),
    ],
    CharterModal: [
        lambda: CharterModal(NO_COG, current="", version=None),
        lambda: CharterModal(NO_COG, current=LONG * 30, version=MAX_ID, decide=True),
    ],
    RoundModal: [
        lambda: RoundModal(NO_COG, rounds.RoundDraft(title="", fund=1, pot="1", ideas="1d", funding="1d"))
    ],
    BucketModal: [lambda: BucketModal(NO_COG, MAX_ID, ())],
    AmountModal: [
        lambda: AmountModal(NO_COG, 1, "10.00 NZD"),
        lambda: AmountModal(NO_COG, MAX_ID, "1,000,000,000,000.00 NZD"),
    ],
}


def _all_modals() -> set[type[CoopModal]]:
    """Every form class defined under cogs/."""
    found: set[type[CoopModal]] = set()
    for name in ("funds._forms", "networks._forms", "onboarding._forms", "proposals._forms", "rounds._forms"):
        module = __import__(f"{cogs.__name__}.{name}", fromlist=["_"])
        found |= {
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, CoopModal) and value is not CoopModal
        }
    return found


def test_every_form_is_walked() -> None:
    # By name: another test reloads the extensions, which makes new class objects.
    def names(forms: set[type[CoopModal]]) -> set[str]:
        return {f"{form.__module__}.{form.__qualname__}" for form in forms}

    assert names(_all_modals()) == names(set(BUILDERS)), "add the new form to BUILDERS"


def _problems(modal: discord.ui.Modal) -> list[str]:
    problems = []
    name = type(modal).__name__
    if not 1 <= len(modal.title) <= TITLE_LIMIT:
        problems.append(f"{name}: title {modal.title!r} is {len(modal.title)} characters")
    fields = [child for child in modal.children if isinstance(child, discord.ui.TextInput)]
    if not 1 <= len(modal.children) <= FIELDS_LIMIT:
        problems.append(f"{name}: {len(modal.children)} fields")
    for field in fields:
        # What Discord receives (discord.py 2.7 deprecates reading a text input's label directly).
        sent: dict[str, Any] = dict(field.to_component_dict())
        where = f"{name}.{sent['custom_id']}"
        label = str(sent.get("label") or "")
        if not 1 <= len(label) <= LABEL_LIMIT:
            problems.append(f"{where}: label {label!r} is {len(label)} characters")
        if len(sent.get("placeholder") or "") > PLACEHOLDER_LIMIT:
            problems.append(f"{where}: placeholder is {len(sent['placeholder'])} characters")
        longest = int(sent.get("max_length") or VALUE_LIMIT)
        if longest > VALUE_LIMIT:
            problems.append(f"{where}: max_length {longest}")
        if int(sent.get("min_length") or 0) > longest:
            problems.append(f"{where}: min_length {sent['min_length']} over max_length {longest}")
        if len(sent.get("value") or "") > longest:
            problems.append(f"{where}: a default of {len(sent['value'])} characters in a field of {longest}")
    return problems


FORMS = sorted(BUILDERS, key=lambda form: form.__name__)


@pytest.mark.parametrize("form", FORMS, ids=[form.__name__ for form in FORMS])
async def test_each_form_within_discords_limits(form: type[CoopModal]) -> None:
    problems = [problem for build in BUILDERS[form] for problem in _problems(build())]
    assert not problems, "\n".join(problems)


def test_the_objection_form_asks_in_words_that_fit() -> None:
    labels = {
        ReasonModal(NO_COG, 1, key).reason.to_component_dict()["label"]
        for key in ("objection", "block", "advice")
    }
    assert labels == {"What is your objection?", "Why do you block?", "Your advice to the proposer"}
