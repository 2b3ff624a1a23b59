"""Properties of ballots and tallies that must hold for any votes (hypothesis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from governance.decision_types import DECISION_TYPES, DecisionKind
from governance.errors import InvalidInput
from governance.tally import (
    OPTION_KINDS,
    DecisionRules,
    RawBallot,
    TallyResult,
    decode_ballot,
    encode_ballot,
    tally,
)

K = DecisionKind
Event = tuple[int, RawBallot | None]  # (voter, ballot); None withdraws the voter's ballot


@st.composite
def decision_rules(draw: st.DrawFn, kinds: Sequence[DecisionKind] = tuple(DecisionKind)) -> DecisionRules:
    kind = draw(st.sampled_from(kinds))
    option_count = draw(st.integers(2, 5))
    labels = tuple(f"Option {chr(ord('A') + i)}" for i in range(option_count))
    options = labels if kind in OPTION_KINDS else ()
    score_min = draw(st.integers(-2, 2))
    return DecisionRules(
        kind=kind,
        options=options,
        max_choices=draw(st.integers(1, option_count)) if kind is K.POLL else 1,
        score_min=score_min,
        score_max=draw(st.integers(score_min + 1, score_min + 5)),
        dots=draw(st.integers(1, 10)),
        target=draw(st.integers(1, 6)) if kind is K.COUNT else None,
        quorum=draw(st.sampled_from([None, Fraction(1, 2), Fraction(2, 3), Fraction(1)])),
    )


def raw_ballots(rules: DecisionRules) -> st.SearchStrategy[RawBallot]:
    """Any valid ballot a voter could cast under these rules."""
    kind, count = rules.kind, len(rules.options)
    indices = st.integers(0, count - 1)
    if kind is K.POLL:
        return st.lists(indices, min_size=1, max_size=rules.max_choices, unique=True)
    if kind is K.RANKED:
        return st.lists(indices, min_size=1, max_size=count, unique=True)
    if kind is K.SCORE:
        scores = st.integers(rules.score_min, rules.score_max)
        return st.lists(scores, min_size=count, max_size=count).map(lambda row: dict(enumerate(row)))
    if kind is K.DOT:
        # Place the dots one by one, so that every ballot is within the budget by construction.
        placed = st.lists(indices, min_size=1, max_size=rules.dots)
        return placed.map(lambda dots: dict(Counter(dots)))
    return st.sampled_from(DECISION_TYPES[kind].position_keys)


def replay(rules: DecisionRules, events: Sequence[Event]) -> dict[int, str]:
    """Each voter's current ballot after a history of votes, changes and withdrawals."""
    current: dict[int, str] = {}
    for voter, raw in events:
        if raw is None:
            current.pop(voter, None)
        else:
            current[voter] = encode_ballot(rules, raw)
    return current


def grouped(current: dict[int, str]) -> dict[str, int]:
    """What ``SELECT ballot, count(*) ... GROUP BY ballot`` returns."""
    return dict(Counter(current.values()))


@st.composite
def histories(draw: st.DrawFn, rules: DecisionRules) -> list[Event]:
    voters = draw(st.integers(1, 8))
    event = st.tuples(st.integers(0, voters - 1), st.none() | raw_ballots(rules))
    return draw(st.lists(event, max_size=25))


@given(data=st.data())
def test_result_depends_only_on_the_final_ballots(data: st.DataObject) -> None:
    rules = data.draw(decision_rules())
    events = data.draw(histories(rules))
    eligible = data.draw(st.integers(0, 12))
    final = replay(rules, events)

    # Another history with the same final ballots: the same events in another order, then each voter's
    # last event again, the voters in another order.
    last_events: dict[int, Event] = {}
    for voter, raw in events:
        last_events[voter] = (voter, raw)
    reshuffled = data.draw(st.permutations(events)) + data.draw(st.permutations(list(last_events.values())))
    assert replay(rules, reshuffled) == final

    counts = grouped(final)
    reordered = dict(reversed(list(grouped(replay(rules, reshuffled)).items())))
    assert tally(rules, counts, eligible) == tally(rules, reordered, eligible)


