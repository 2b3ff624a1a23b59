"""Times, durations and timezones typed by members, and Enspiral's working-day minimums."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import InvalidInput
from governance.timeparse import (
    add_working_days,
    check_minimum,
    discord_timestamp,
    earliest_close,
    format_duration,
    parse_duration,
    parse_time_of_day,
    parse_timezone,
    parse_when,
    suggest_timezones,
    timezone_names,
    wall_time_to_utc,
    working_days_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=BERLIN).astimezone(UTC)  # Wednesday 10:00 in Berlin (CEST)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN).astimezone(UTC)


# --- durations --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("48h", timedelta(hours=48)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("2w 3d", timedelta(days=17)),
        ("1h, 30m", timedelta(minutes=90)),
        ("1 hour and 30 minutes", timedelta(minutes=90)),
        ("90 minutes", timedelta(minutes=90)),
        ("2 days", timedelta(days=2)),
        ("1 week", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        ("  3D ", timedelta(days=3)),
        ("366d", timedelta(days=366)),
    ],
)
def test_parse_duration_reads(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "Please give a duration"),
        ("3x", "couldn't read “3x” as a duration"),
        ("three days", "couldn't read"),
        ("3 months", "couldn't read"),
        ("30s", "couldn't read"),
        ("0m", "longer than zero"),
        ("0d 0h", "longer than zero"),
        ("-3d", "must be positive"),
        ("367d", "longer than 366 days"),
        ("99999999999999w", "longer than 366 days"),
    ],
)
def test_parse_duration_refuses(text: str, message_part: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_duration(text)
    assert message_part in refused.value.message
    if "couldn't read" in message_part:
        assert "30m, 48h, 3d, 1w" in refused.value.message  # says what is accepted


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(days=2, hours=3), "2 days 3 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=1, minutes=1), "1 hour 1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(seconds=30), "30 seconds"),
        (timedelta(minutes=10, seconds=29), "10 minutes"),
        (timedelta(0), "0 seconds"),
        (-timedelta(hours=2), "-2 hours"),
    ],
)
def test_format_duration(span: timedelta, expected: str) -> None:
    assert format_duration(span) == expected


@given(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=366)))
def test_formatted_durations_read_back_to_the_minute(span: timedelta) -> None:
    text = format_duration(span).replace(" ", "")  # "2days3hours" is a valid duration too
    assert abs(parse_duration(text) - span) <= timedelta(seconds=30)


# --- times of day and moments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", time(9)), ("9:30", time(9, 30)), ("17:30", time(17, 30)), ("5pm", time(17)),
     ("9:30 am", time(9, 30)), ("12am", time(0)), ("12pm", time(12)), ("noon", time(12)), ("9", time(9))],
)  # fmt: skip
def test_parse_time_of_day(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize("text", ["25:00", "24:00", "9:60", "13pm", "0am", "nine", "9:5"])
def test_parse_time_of_day_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_time_of_day(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", NOW + timedelta(days=3)),
        ("in 2h", NOW + timedelta(hours=2)),
        ("in 1d12h", NOW + timedelta(days=1, hours=12)),
        ("tomorrow 9:00", berlin(2026, 6, 11, 9, 0)),
        ("tomorrow at 9am", berlin(2026, 6, 11, 9, 0)),
        ("10:00 tomorrow", berlin(2026, 6, 11, 10, 0)),
        ("tomorrow", berlin(2026, 6, 11, 9, 0)),  # the default time
        ("today 17:30", berlin(2026, 6, 10, 17, 30)),
        ("17:30", berlin(2026, 6, 10, 17, 30)),  # still ahead today
        ("09:00", berlin(2026, 6, 11, 9, 0)),  # passed today, so tomorrow
        ("monday 09:00", berlin(2026, 6, 15, 9, 0)),
        ("next monday 09:00", berlin(2026, 6, 15, 9, 0)),
        ("wed 11:00", berlin(2026, 6, 10, 11, 0)),  # today, later
        ("wednesday 09:00", berlin(2026, 6, 17, 9, 0)),  # today, but passed
        ("friday", berlin(2026, 6, 12, 9, 0)),
        ("noon friday", berlin(2026, 6, 12, 12, 0)),
        ("2026-12-01", berlin(2026, 12, 1, 9, 0)),
        ("2026-12-01 10:00", berlin(2026, 12, 1, 10, 0)),
        ("2026-12-01T10:00", berlin(2026, 12, 1, 10, 0)),
        ("2026-12-01T10:00:30", berlin(2026, 12, 1, 10, 0, 30)),
        ("2026-12-01T10:00Z", datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
        ("2026-12-01T10:00+02:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("1 Dec 2026 10:00", berlin(2026, 12, 1, 10, 0)),
        ("December 1 10:00", berlin(2026, 12, 1, 10, 0)),
        ("dec 1, 2026 at 5pm", berlin(2026, 12, 1, 17, 0)),
        ("1st of december", berlin(2026, 12, 1, 9, 0)),
        ("january 5", berlin(2027, 1, 5, 9, 0)),  # no year: the next one ahead
        ("June 10 11:00", berlin(2026, 6, 10, 11, 0)),
    ],
)
def test_parse_when_reads(text: str, expected: datetime) -> None:
    result = parse_when(text, now=NOW, tz=BERLIN)
    assert result == expected
    assert result.tzinfo is UTC


def test_parse_when_default_time_is_a_parameter() -> None:
    assert parse_when("2026-12-01", now=NOW, tz=BERLIN, default_time=time(12)) == berlin(2026, 12, 1, 12, 0)


def test_parse_when_durations_are_elapsed_time_across_dst() -> None:
    friday = berlin(2026, 3, 27, 10, 0)  # CET; clocks go forward on Sunday
    assert parse_when("3d", now=friday, tz=BERLIN) == friday + timedelta(hours=72)
    assert parse_when("3d", now=friday, tz=BERLIN).astimezone(BERLIN).hour == 11


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "Please say when"),
        ("3x", "I couldn't read “3x” as a time. Try 30m, 48h, 3d, 1w"),
        ("yesterday", "couldn't read"),
        ("1/12/2026", "couldn't read"),  # day/month order differs between countries
        ("tomorrow 9", "couldn't read"),
        ("today 9:00", "That time is in the past (<t:"),
        ("2026-06-10", "in the past"),
        ("2020-01-01 10:00", "in the past"),
        ("2026-02-30", "isn't a date in the calendar"),
        ("feb 30", "isn't a date in the calendar"),
        ("tomorrow 25:00", "hours go 0–23"),
        ("0m", "longer than zero"),
        ("in 0h", "longer than zero"),
        ("-3d", "positive"),
        ("2027-12-01", "more than 366 days ahead"),
        ("400d", "longer than 366 days"),
        ("9999-12-31 23:59", "more than 366 days ahead"),
        ("2026-12-01T10:00+25:00", "impossible UTC offset"),
    ],
)
def test_parse_when_refuses(text: str, message_part: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_when(text, now=NOW, tz=BERLIN)
    assert message_part in refused.value.message


@pytest.mark.parametrize("text", ["9999-12-31 23:59", "0001-01-01T00:00+01:00"])
def test_parse_when_refuses_dates_beyond_the_calendar(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_when(text, now=NOW, tz=ZoneInfo("America/New_York"))


def test_parse_when_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("3d", now=datetime(2026, 6, 10), tz=BERLIN)


# --- daylight saving --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "wall", "expected_utc", "why"),
    [
        (BERLIN, datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 0), "gap: the jump, 03:00 CEST"),
        (BERLIN, datetime(2026, 3, 29, 3, 0), datetime(2026, 3, 29, 1, 0), "just after the gap"),
        (BERLIN, datetime(2026, 3, 29, 1, 59), datetime(2026, 3, 29, 0, 59), "just before the gap"),
        (BERLIN, datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30), "fold: first, CEST"),
        (AUCKLAND, datetime(2026, 9, 27, 2, 30), datetime(2026, 9, 26, 14, 0), "gap: the jump, 03:00 NZDT"),
        (AUCKLAND, datetime(2026, 4, 5, 2, 30), datetime(2026, 4, 4, 13, 30), "fold: first, NZDT"),
        (
            ZoneInfo("Australia/Lord_Howe"),
            datetime(2026, 10, 4, 2, 15),
            datetime(2026, 10, 3, 15, 30),
            "30 min",
        ),
    ],
)
def test_wall_time_to_utc_settles_dst(tz: ZoneInfo, wall: datetime, expected_utc: datetime, why: str) -> None:
    assert wall_time_to_utc(wall, tz) == expected_utc.replace(tzinfo=UTC), why


@pytest.mark.parametrize(
    ("tz", "text", "expected_local"),
    [
        (BERLIN, "2026-03-29 02:30", datetime(2026, 3, 29, 3, 0)),
        (BERLIN, "2026-10-25 02:30", datetime(2026, 10, 25, 2, 30)),
        (AUCKLAND, "2026-09-27 02:30", datetime(2026, 9, 27, 3, 0)),
        (AUCKLAND, "2026-04-05 02:30", datetime(2026, 4, 5, 2, 30)),
    ],
)
def test_parse_when_in_dst_changes(tz: ZoneInfo, text: str, expected_local: datetime) -> None:
    result = parse_when(text, now=datetime(2026, 3, 1, tzinfo=UTC), tz=tz)
    local = result.astimezone(tz)
    assert local.replace(tzinfo=None) == expected_local
    assert local.fold == 0  # a repeated time is its first occurrence


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.sampled_from([BERLIN, AUCKLAND, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]),
)
def test_wall_time_to_utc_is_exact_except_in_gaps(wall: datetime, tz: ZoneInfo) -> None:
    instant = wall_time_to_utc(wall, tz)
    back = instant.astimezone(tz).replace(tzinfo=None)
    if back != wall:  # only in a gap: then it is the jump, a little later than asked
        assert wall < back <= wall + timedelta(hours=1)
        before = (instant - timedelta(seconds=1)).astimezone(tz)
        assert before.utcoffset() != instant.astimezone(tz).utcoffset()
    assert wall_time_to_utc(wall + timedelta(minutes=1), tz) >= instant  # never goes backwards


# --- timezones --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Pacific/Auckland", "Pacific/Auckland"),
        ("pacific/auckland", "Pacific/Auckland"),
        ("  EUROPE/BERLIN ", "Europe/Berlin"),
        ("america/new york", "America/New_York"),
        ("UTC", "UTC"),
    ],
)
def test_parse_timezone(name: str, expected: str) -> None:
    assert parse_timezone(name).key == expected


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "Europe/Berln", "localtime", "../etc/passwd"])
def test_parse_timezone_refuses(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_timezone(name)
    assert "Europe/Berlin" in refused.value.message  # shows what a good name looks like


def test_parse_timezone_suggests_the_zone_of_a_city() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_timezone("Auckland")
    assert "Did you mean Pacific/Auckland?" in refused.value.message


def test_timezone_names() -> None:
    names = timezone_names()
    assert names == sorted(names)
    assert {"Europe/Berlin", "Pacific/Auckland", "UTC"} <= set(names)
    assert "localtime" not in names
    names.clear()  # the cache is not the caller's list
    assert timezone_names()


@pytest.mark.parametrize(
    ("query", "first"),
    [("auck", "Pacific/Auckland"), ("BERL", "Europe/Berlin"), ("new york", "America/New_York"),
     ("new_y", "America/New_York")],
)  # fmt: skip
def test_suggest_timezones_best_first(query: str, first: str) -> None:
    assert suggest_timezones(query)[0] == first


def test_suggest_timezones_ranks_city_prefix_first_and_limits() -> None:
    suggestions = suggest_timezones("lon")
    assert all("lon" in name.lower() for name in suggestions)
    city_prefixed = [name.rsplit("/", 1)[-1].lower().startswith("lon") for name in suggestions]
    assert city_prefixed == sorted(city_prefixed, reverse=True)  # all the city matches come first
    assert "Europe/London" in suggestions
    assert len(suggest_timezones("a")) == 25
    assert len(suggest_timezones("a", limit=3)) == 3
    assert len(suggest_timezones("")) == 25
    assert suggest_timezones("zzzz") == []


# --- Discord timestamps -----------------------------------------------------------------------------------


def test_discord_timestamp() -> None:
    moment = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert discord_timestamp(moment) == "<t:1796115600:f>"
    assert discord_timestamp(moment.astimezone(AUCKLAND), "R") == "<t:1796115600:R>"
    with pytest.raises(ValueError, match="style"):
        discord_timestamp(moment, "x")
    with pytest.raises(ValueError, match="aware"):
        discord_timestamp(datetime(2026, 12, 1))


# --- working days -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (datetime(2026, 6, 12, 10, 0), 3, datetime(2026, 6, 17, 10, 0)),  # Friday + 3 = Wednesday
        (datetime(2026, 6, 13, 10, 0), 3, datetime(2026, 6, 18, 10, 0)),  # Saturday: from Monday, Thursday
        (datetime(2026, 6, 14, 23, 0), 1, datetime(2026, 6, 16, 23, 0)),  # Sunday: from Monday, Tuesday
        (datetime(2026, 6, 8, 9, 0), 5, datetime(2026, 6, 15, 9, 0)),  # Monday + 5 = next Monday
        (datetime(2026, 6, 8, 9, 0), 12, datetime(2026, 6, 24, 9, 0)),
        (datetime(2026, 6, 11, 9, 0), 0, datetime(2026, 6, 11, 9, 0)),
        (datetime(2026, 6, 13, 9, 0), 0, datetime(2026, 6, 15, 9, 0)),
        (datetime(2026, 3, 27, 10, 0), 3, datetime(2026, 4, 1, 10, 0)),  # over the DST change: same wall time
    ],
)
def test_add_working_days(start: datetime, days: int, expected: datetime) -> None:
    result = add_working_days(start.replace(tzinfo=BERLIN), days, BERLIN)
    assert result.astimezone(BERLIN).replace(tzinfo=None) == expected
    assert result.tzinfo is UTC


def test_working_days_follow_the_guild_timezone() -> None:
    # Friday 23:00 in UTC is already Saturday in Auckland: counting starts on the Monday there.
    friday_night_utc = datetime(2026, 6, 12, 23, 0, tzinfo=UTC)
    local = add_working_days(friday_night_utc, 1, AUCKLAND).astimezone(AUCKLAND)
    assert (local.weekday(), local.hour) == (1, 11)  # Tuesday 11:00 NZST


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (datetime(2026, 6, 12, 9, 0), 0),  # before the start
        (datetime(2026, 6, 15, 9, 59), 0),
        (datetime(2026, 6, 15, 10, 0), 1),
        (datetime(2026, 6, 17, 9, 59), 2),
        (datetime(2026, 6, 17, 10, 0), 3),
        (datetime(2026, 6, 20, 12, 0), 5),  # Saturday after
        (datetime(2026, 7, 10, 10, 0), 20),
    ],
)
def test_working_days_between(end: datetime, expected: int) -> None:
    friday = datetime(2026, 6, 12, 10, 0, tzinfo=BERLIN)
    assert working_days_between(friday, end.replace(tzinfo=BERLIN), BERLIN) == expected


@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=300),
    st.sampled_from([BERLIN, AUCKLAND]),
)
def test_working_days_between_inverts_add_working_days(start: datetime, days: int, tz: ZoneInfo) -> None:
    end = add_working_days(start, days, tz)
    assert end.astimezone(tz).weekday() < 5
    assert working_days_between(start, end, tz) == days


# --- minimums ---------------------------------------------------------------------------------------------


def test_check_minimum_refuses_too_soon_with_the_earliest_time() -> None:
    friday = berlin(2026, 6, 12, 10, 0)
    earliest = berlin(2026, 6, 17, 10, 0)
    with pytest.raises(InvalidInput) as refused:
        check_minimum(
            friday,
            friday + timedelta(days=3),
            min_working_days=3,
            tz=BERLIN,
            subject="A significant decision",
        )
    assert refused.value.message == (
        "A significant decision stays open at least 3 working days (Monday–Friday): "
        f"choose a closing time at <t:{int(earliest.timestamp())}:f> or later."
    )
    check_minimum(friday, earliest, min_working_days=3, tz=BERLIN)  # exactly the minimum is fine


def test_check_minimum_takes_the_later_of_both_rules() -> None:
    monday = berlin(2026, 6, 15, 10, 0)
    assert earliest_close(monday, min_duration=timedelta(days=7), min_working_days=3, tz=BERLIN) == (
        monday + timedelta(days=7)
    )
    with pytest.raises(InvalidInput) as refused:
        check_minimum(monday, monday + timedelta(days=6), min_duration=timedelta(days=7), tz=BERLIN)
    assert refused.value.message.startswith("This decision stays open at least 7 days: ")
    check_minimum(monday, monday + timedelta(hours=1), tz=BERLIN)  # no minimum at all
    # Without a working-day rule a weekend opening is not pushed to Monday.
    saturday = berlin(2026, 6, 13, 10, 0)
    assert earliest_close(saturday, min_duration=timedelta(hours=1), tz=BERLIN) == saturday + timedelta(
        hours=1
    )


def test_check_minimum_shows_a_minute_that_passes() -> None:
    # Discord shows minutes only; the time offered must be accepted when the member picks it.
    opens = berlin(2026, 6, 15, 10, 0) + timedelta(seconds=37)
    with pytest.raises(InvalidInput) as refused:
        check_minimum(opens, opens, min_duration=timedelta(days=1), tz=BERLIN)
    shown = berlin(2026, 6, 16, 10, 1)
    assert f"<t:{int(shown.timestamp())}:f>" in refused.value.message
    check_minimum(opens, shown, min_duration=timedelta(days=1), tz=BERLIN)


@pytest.mark.parametrize("text", ["2026-12-01 10:00:60", "2026-12-01T10:00:99", "2027-01-01 00:00:60"])
def test_seconds_past_59_are_refused_clearly(text: str) -> None:
    with pytest.raises(InvalidInput, match="seconds go from 00 to 59"):
        parse_when(text, now=datetime(2026, 11, 26, 9, tzinfo=UTC), tz=ZoneInfo("Pacific/Auckland"))


def test_refusals_say_durations_and_names_in_the_reader_s_language() -> None:
    # The frames wait for the catalogues; the durations (and a timezone's alternatives) are CLDR's already.
    now = datetime(2026, 6, 15, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput) as refused:
        parse_when("2028-01-01", now=now, tz=BERLIN)
    assert "366 days ahead" in refused.value.message
    assert "366 Tage" in refused.value.localized("de")
    with pytest.raises(InvalidInput) as refused:
        check_minimum(now, now, min_working_days=2, min_duration=timedelta(days=1), tz=BERLIN)
    assert refused.value.message.startswith(
        "This decision stays open at least 2 working days (Monday–Friday) and 1 day: "
    )
    assert "1 día" in refused.value.localized("es")
