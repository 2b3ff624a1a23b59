"""Recurring schedules for governance reminders ("every monday 09:00", "monthly on day 1 10:00", cron).

A ``Schedule`` is a frozen value. Its ``spec`` is canonical text that ``parse_schedule`` reads back to an
equal schedule, so the database stores the text. ``next_run`` turns a schedule into UTC instants. Times are
wall-clock times in the guild's timezone, so "every monday 09:00" stays at 09:00 local on both sides of a
daylight-saving change. A time the change skips (02:30 on the night clocks jump 02:00 → 03:00) fires once, at
the jump (03:00). A time the change repeats (02:30 when clocks go back 03:00 → 02:00) fires once, at its first
occurrence.

Cron is evaluated here rather than by APScheduler 3: its ``CronTrigger.from_crontab`` reads day-of-week 0 as
Monday, where cron means Sunday.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from governance.errors import InvalidInput
from governance.i18n import N_, SOURCE, Text, Translated, _, _n, babel_locale, language_of
from governance.timeparse import (
    CLOCK_PATTERN,
    WEEKDAY_NAMES,
    WEEKDAY_NUMBERS,
    parse_time_of_day,
    wall_time_to_utc,
)

LAST_DAY = -1
"""``MonthlyOnDay.day`` / ``MonthlyOnWeekday.nth`` meaning "the last one of the month"."""

MAX_WEEKS = 52

# What to type stays English in every language: it is what the parser reads.
_EXAMPLES = _(
    "Try “every monday 09:00”, “every weekday 09:00”, “every 2 weeks on friday 16:00”, "
    "“monthly on day 1 10:00”, “first monday of the month 10:00” or cron like “0 9 * * 1”."
)
_WORKING_DAYS = frozenset(range(5))
_WEEKEND = frozenset({5, 6})
_ALL_DAYS = frozenset(range(7))
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", LAST_DAY: "last"}
# How far next_run looks ahead. The rarest valid schedule is a cron for 29 February: up to 8 years apart.
_SEARCH_DAYS = 9 * 366


@dataclass(frozen=True)
class Schedule(ABC):
    """A recurring schedule of wall-clock times; see the subclasses."""

    @property
    @abstractmethod
    def spec(self) -> str:
        """Canonical text: ``parse_schedule(s.spec) == s``."""

    @abstractmethod
    def description(self) -> Text:
        """What members read: "every Monday at 09:00", in whichever language it is rendered."""

    def describe(self, language: str = SOURCE) -> str:
        """The description in ``language`` (English by default): "every Monday at 09:00", "jeden Montag um
        09:00" (weekday names and the time of day in the language's own forms, from CLDR)."""
        return self.description().render(language)

    def render(self, language: str) -> str:
        """A schedule as a placeholder's value is its description, in the reader's language."""
        return self.describe(language)

    @abstractmethod
    def times(self) -> tuple[time, ...]:
        """The times of day it runs, sorted (naive wall-clock times)."""

    @abstractmethod
    def runs_on(self, day: date) -> bool:
        """Whether it runs on this local date (for a schedule repeating every N weeks: in some week)."""

    def _day_filter(self, tz: ZoneInfo, anchor: datetime | None) -> Callable[[date], bool]:
        return self.runs_on


