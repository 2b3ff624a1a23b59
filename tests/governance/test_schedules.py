"""Recurring reminder schedules: what moderators may type, and when the reminders fire, DST included."""

from __future__ import annotations

import gettext
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance import i18n
from governance.errors import InvalidInput
from governance.schedules import (
    LAST_DAY,
    Cron,
    MonthlyOnDay,
    MonthlyOnWeekday,
    Schedule,
    Weekly,
    next_run,
    parse_schedule,
)
from governance.timeparse import wall_time_to_utc

BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
ZONES = [BERLIN, AUCKLAND, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def runs(
    schedule: Schedule, after: datetime, tz: ZoneInfo, count: int, anchor: datetime | None = None
) -> list[datetime]:
    """The next ``count`` runs, as naive local wall times."""
    found = []
    for _ in range(count):
        after = next_run(schedule, after=after, tz=tz, anchor=anchor)
        found.append(after.astimezone(tz).replace(tzinfo=None))
    return found


# --- reading schedules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "spec", "description"),
    [
        (
            "every monday 09:00",
            Weekly(frozenset({0}), time(9)),
            "every monday 09:00",
            "every Monday at 09:00",
        ),
        (
            "Every Monday at 9am",
            Weekly(frozenset({0}), time(9)),
            "every monday 09:00",
            "every Monday at 09:00",
        ),
        ("every day 18:00", Weekly(frozenset(range(7)), time(18)), "every day 18:00", "every day at 18:00"),
        ("daily 08:00", Weekly(frozenset(range(7)), time(8)), "every day 08:00", "every day at 08:00"),
        (
            "every weekday 09:00",
            Weekly(frozenset(range(5)), time(9)),
            "every weekday 09:00",
            "every weekday (Monday–Friday) at 09:00",
        ),
        (
            "every mon, thu 17:30",
            Weekly(frozenset({0, 3}), time(17, 30)),
            "every monday and thursday 17:30",
            "every Monday and Thursday at 17:30",
        ),
        (
            "every weekend 10:00",
            Weekly(frozenset({5, 6}), time(10)),
            "every saturday and sunday 10:00",
            "every Saturday and Sunday at 10:00",
        ),
        (
            "every 2 weeks on friday 16:00",
            Weekly(frozenset({4}), time(16), 2),
            "every 2 weeks on friday 16:00",
            "every 2 weeks on Friday at 16:00",
        ),
        (
            "every other week on fridays 4pm",
            Weekly(frozenset({4}), time(16), 2),
            "every 2 weeks on friday 16:00",
            "every 2 weeks on Friday at 16:00",
        ),
        (
            "every 3 weeks on weekdays 09:00",
            Weekly(frozenset(range(5)), time(9), 3),
            "every 3 weeks on monday, tuesday, wednesday, thursday and friday 09:00",
            "every 3 weeks on Monday, Tuesday, Wednesday, Thursday and Friday at 09:00",
        ),
        (
            "monthly on day 1 10:00",
            MonthlyOnDay(1, time(10)),
            "monthly on day 1 10:00",
            "on day 1 of every month at 10:00",
        ),
        (
            "every month on the 15th at 9:30",
            MonthlyOnDay(15, time(9, 30)),
            "monthly on day 15 09:30",
            "on day 15 of every month at 09:30",
        ),
        (
            "the first day of the month 10:00",
            MonthlyOnDay(1, time(10)),
            "monthly on day 1 10:00",
            "on day 1 of every month at 10:00",
        ),
        (
            "monthly on day 31 10:00",
            MonthlyOnDay(31, time(10)),
            "monthly on day 31 10:00",
            "on day 31 of every month (or the last day of shorter months) at 10:00",
        ),
        (
            "monthly on the last day 17:00",
            MonthlyOnDay(LAST_DAY, time(17)),
            "monthly on the last day 17:00",
            "on the last day of every month at 17:00",
        ),
        (
            "first monday of the month 10:00",
            MonthlyOnWeekday(1, 0, time(10)),
            "monthly on the first monday 10:00",
            "on the first Monday of every month at 10:00",
        ),
        (
            "last friday of every month at 4pm",
            MonthlyOnWeekday(LAST_DAY, 4, time(16)),
            "monthly on the last friday 16:00",
            "on the last Friday of every month at 16:00",
        ),
        (
            "0 9 * * 1",
            Cron("0 9 * * 1"),
            "0 9 * * 1",
            "on the cron schedule “0 9 * * 1” (minute hour day month weekday)",
        ),
        ("cron:  */15  9-17 * * MON-FRI", Cron("*/15 9-17 * * mon-fri"), "*/15 9-17 * * mon-fri", None),
    ],
)
def test_parse_schedule(text: str, expected: Schedule, spec: str, description: str | None) -> None:
    schedule = parse_schedule(text)
    assert schedule == expected
    assert schedule.spec == spec
    assert parse_schedule(schedule.spec) == schedule  # the database stores the spec
    if description is not None:
        assert schedule.describe() == description


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "Please give a schedule"),
        ("blah", "I couldn't read “blah” as a schedule. Try “every monday 09:00”"),
        ("tomorrow 09:00", "couldn't read"),
        ("every monday", "Please add a time of day at the end, e.g. “every monday 09:00”"),
        ("every day 25:00", "hours go 0–23"),
        ("every day 9:75", "minutes 0–59"),
        ("every day 9", "with minutes or am/pm"),
        ("monthly on day 1 10", "with minutes or am/pm"),
        ("monthly on day 1", "Please add a time of day at the end, e.g. “monthly on day 1 09:00”"),
        ("every funday 09:00", "“funday” as a day of the week"),
        ("every 0 weeks on friday 16:00", "“every 0 weeks” can't be used: choose 1 to 52 weeks"),
        ("every 53 weeks on friday 16:00", "choose 1 to 52 weeks"),
        ("every 2 weeks 16:00", "Please say which day"),
        ("monthly on day 32 10:00", "There is no day 32 in a month"),
        ("monthly on day 0 10:00", "There is no day 0"),
        ("fifth monday of the month 10:00", "first, second, third, fourth or last"),
        ("monthly on the blue moon 10:00", "as a day of the month"),
        ("0 9 * *", "A cron schedule has 5 fields"),
        ("0 0 9 * * 1", "has 6"),
        ("60 9 * * 1", "the minute field has “60”: use 0–59"),
        ("0 24 * * 1", "the hour field"),
        ("0 9 32 * *", "the day of the month field"),
        ("0 9 * 13 *", "the month field"),
        ("0 9 * * 8", "the day of the week field"),
        ("0 9 * * funday", "the day of the week field"),
        ("0 9 * * ²", "the day of the week field"),
        ("0 9 * * 1/²", "the day of the week field has the step “²”"),
        ("*/0 9 * * *", "step “0”"),
        ("0 17-9 * * *", "runs backwards"),
        ("0 0 30 2 *", "never runs"),
    ],
)
def test_parse_schedule_refuses(text: str, message_part: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_schedule(text)
    assert message_part in refused.value.message


# --- when they run ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        # 2026-06-10 is a Wednesday.
        ("every monday 09:00", datetime(2026, 6, 10, 12, 0), datetime(2026, 6, 15, 9, 0)),
        ("every wednesday 13:00", datetime(2026, 6, 10, 12, 0), datetime(2026, 6, 10, 13, 0)),
        ("every wednesday 12:00", datetime(2026, 6, 10, 12, 0), datetime(2026, 6, 17, 12, 0)),  # exactly at
        ("every day 18:00", datetime(2026, 6, 10, 18, 0), datetime(2026, 6, 11, 18, 0)),
        ("every weekday 09:00", datetime(2026, 6, 12, 9, 0), datetime(2026, 6, 15, 9, 0)),
        ("monthly on day 1 10:00", datetime(2026, 6, 10), datetime(2026, 7, 1, 10, 0)),
        ("monthly on day 31 10:00", datetime(2026, 2, 1), datetime(2026, 2, 28, 10, 0)),
        ("monthly on day 31 10:00", datetime(2026, 4, 1), datetime(2026, 4, 30, 10, 0)),
        ("monthly on day 31 10:00", datetime(2026, 5, 1), datetime(2026, 5, 31, 10, 0)),
        ("monthly on day 30 10:00", datetime(2028, 2, 1), datetime(2028, 2, 29, 10, 0)),  # leap year
        ("monthly on the last day 17:00", datetime(2026, 6, 10), datetime(2026, 6, 30, 17, 0)),
        ("first monday of the month 10:00", datetime(2026, 6, 10), datetime(2026, 7, 6, 10, 0)),
        ("first monday of the month 10:00", datetime(2026, 6, 1, 10, 0), datetime(2026, 7, 6, 10, 0)),
        ("second tuesday of the month 10:00", datetime(2026, 6, 1), datetime(2026, 6, 9, 10, 0)),
        ("fourth friday of the month 10:00", datetime(2026, 6, 1), datetime(2026, 6, 26, 10, 0)),
        ("last friday of the month 16:00", datetime(2026, 7, 1), datetime(2026, 7, 31, 16, 0)),
        ("0 9 * * 1", datetime(2026, 6, 10), datetime(2026, 6, 15, 9, 0)),  # 1 is Monday, as in cron
        ("0 9 * * 0", datetime(2026, 6, 10), datetime(2026, 6, 14, 9, 0)),  # 0 is Sunday
        ("0 9 * * 7", datetime(2026, 6, 10), datetime(2026, 6, 14, 9, 0)),  # and so is 7
        ("0 9 * * sat", datetime(2026, 6, 10), datetime(2026, 6, 13, 9, 0)),
        ("*/15 * * * *", datetime(2026, 6, 10, 12, 0), datetime(2026, 6, 10, 12, 15)),
        ("5/20 10 * * *", datetime(2026, 6, 10, 10, 30), datetime(2026, 6, 10, 10, 45)),
        ("30 8,17 * * mon-fri", datetime(2026, 6, 12, 17, 30), datetime(2026, 6, 15, 8, 30)),
        ("0 9 13 * 5", datetime(2026, 6, 10), datetime(2026, 6, 12, 9, 0)),  # both day fields: either one
        ("0 9 13 * 5", datetime(2026, 6, 12, 9, 0), datetime(2026, 6, 13, 9, 0)),
        ("0 9 */10 * *", datetime(2026, 6, 10), datetime(2026, 6, 11, 9, 0)),  # days 1, 11, 21, 31
        ("0 0 29 2 *", datetime(2026, 6, 10), datetime(2028, 2, 29, 0, 0)),
        ("0 12 1 jan,jul *", datetime(2026, 6, 10), datetime(2026, 7, 1, 12, 0)),
    ],
)
def test_next_run(spec: str, after: datetime, expected: datetime) -> None:
    result = next_run(parse_schedule(spec), after=after.replace(tzinfo=BERLIN), tz=BERLIN)
    assert result.tzinfo is UTC
    assert result.astimezone(BERLIN).replace(tzinfo=None) == expected


