"""What was said, kept: a Text stored as JSON reads back as the same Text, and renders alike in every
language, nested values and all; a record kept before outcomes were stored so is said in its English."""

from __future__ import annotations

import json
from datetime import timedelta
from fractions import Fraction

import pytest

from governance.decision_types import DecisionKind
from governance.i18n import (
    LANGUAGES,
    LowerCased,
    Lowered,
    Text,
    Translated,
    _,
    _n,
    recorded,
    said_from_json,
)
from governance.money import Money
from governance.tally import DecisionRules, tally
from governance.timeparse import Duration


def _nested() -> Text:
    inner = _n("{count} objection stands.", "{count} objections stand.", 3)
    return _(
        "{verdict} {outcome} {kind} {label} {shouting} {amount} {late} {share} {ratio} {votes} {none}",
        verdict=_("Fails: {inner}", inner=inner),
        outcome=_n("{option} wins with {count} vote", "{option} wins with {count} votes", 2, option="Café"),
        kind=Lowered("Consent"),
        label=Translated("No objection"),
        shouting=LowerCased(_("Passes: no block.")),
        amount=Money(120050, "EUR"),
        late=Duration(timedelta(days=2, hours=3)),
        share="75%",
        ratio=Fraction(3, 4),
        votes=7,
        none=2.5,
    )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_text_kept_as_json_renders_as_it_did(language: str) -> None:
    text = _nested()
    stored = json.loads(json.dumps(text.to_json()))  # as the database gives it back
    again = said_from_json(stored)
    assert again.render(language) == text.render(language)
    assert str(again) == str(text)


def test_a_tallys_outcome_round_trips_and_a_value_it_cannot_keep_is_kept_as_its_english() -> None:
    rules = DecisionRules(kind=DecisionKind.SENSE_CHECK, quorum=Fraction(1, 2))
    result = tally(rules, {"looks_good": 1}, eligible=5)  # the quorum's sentence holds the kind's
    again = said_from_json(json.loads(json.dumps(result.said.to_json())))
    assert again == result.said
    assert {language: again.render(language) for language in LANGUAGES} == {
        language: result.said.render(language) for language in LANGUAGES
    }
    kept = said_from_json(json.loads(json.dumps(_("Ratio {ratio}.", ratio=Fraction(1, 3)).to_json())))
    assert kept.values == {"ratio": "1/3"} and str(kept) == "Ratio 1/3."


def test_a_record_without_what_was_said_is_said_in_its_english() -> None:
    assert recorded(None, "Passes: no objection stands.") == "Passes: no objection stands."
    assert recorded({"not": "a text"}, "Closed.") == "Closed."
    assert recorded(None, None) is None
    assert recorded(_("Passes: no block.").to_json(), "ignored") == _("Passes: no block.")
    with pytest.raises(ValueError, match="not a stored text"):
        said_from_json("Passes: no block.")