@dataclass(frozen=True)
class Weekly(Schedule):
    """On some weekdays (Monday = 0) at one time, every week or every ``every_weeks`` weeks."""

    weekdays: frozenset[int]
    at: time
    every_weeks: int = 1

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= _ALL_DAYS:
            raise ValueError(f"weekdays must be a non-empty set of 0–6, not {sorted(self.weekdays)}")
        if not 1 <= self.every_weeks <= MAX_WEEKS:
            raise ValueError(f"every_weeks must be 1–{MAX_WEEKS}")
        _check_time(self.at)

    @property
    def spec(self) -> str:
        if self.every_weeks == 1:
            return f"every {_days_phrase(self.weekdays)} {_clock(self.at)}"
        days = _join(WEEKDAY_NAMES[day] for day in sorted(self.weekdays))
        return f"every {self.every_weeks} weeks on {days} {_clock(self.at)}"

    def description(self) -> Text:
        names, at = _Weekdays(tuple(sorted(self.weekdays))), _Clock(self.at)
        if self.every_weeks > 1:
            return _n(
                "every {count} week on {days} at {time}",
                "every {count} weeks on {days} at {time}",
                self.every_weeks,
                days=names,
                time=at,
            )
        if self.weekdays == _ALL_DAYS:
            return _("every day at {time}", time=at)
        if self.weekdays == _WORKING_DAYS:
            return _("every weekday (Monday–Friday) at {time}", time=at)
        return _("every {days} at {time}", days=names, time=at)

    def times(self) -> tuple[time, ...]:
        return (self.at,)

    def runs_on(self, day: date) -> bool:
        return day.weekday() in self.weekdays

    def _day_filter(self, tz: ZoneInfo, anchor: datetime | None) -> Callable[[date], bool]:
        if self.every_weeks == 1:
            return self.runs_on
        if anchor is None:
            raise ValueError("a schedule repeating every N weeks needs an anchor (when it was created)")
        # The first weekly occurrence at or after the anchor is a run; its week (Monday to Sunday, local)
        # is an "on" week, and so is every every_weeks-th week before and after it.
        first = next_run(replace(self, every_weeks=1), after=anchor - timedelta(microseconds=1), tz=tz)
        first_monday = _monday_of(first.astimezone(tz).date())

        def runs_on(day: date) -> bool:
            weeks_apart = (_monday_of(day) - first_monday).days // 7
            return self.runs_on(day) and weeks_apart % self.every_weeks == 0

        return runs_on


@dataclass(frozen=True)
class MonthlyOnDay(Schedule):
    """On one day of every month (1–31 or ``LAST_DAY``). Day 29–31 falls on the last day of shorter months,
    so a reminder never silently skips a month."""

    day: int
    at: time

    def __post_init__(self) -> None:
        if not (1 <= self.day <= 31 or self.day == LAST_DAY):
            raise ValueError("day must be 1–31 or LAST_DAY")
        _check_time(self.at)

    @property
    def spec(self) -> str:
        day = "the last day" if self.day == LAST_DAY else f"day {self.day}"
        return f"monthly on {day} {_clock(self.at)}"

    def description(self) -> Text:
        at = _Clock(self.at)
        if self.day == LAST_DAY:
            return _("on the last day of every month at {time}", time=at)
        if self.day > 28:
            return _(
                "on day {day} of every month (or the last day of shorter months) at {time}",
                day=self.day,
                time=at,
            )
        return _("on day {day} of every month at {time}", day=self.day, time=at)

    def times(self) -> tuple[time, ...]:
        return (self.at,)

    def runs_on(self, day: date) -> bool:
        last = _days_in_month(day)
        return day.day == (last if self.day == LAST_DAY else min(self.day, last))


@dataclass(frozen=True)
class MonthlyOnWeekday(Schedule):
    """On the nth (1–4 or ``LAST_DAY``) given weekday of every month: "first monday of the month"."""

    nth: int
    weekday: int
    at: time

    def __post_init__(self) -> None:
        if self.nth not in _ORDINAL_WORDS or self.weekday not in _ALL_DAYS:
            raise ValueError("nth must be 1–4 or LAST_DAY and weekday 0–6")
        _check_time(self.at)

    @property
    def spec(self) -> str:
        return f"monthly on the {_ORDINAL_WORDS[self.nth]} {WEEKDAY_NAMES[self.weekday]} {_clock(self.at)}"

    def description(self) -> Text:
        # One whole sentence per ordinal: languages make "first" agree with the weekday.
        weekday, at = _Weekdays((self.weekday,)), _Clock(self.at)
        return {
            1: _("on the first {weekday} of every month at {time}", weekday=weekday, time=at),
            2: _("on the second {weekday} of every month at {time}", weekday=weekday, time=at),
            3: _("on the third {weekday} of every month at {time}", weekday=weekday, time=at),
            4: _("on the fourth {weekday} of every month at {time}", weekday=weekday, time=at),
            LAST_DAY: _("on the last {weekday} of every month at {time}", weekday=weekday, time=at),
        }[self.nth]

    def times(self) -> tuple[time, ...]:
        return (self.at,)

    def runs_on(self, day: date) -> bool:
        if day.weekday() != self.weekday:
            return False
        if self.nth == LAST_DAY:
            return day.day + 7 > _days_in_month(day)
        return (day.day - 1) // 7 + 1 == self.nth