@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        # Auckland: NZDT (+13) ends on Sunday 5 April 2026, NZST (+12) ends on Sunday 27 September 2026.
        (AUCKLAND, datetime(2026, 3, 25), ["2026-03-30 09:00+13:00", "2026-04-06 09:00+12:00"]),
        (AUCKLAND, datetime(2026, 9, 20), ["2026-09-21 09:00+12:00", "2026-09-28 09:00+13:00"]),
        # Berlin: CEST (+2) from Sunday 29 March 2026 to Sunday 25 October 2026.
        (BERLIN, datetime(2026, 3, 25), ["2026-03-30 09:00+02:00", "2026-04-06 09:00+02:00"]),
        (BERLIN, datetime(2026, 3, 20), ["2026-03-23 09:00+01:00", "2026-03-30 09:00+02:00"]),
        (BERLIN, datetime(2026, 10, 20), ["2026-10-26 09:00+01:00", "2026-11-02 09:00+01:00"]),
    ],
)
def test_weekly_stays_at_local_time_over_dst(tz: ZoneInfo, after: datetime, expected: list[str]) -> None:
    schedule = parse_schedule("every monday 09:00")
    found = []
    moment = after.replace(tzinfo=tz)
    for _ in expected:
        moment = next_run(schedule, after=moment, tz=tz)
        found.append(moment)
    assert found == [datetime.fromisoformat(text) for text in expected]