@given(data=st.data())
def test_withdrawing_equals_never_voting(data: st.DataObject) -> None:
    rules = data.draw(decision_rules())
    others = data.draw(histories(rules))
    eligible = data.draw(st.integers(0, 12))
    quitter = 99
    changes = data.draw(st.lists(raw_ballots(rules), min_size=1, max_size=3))
    quitter_events: list[Event] = [*((quitter, raw) for raw in changes), (quitter, None)]
    # The quitter's votes and withdrawal interleave with the others' events anywhere, each keeping its order.
    slots = data.draw(st.permutations([True] * len(quitter_events) + [False] * len(others)))
    theirs, mine = iter(others), iter(quitter_events)
    interleaved = [next(mine) if is_quitter else next(theirs) for is_quitter in slots]
    assert replay(rules, interleaved) == replay(rules, others)
    without = tally(rules, grouped(replay(rules, others)), eligible)
    assert tally(rules, grouped(replay(rules, interleaved)), eligible) == without


@given(data=st.data())
def test_encoding_is_canonical(data: st.DataObject) -> None:
    rules = data.draw(decision_rules())
    text = encode_ballot(rules, data.draw(raw_ballots(rules)))
    assert encode_ballot(rules, decode_ballot(rules, text)) == text


@given(data=st.data(), text=st.text(alphabet="0123456789,:-+ agreblockinut_", max_size=12))
def test_decode_accepts_exactly_the_canonical_strings(data: st.DataObject, text: str) -> None:
    rules = data.draw(decision_rules())
    try:
        decoded = decode_ballot(rules, text)
    except InvalidInput:
        return
    assert encode_ballot(rules, decoded) == text


@given(data=st.data())
def test_totals_add_up(data: st.DataObject) -> None:
    rules = data.draw(decision_rules(kinds=(K.POLL, K.SCORE, K.DOT)))
    ballots = data.draw(st.lists(raw_ballots(rules), max_size=12))
    result = tally(rules, dict(Counter(encode_ballot(rules, raw) for raw in ballots)), len(ballots))
    assert result.voters == len(ballots)
    spent = 0
    for raw in ballots:
        assert not isinstance(raw, str)
        spent += sum(raw.values()) if isinstance(raw, Mapping) else len(raw)
    assert sum(result.option_totals) == spent
    if result.winners:
        best = max(result.option_totals)
        assert {result.option_totals[i] for i in result.winners} == {best}
        assert len(result.winners) == result.option_totals.count(best)
    else:
        assert not ballots
    if rules.kind is K.SCORE and ballots:
        averages = result.option_averages
        assert [(avg or 0) * len(ballots) for avg in averages] == result.option_totals


@given(data=st.data())
def test_more_agreement_never_turns_a_pass_into_a_fail(data: st.DataObject) -> None:
    kinds = (K.CONSENSUS, K.SIGNIFICANT, K.QUORUM, K.EMERGENCY)
    rules = data.draw(decision_rules(kinds=kinds))
    counts = {key: data.draw(st.integers(0, 6)) for key in DECISION_TYPES[rules.kind].position_keys}
    eligible = data.draw(st.integers(0, 30))
    before = tally(rules, counts, eligible)
    after = tally(rules, {**counts, "agree": counts["agree"] + 1}, eligible)
    if before.passed:
        assert after.passed


# --- instant-runoff ------------------------------------------------------------------------------------