@dataclass(frozen=True)
class Cron(Schedule):
    """A standard 5-field cron expression: minute hour day-of-month month day-of-week (0 or 7 = Sunday).

    Fields take ``*``, numbers, ranges ``1-5``, steps ``*/15`` or ``1-10/2``, lists, and jan–dec / sun–sat.
    As in Vixie cron, when both day fields are restricted a day matching either one runs.
    """

    expression: str
    _minutes: frozenset[int] = field(init=False, repr=False, compare=False)
    _hours: frozenset[int] = field(init=False, repr=False, compare=False)
    _days: frozenset[int] = field(init=False, repr=False, compare=False)
    _months: frozenset[int] = field(init=False, repr=False, compare=False)
    _weekdays: frozenset[int] = field(init=False, repr=False, compare=False)  # Python numbering, Monday = 0
    _days_restricted: bool = field(init=False, repr=False, compare=False)
    _weekdays_restricted: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = self.expression.lower().split()
        if len(fields) != 5:
            raise InvalidInput(
                _n(
                    "A cron schedule has 5 fields (minute hour day-of-month month day-of-week), "
                    "e.g. “0 9 * * 1” for Mondays at 09:00; {expression} has {count}.",
                    "A cron schedule has 5 fields (minute hour day-of-month month day-of-week), "
                    "e.g. “0 9 * * 1” for Mondays at 09:00; {expression} has {count}.",
                    len(fields),
                    expression=_quote(self.expression),
                )
            )
        minute, hour, day, month, weekday = fields
        values = {
            "_minutes": _cron_field(minute, N_("minute"), 0, 59, {}, self.expression),
            "_hours": _cron_field(hour, N_("hour"), 0, 23, {}, self.expression),
            "_days": _cron_field(day, N_("day of the month"), 1, 31, {}, self.expression),
            "_months": _cron_field(month, N_("month"), 1, 12, _CRON_MONTHS, self.expression),
            # cron counts Sunday as 0 (and 7), Python as 6.
            "_weekdays": frozenset(
                (number - 1) % 7
                for number in _cron_field(weekday, N_("day of the week"), 0, 7, _CRON_DAYS, self.expression)
            ),
            # Vixie cron: a field starting with "*" (even "*/2") does not restrict the day.
            "_days_restricted": not day.startswith(("*", "?")),
            "_weekdays_restricted": not weekday.startswith(("*", "?")),
        }
        object.__setattr__(self, "expression", " ".join(fields))
        for name, value in values.items():
            object.__setattr__(self, name, value)
        if not self._weekdays_restricted and not any(
            day <= _days_in_month(date(2000, month, 1)) for month in self._months for day in self._days
        ):
            raise InvalidInput(
                _(
                    "The cron schedule {expression} never runs: no month in it has that day.",
                    expression=_quote(self.expression),
                )
            )

    @property
    def spec(self) -> str:
        return self.expression

    def description(self) -> Text:
        return _(
            "on the cron schedule “{expression}” (minute hour day month weekday)", expression=self.expression
        )

    def times(self) -> tuple[time, ...]:
        return tuple(time(hour, minute) for hour in sorted(self._hours) for minute in sorted(self._minutes))

    def runs_on(self, day: date) -> bool:
        if day.month not in self._months:
            return False
        on_day = day.day in self._days
        on_weekday = day.weekday() in self._weekdays
        if self._days_restricted and self._weekdays_restricted:
            return on_day or on_weekday
        return on_day and on_weekday