@pytest.mark.parametrize(
    ("tz", "after", "expected_utc", "next_local"),
    [
        # Spring forward: 02:30 does not exist that night; it fires once, at the jump (03:00), then as usual.
        (BERLIN, datetime(2026, 3, 28), datetime(2026, 3, 29, 1, 0), datetime(2026, 4, 5, 2, 30)),
        (AUCKLAND, datetime(2026, 9, 26), datetime(2026, 9, 26, 14, 0), datetime(2026, 10, 4, 2, 30)),
        # Fall back: 02:30 happens twice that night; it fires once, at the first (summer-time) one.
        (BERLIN, datetime(2026, 10, 24), datetime(2026, 10, 25, 0, 30), datetime(2026, 11, 1, 2, 30)),
        (AUCKLAND, datetime(2026, 4, 4), datetime(2026, 4, 4, 13, 30), datetime(2026, 4, 12, 2, 30)),
    ],
)
def test_dst_gap_and_fold_fire_once(
    tz: ZoneInfo, after: datetime, expected_utc: datetime, next_local: datetime
) -> None:
    schedule = parse_schedule("every sunday 02:30")
    first = next_run(schedule, after=after.replace(tzinfo=tz), tz=tz)
    assert first == expected_utc.replace(tzinfo=UTC)
    second = next_run(schedule, after=first, tz=tz)
    assert second.astimezone(tz).replace(tzinfo=None) == next_local