def reference_runoff(
    option_count: int, ballots: list[tuple[int, ...]]
) -> tuple[list[tuple[int, ...]], set[int]]:
    """A plain, voter-by-voter instant-runoff that recounts every round from scratch (same tie rules)."""
    first = [sum(1 for b in ballots if b[0] == option) for option in range(option_count)]
    borda = [0] * option_count
    for ballot in ballots:
        for place, option in enumerate(ballot):
            borda[option] += option_count - 1 - place
    standing = set(range(option_count))
    rounds = []
    while True:
        counts = [0] * option_count
        for ballot in ballots:
            choice = next((option for option in ballot if option in standing), None)
            if choice is not None:
                counts[choice] += 1
        rounds.append(tuple(counts))
        continuing = sum(counts)
        top = max(counts[o] for o in standing)
        if 2 * top > continuing:
            return rounds, {o for o in standing if counts[o] == top}
        low = min(counts[o] for o in standing)
        if low == top:
            return rounds, standing
        tied = [o for o in sorted(standing) if counts[o] == low]
        standing.remove(min(tied, key=lambda o: (first[o], borda[o], o)))


@st.composite
def rankings(draw: st.DrawFn) -> tuple[DecisionRules, list[list[int]]]:
    rules = draw(decision_rules(kinds=(K.RANKED,)))
    ballots = draw(st.lists(raw_ballots(rules), min_size=1, max_size=25))
    return rules, ballots  # type: ignore[return-value]


def ranked_tally(rules: DecisionRules, ballots: list[list[int]], scale: int = 1) -> TallyResult:
    counts = Counter(encode_ballot(rules, ballot) for ballot in ballots)
    return tally(rules, {ballot: n * scale for ballot, n in counts.items()}, 0)


@given(case=rankings())
def test_irv_rounds_are_consistent(case: tuple[DecisionRules, list[list[int]]]) -> None:
    rules, ballots = case
    result = ranked_tally(rules, ballots)
    out: set[int] = set()
    previous_exhausted = 0
    assert result.rounds[0].counts == tuple(result.option_totals)
    for number, round_ in enumerate(result.rounds, start=1):
        # Every ballot is counted for one option or exhausted, in every round.
        assert round_.continuing + round_.exhausted == len(ballots)
        assert round_.exhausted >= previous_exhausted
        previous_exhausted = round_.exhausted
        assert all(round_.counts[option] == 0 for option in out)
        standing = [option for option in range(len(rules.options)) if option not in out]
        if round_.eliminated is None:
            assert number == len(result.rounds)
        else:
            # The option eliminated had the fewest votes of those still standing.
            assert round_.counts[round_.eliminated] == min(round_.counts[o] for o in standing)
            out.add(round_.eliminated)
    assert result.rounds[-1].eliminated is None
    assert result.winners
    assert not set(result.winners) & out
    final = result.rounds[-1].counts
    if len(result.winners) == 1:
        assert 2 * final[result.winners[0]] > result.rounds[-1].continuing
    else:
        assert len({final[w] for w in result.winners}) == 1


@given(case=rankings())
def test_irv_matches_a_voter_by_voter_count(case: tuple[DecisionRules, list[list[int]]]) -> None:
    rules, ballots = case
    result = ranked_tally(rules, ballots)
    rounds, winners = reference_runoff(len(rules.options), [tuple(b) for b in ballots])
    assert [r.counts for r in result.rounds] == rounds
    assert set(result.winners) == winners


@given(case=rankings())
def test_irv_majority_of_first_preferences_wins_at_once(case: tuple[DecisionRules, list[list[int]]]) -> None:
    rules, ballots = case
    firsts = Counter(ballot[0] for ballot in ballots)
    leader, votes = firsts.most_common(1)[0]
    result = ranked_tally(rules, ballots)
    if 2 * votes > len(ballots):
        assert result.winners == (leader,)
        assert len(result.rounds) == 1


@given(case=rankings(), scale=st.integers(2, 1000))
def test_irv_depends_on_proportions_not_numbers(
    case: tuple[DecisionRules, list[list[int]]], scale: int
) -> None:
    rules, ballots = case
    once = ranked_tally(rules, ballots)
    scaled = ranked_tally(rules, ballots, scale)
    assert scaled.winners == once.winners
    assert [r.counts for r in scaled.rounds] == [tuple(c * scale for c in r.counts) for r in once.rounds]
    assert scaled.borda == [points * scale for points in once.borda]