def next_run(
    schedule: Schedule, *, after: datetime, tz: ZoneInfo, anchor: datetime | None = None
) -> datetime:
    """The first run strictly after ``after``, as UTC; the schedule's times are read in ``tz``.

    ``anchor`` (when the schedule was created) is required by ``Weekly`` schedules repeating every N weeks:
    the first occurrence at or after it is a run, and runs repeat every N weeks from there. Other schedules
    ignore it. Pass the previous run as ``after`` to get the one after it.
    """
    if after.tzinfo is None:
        raise ValueError("after must be a timezone-aware datetime")
    runs_on = schedule._day_filter(tz, anchor)
    times = schedule.times()
    local_after = after.astimezone(tz)
    # A wall time earlier on the same date can never map to an instant after ``after`` (the mapping never
    # goes backwards), so the first day starts at the first time not earlier than ``after``'s wall time.
    first_index = bisect_left(times, local_after.time().replace(fold=0))
    day = local_after.date()
    for offset in range(_SEARCH_DAYS):
        if runs_on(day):
            for at in times[first_index if offset == 0 else 0 :]:
                candidate = wall_time_to_utc(datetime.combine(day, at), tz)
                if candidate > after:
                    return candidate
        day += timedelta(days=1)
    # Unreachable for a parsed schedule: Cron refuses expressions that never run.
    raise ValueError(f"{schedule.spec!r} has no run in the next {_SEARCH_DAYS} days")


# --- parsing -------------------------------------------------------------------------------------------

_CRON_LIKE_RE = re.compile(r"(?:cron:?\s+)?([\d*?][\d*,/?-]*\s+[\d*?][\d*,/?-]*(?:\s+\S+)*)")
_HEAD_AND_CLOCK_RE = re.compile(rf"(?P<head>.+?)\s+(?:at\s+)?(?P<clock>{CLOCK_PATTERN})")
_EVERY_WEEKS_RE = re.compile(
    r"(?:every|each)\s+(?:(?P<weeks>\d+)\s+weeks?|(?P<other>other\s+week|fortnight))(?:\s+on\s+(?P<days>.+))?"
)
_WEEKLY_RE = re.compile(r"(?:every|each|weekly\s+on|on)\s+(?P<days>.+)|(?P<daily>daily)")
_MONTHLY_PREFIX_RE = re.compile(r"(?:monthly|(?:every|each)\s+month)\s+on\s+(?:the\s+)?(?P<rest>.+)")
_MONTHLY_SUFFIX_RE = re.compile(
    r"(?:(?:every|each|on)\s+)?(?:the\s+)?(?P<rest>.+?)\s+of\s+(?:the|every|each)\s+month"
)
_DAY_OF_MONTH_RE = re.compile(r"(?:day\s+)?(?P<day>\d+)(?:st|nd|rd|th)?(?:\s+day)?")
_NTH_RE = re.compile(r"(?P<nth>first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th))\s+(?P<what>[a-z]+)")


def parse_schedule(text: str) -> Schedule:
    """Read a schedule a moderator typed; the examples in ``_EXAMPLES`` all work, and so do
    "every day 18:00", "every monday and thursday 9am", "every other week on friday 16:00",
    "every month on the 15th at 9:30", "monthly on the last day 17:00", "last friday of the month 16:00"."""
    cleaned = " ".join(text.lower().split()).rstrip(".")
    if not cleaned:
        raise InvalidInput(_("Please give a schedule. {examples}", examples=_EXAMPLES))
    cron = _CRON_LIKE_RE.fullmatch(cleaned)
    if cron is not None:
        return Cron(cron[1])
    split = _HEAD_AND_CLOCK_RE.fullmatch(cleaned)
    if split is None:
        try:
            complete_but_the_time = _parse_head(cleaned, time(0)) is not None
        except InvalidInput:
            complete_but_the_time = False
        if complete_but_the_time:
            raise InvalidInput(
                _("Please add a time of day at the end, e.g. {example}.", example=f"“{cleaned} 09:00”")
            )
        if re.fullmatch(r".+\s\d{1,2}", cleaned):  # "every day 9": a bare hour is too easily a day number
            raise InvalidInput(_("Please write the time of day with minutes or am/pm, e.g. 09:00 or 9am."))
        raise InvalidInput(_unreadable(text))
    schedule = _parse_head(split["head"], parse_time_of_day(split["clock"]))
    if schedule is None:
        raise InvalidInput(_unreadable(text))
    return schedule