def test_during_the_repeated_hour_a_fired_time_does_not_fire_again() -> None:
    # 02:45 CET is the second pass through the repeated hour: 02:30 already fired at 02:30 CEST.
    second_pass = datetime(2026, 10, 25, 1, 45, tzinfo=UTC)
    assert second_pass.astimezone(BERLIN).fold == 1
    result = next_run(parse_schedule("every sunday 02:30"), after=second_pass, tz=BERLIN)
    assert result.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 11, 1, 2, 30)


def test_several_times_in_a_gap_fire_once() -> None:
    schedule = parse_schedule("*/20 2 * * *")  # 02:00, 02:20, 02:40 — none exist on 29 March in Berlin
    assert runs(schedule, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), BERLIN, 3) == [
        datetime(2026, 3, 29, 3, 0),
        datetime(2026, 3, 30, 2, 0),
        datetime(2026, 3, 30, 2, 20),
    ]


# --- every N weeks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "first"),
    [
        (datetime(2026, 6, 10, 12, 0), datetime(2026, 6, 12, 16, 0)),  # Wednesday: this Friday
        (datetime(2026, 6, 12, 16, 0), datetime(2026, 6, 12, 16, 0)),  # exactly at a run: that one
        (datetime(2026, 6, 12, 16, 1), datetime(2026, 6, 19, 16, 0)),  # just missed: next Friday
        (datetime(2026, 6, 13, 9, 0), datetime(2026, 6, 19, 16, 0)),  # Saturday: next Friday
    ],
)
def test_every_two_weeks_counts_from_the_first_run_after_the_anchor(
    anchor: datetime, first: datetime
) -> None:
    schedule = parse_schedule("every 2 weeks on friday 16:00")
    anchor_utc = anchor.replace(tzinfo=BERLIN)
    before_anchor = anchor_utc - timedelta(microseconds=1)
    found = runs(schedule, before_anchor, BERLIN, 3, anchor=anchor_utc)
    assert found == [first, first + timedelta(weeks=2), first + timedelta(weeks=4)]
    # Any later ``after`` lands on the same fortnightly rhythm.
    later = next_run(schedule, after=local(BERLIN, 2027, 1, 1), tz=BERLIN, anchor=anchor_utc)
    assert (later.astimezone(BERLIN).date() - first.date()).days % 14 == 0