def _unreadable(text: str) -> Text:
    return _("I couldn't read {text} as a schedule. {examples}", text=_quote(text), examples=_EXAMPLES)


def _parse_head(head: str, at: time) -> Schedule | None:
    """The schedule that ``head`` (the text before the time of day) describes, or None if it is not one."""
    every_weeks = _EVERY_WEEKS_RE.fullmatch(head)
    if every_weeks is not None:
        weeks = 2 if every_weeks["other"] else int(every_weeks["weeks"])
        if not 1 <= weeks <= MAX_WEEKS:
            raise InvalidInput(
                _(
                    "{typed} can't be used: choose 1 to {most} weeks, e.g. “every 2 weeks on friday 16:00”.",
                    typed=f"“every {weeks} weeks”",
                    most=MAX_WEEKS,
                )
            )
        if every_weeks["days"] is None:
            raise InvalidInput(
                _("Please say which day, e.g. {example}.", example=f"“every {weeks} weeks on friday 16:00”")
            )
        return Weekly(_parse_days(every_weeks["days"]), at, weeks)
    monthly = _MONTHLY_PREFIX_RE.fullmatch(head) or _MONTHLY_SUFFIX_RE.fullmatch(head)
    if monthly is not None:
        return _parse_day_of_month(monthly["rest"], at)
    weekly = _WEEKLY_RE.fullmatch(head)
    if weekly is not None:
        return Weekly(_ALL_DAYS if weekly["daily"] else _parse_days(weekly["days"]), at)
    return None


def _parse_day_of_month(text: str, at: time) -> Schedule:
    """ "15th", "day 1", "last day", "first monday" → the monthly schedule it names."""
    day_number = _DAY_OF_MONTH_RE.fullmatch(text)
    if day_number is not None:
        day = int(day_number["day"])
        if not 1 <= day <= 31:
            raise InvalidInput(
                _(
                    "There is no day {day} in a month: choose 1–31 or “the last day”, "
                    "e.g. “monthly on day 1 10:00”.",
                    day=day,
                )
            )
        return MonthlyOnDay(day, at)
    nth = _NTH_RE.fullmatch(text)
    if nth is not None:
        ordinal = LAST_DAY if nth["nth"] == "last" else _ORDINALS.get(nth["nth"])
        if nth["what"] == "day" and ordinal is not None:
            return MonthlyOnDay(ordinal, at)
        weekday = _weekday_number(nth["what"])
        if weekday is not None:
            if ordinal is None:
                raise InvalidInput(_("Choose the first, second, third, fourth or last weekday of the month."))
            return MonthlyOnWeekday(ordinal, weekday, at)
    raise InvalidInput(
        _(
            "I couldn't read {text} as a day of the month. Try “monthly on day 15 09:00”, "
            "“monthly on the last day 17:00” or “first monday of the month 10:00”.",
            text=_quote(text),
        )
    )


def _parse_days(text: str) -> frozenset[int]:
    """ "monday", "mondays and thursdays", "mon, wed, fri", "day", "weekday", "weekend" → weekday numbers."""
    days: set[int] = set()
    for word in filter(None, re.split(r"\s*(?:,|&|\+|\band\b)\s*", text)):
        if word in ("day", "days"):
            days |= _ALL_DAYS
        elif word in ("weekday", "weekdays", "working day", "working days", "workday", "workdays"):
            days |= _WORKING_DAYS
        elif word in ("weekend", "weekends", "weekend day", "weekend days"):
            days |= _WEEKEND
        elif (weekday := _weekday_number(word)) is not None:
            days.add(weekday)
        else:
            raise InvalidInput(
                _(
                    "I couldn't read {text} as a day of the week. Use monday … sunday, “day”, “weekday” "
                    "or “weekend”, e.g. “every monday and thursday 09:00”.",
                    text=_quote(word),
                )
            )
    return frozenset(days)


_CRON_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_CRON_DAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