def test_every_two_weeks_on_two_days() -> None:
    schedule = parse_schedule("every 2 weeks on monday and friday 09:00")
    anchor = local(BERLIN, 2026, 6, 10, 12)  # a Wednesday: Friday 12 June is the first run
    assert runs(schedule, anchor, BERLIN, 4, anchor=anchor) == [
        datetime(2026, 6, 12, 9, 0),
        datetime(2026, 6, 22, 9, 0),
        datetime(2026, 6, 26, 9, 0),
        datetime(2026, 7, 6, 9, 0),
    ]


def test_every_n_weeks_needs_an_anchor() -> None:
    with pytest.raises(ValueError, match="anchor"):
        next_run(parse_schedule("every 2 weeks on friday 16:00"), after=local(BERLIN, 2026, 6, 10), tz=BERLIN)
    # Weekly schedules without an interval do not need one.
    next_run(parse_schedule("every friday 16:00"), after=local(BERLIN, 2026, 6, 10), tz=BERLIN)


def test_next_run_needs_an_aware_after() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run(parse_schedule("every friday 16:00"), after=datetime(2026, 6, 10), tz=BERLIN)


# --- properties -------------------------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
times_of_day = st.builds(time, st.integers(0, 23), st.integers(0, 59))
weekly_schedules = st.builds(
    Weekly, st.frozensets(st.integers(0, 6), min_size=1), times_of_day, st.integers(1, 5)
)
schedules = st.one_of(
    weekly_schedules,
    st.builds(MonthlyOnDay, st.one_of(st.integers(1, 31), st.just(LAST_DAY)), times_of_day),
    st.builds(MonthlyOnWeekday, st.sampled_from([1, 2, 3, 4, LAST_DAY]), st.integers(0, 6), times_of_day),
)


def exists(day: datetime, at: time, tz: ZoneInfo) -> bool:
    """Whether the wall time ``at`` exists on ``day``'s date in ``tz`` (it does not in a DST gap)."""
    wall = datetime.combine(day.date(), at)
    return wall_time_to_utc(wall, tz).astimezone(tz).replace(tzinfo=None) == wall


@given(schedules)
def test_spec_reads_back_to_the_same_schedule(schedule: Schedule) -> None:
    assert parse_schedule(schedule.spec) == schedule
    assert schedule.describe()


@given(schedules, moments, st.sampled_from(ZONES), moments)
def test_next_run_is_strictly_after_and_at_the_scheduled_wall_time(
    schedule: Schedule, after: datetime, tz: ZoneInfo, anchor: datetime
) -> None:
    result = next_run(schedule, after=after, tz=tz, anchor=anchor)
    assert result > after
    assert result.tzinfo is UTC
    local_result = result.astimezone(tz)
    (at,) = schedule.times()
    if local_result.time() != at:  # only when that wall time does not exist that day: fired at the jump
        assert not exists(local_result, at, tz)
        assert local_result.time() > at
        assert (result - timedelta(seconds=1)).astimezone(tz).utcoffset() != local_result.utcoffset()
    assert schedule.runs_on(local_result.date())


@given(weekly_schedules.filter(lambda s: len(s.weekdays) == 1), moments, st.sampled_from(ZONES), moments)
def test_weekly_runs_are_whole_weeks_apart_in_local_terms(
    schedule: Weekly, after: datetime, tz: ZoneInfo, anchor: datetime
) -> None:
    found = []
    for _ in range(4):
        after = next_run(schedule, after=after, tz=tz, anchor=anchor)
        found.append(after)
    assert found == sorted(set(found))  # strictly increasing
    days = [moment.astimezone(tz).date() for moment in found]
    assert all((later - earlier).days == 7 * schedule.every_weeks for earlier, later in pairwise(days))
    for moment in found:
        assert moment.astimezone(tz).time() == schedule.at or not exists(
            moment.astimezone(tz), schedule.at, tz
        )


@given(moments, st.sampled_from(ZONES))
def test_cron_agrees_with_the_natural_schedule(after: datetime, tz: ZoneInfo) -> None:
    assert next_run(parse_schedule("30 9 * * 1-5"), after=after, tz=tz) == next_run(
        parse_schedule("every weekday 09:30"), after=after, tz=tz
    )
    assert next_run(parse_schedule("0 10 1 * *"), after=after, tz=tz) == next_run(
        parse_schedule("monthly on day 1 10:00"), after=after, tz=tz
    )


def test_descriptions_and_refusals_are_said_in_the_reader_s_language(monkeypatch: pytest.MonkeyPatch) -> None:
    # Typed in English in every language; read in the reader's. The sentence frames come from the catalogue
    # (a stand-in German one here), weekday names, lists and times from CLDR.
    german = {
        "every {days} at {time}": "jeden {days} um {time}",
        "on the last {weekday} of every month at {time}": "am letzten {weekday} jedes Monats um {time}",
        "I couldn't read {text} as a day of the week. Use monday … sunday, “day”, “weekday” or “weekend”, "
        "e.g. “every monday and thursday 09:00”.": "Ich kann {text} nicht als Wochentag lesen.",
        "In the cron schedule {expression}, the {field} field has {value}: use {low}–{high} or names.": (
            "Im Cron-Zeitplan {expression} hat das Feld {field} den Wert {value}: "
            "nimm {low}–{high} oder Namen."
        ),
        "day of the week": "Wochentag",
    }

    class Catalogue(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return german.get(message, message)

    monkeypatch.setattr(
        i18n,
        "translations",
        lambda language, domain=i18n.DOMAIN: Catalogue() if language == "de" else gettext.NullTranslations(),
    )
    twice_a_week = parse_schedule("every monday and thursday 17:30")
    assert twice_a_week.describe("de") == "jeden Montag und Donnerstag um 17:30"
    assert twice_a_week.describe() == "every Monday and Thursday at 17:30"
    assert parse_schedule("last friday of the month 9am").describe("de-DE") == (
        "am letzten Freitag jedes Monats um 09:00"
    )
    # A schedule is a placeholder's value: said in the language of the sentence around it.
    assert (
        i18n._("Next: {schedule}", schedule=twice_a_week).render("de")
        == "Next: jeden Montag und Donnerstag um 17:30"
    )
    with pytest.raises(InvalidInput) as refused:
        parse_schedule("every funday 09:00")
    assert refused.value.localized("de") == "Ich kann “funday” nicht als Wochentag lesen."
    assert refused.value.message.startswith("I couldn't read “funday” as a day of the week.")
    with pytest.raises(InvalidInput) as refused:
        parse_schedule("0 9 * * funday")
    assert refused.value.localized("de") == (
        "Im Cron-Zeitplan “0 9 * * funday” hat das Feld Wochentag den Wert “funday”: nimm 0–7 oder Namen."
    )


def test_descriptions_name_days_and_times_the_language_s_way() -> None:
    # With whatever the catalogues hold: CLDR's names and times whichever the sentence's language.
    fortnightly = parse_schedule("every 2 weeks on monday and friday 16:00")
    assert "Montag und Freitag" in fortnightly.describe("de")
    assert "lunes y viernes" in fortnightly.describe("es")
    assert "16:00" in fortnightly.describe("fr")
    assert "4:00" in fortnightly.describe("el") and "μ.μ." in fortnightly.describe("el")
    assert fortnightly.describe("en") == "every 2 weeks on Monday and Friday at 16:00"