def _cron_field(
    text: str, name: str, low: int, high: int, names: dict[str, int], expression: str
) -> frozenset[int]:
    """The values of one cron field; ``name`` (marked with ``N_``) names it in a refusal."""
    where = {"expression": _quote(expression), "field": Translated(name)}

    def number(token: str) -> int:
        value = names.get(token) if token in names else int(token) if token.isdecimal() else None
        if value is None or not low <= value <= high:
            if names:
                raise InvalidInput(
                    _(
                        "In the cron schedule {expression}, the {field} field has {value}: "
                        "use {low}–{high} or names.",
                        value=_quote(token),
                        low=low,
                        high=high,
                        **where,
                    )
                )
            raise InvalidInput(
                _(
                    "In the cron schedule {expression}, the {field} field has {value}: use {low}–{high}.",
                    value=_quote(token),
                    low=low,
                    high=high,
                    **where,
                )
            )
        return value

    values: set[int] = set()
    for item in text.split(","):
        span, _slash, step_text = item.partition("/")
        if step_text and (not step_text.isdecimal() or int(step_text) == 0):
            raise InvalidInput(
                _(
                    "In the cron schedule {expression}, the {field} field has the step {step}: "
                    "use a whole number of at least 1.",
                    step=_quote(step_text),
                    **where,
                )
            )
        step = int(step_text) if step_text else 1
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            start, _dash, end = span.partition("-")
            first, last = number(start), number(end)
            if first > last:
                raise InvalidInput(
                    _(
                        "In the cron schedule {expression}, the {field} field has the range {range}, "
                        "which runs backwards.",
                        range=_quote(span),
                        **where,
                    )
                )
        else:
            first = number(span)
            last = high if step_text else first  # "5/15" means from 5 on, every 15
        values.update(range(first, last + 1, step))
    return frozenset(values)


# --- helpers -------------------------------------------------------------------------------------------


def _weekday_number(word: str) -> int | None:
    """ "monday", "mondays", "mon", "tues" → 0, 0, 0, 1; None for anything else."""
    return WEEKDAY_NUMBERS.get(word, WEEKDAY_NUMBERS.get(word.removesuffix("s")))


def _days_phrase(weekdays: frozenset[int]) -> str:
    if weekdays == _ALL_DAYS:
        return "day"
    if weekdays == _WORKING_DAYS:
        return "weekday"
    return _join(WEEKDAY_NAMES[day] for day in sorted(weekdays))


def _join(words: Iterable[str]) -> str:
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _clock(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


@dataclass(frozen=True)
class _Clock:
    """A schedule's time of day as a placeholder's value: 09:00 in English (as typed), the language's own
    short time elsewhere (CLDR: "09:00", "9:00", "9:00 π.μ.")."""

    at: time

    def render(self, language: str) -> str:
        from babel.dates import format_time

        language = language_of(language)
        if language == SOURCE:
            return _clock(self.at)
        return str(format_time(self.at, "short", locale=babel_locale(language)))

    def __str__(self) -> str:
        return self.render(SOURCE)


@dataclass(frozen=True)
class _Weekdays:
    """Weekdays (Monday = 0) as a placeholder's value: their names joined in the language's way (CLDR:
    "Monday and Thursday", "lunes y jueves", "Montag und Donnerstag")."""

    days: tuple[int, ...]

    def render(self, language: str) -> str:
        from babel.dates import get_day_names
        from babel.lists import format_list

        locale = babel_locale(language_of(language))
        names = get_day_names("wide", locale=locale)
        return str(format_list([str(names[day]) for day in self.days], locale=locale))

    def __str__(self) -> str:
        return self.render(SOURCE)


def _check_time(at: time) -> None:
    if at.tzinfo is not None or at.second or at.microsecond:
        raise ValueError("a schedule's time is a naive wall-clock time in whole minutes")


def _monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _days_in_month(day: date) -> int:
    next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (next_month - timedelta(days=1)).day


def _quote(text: str, limit: int = 40) -> str:
    shown = " ".join(text.split())
    return "“" + (shown if len(shown) <= limit else shown[: limit - 1] + "…") + "”"
