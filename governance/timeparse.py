"""Reading the times, durations and timezones members type, and Enspiral's working-day minimums.

Everything returned is a timezone-aware UTC datetime. Wall-clock times ("tomorrow 9:00") are read in the
guild's IANA timezone, and daylight-saving changes are settled the same way everywhere:

- a wall time that does not exist (the hour skipped when clocks spring forward) becomes the instant the
  clocks jump: 02:30 on the night Europe/Berlin goes 02:00 → 03:00 is 03:00 CEST;
- a wall time that happens twice (the hour repeated when clocks fall back) is its first occurrence.

Nothing here reads the wall clock: ``now`` is always a parameter, so tests and the scheduler set it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from governance.errors import InvalidInput
from governance.i18n import SOURCE, Text, _, _n, babel_locale, language_of

MAX_DURATION = timedelta(days=366)
"""The longest duration (and the furthest time ahead) a member may give: a year, leap day included."""

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""English weekday names by Python weekday number (Monday = 0). Not ``calendar``: it follows the locale."""

WEEKDAY_NUMBERS: Mapping[str, int] = {
    **{name: number for number, name in enumerate(WEEKDAY_NAMES)},
    **{name[:3]: number for number, name in enumerate(WEEKDAY_NAMES)},
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
"""Lower-case weekday names and abbreviations → Python weekday numbers (Monday = 0)."""

# A time of day inside a longer text: it needs a colon or am/pm, so that "1 dec 2026" or "3d" never reads
# as an hour.
CLOCK_PATTERN = r"(?:\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?|noon|midday)"

_TIME_EXAMPLES = _("Try 30m, 48h, 3d, 1w, tomorrow 9:00, friday 17:00 or a date like 2026-12-01 10:00.")
_DURATION_EXAMPLES = _("Try 30m, 48h, 3d, 1w, or combinations like 1d12h or 2 weeks 3 days.")

_UNIT_SECONDS: Mapping[str, int] = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
}
# Longest unit names first so that "minutes" is not read as "m" followed by garbage.
_UNIT = "|".join(sorted(_UNIT_SECONDS, key=len, reverse=True))
_DURATION_PART = rf"(\d+(?:\.\d+)?)\s*({_UNIT})(?![a-z])"
_DURATION_RE = re.compile(rf"{_DURATION_PART}(?:(?:\s*,\s*|\s+and\s+|\s*){_DURATION_PART})*")

_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_WEEKDAY = "|".join(sorted(WEEKDAY_NUMBERS, key=len, reverse=True))

_ISO_RE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(z|[+-]\d{2}(?::?\d{2})?)?"
)
_TRAILING_CLOCK_RE = re.compile(rf"(?P<day>.*?)(?:\s*\bat)?\s*\b(?P<clock>{CLOCK_PATTERN})")
_LEADING_CLOCK_RE = re.compile(rf"(?:at\s+)?(?P<clock>{CLOCK_PATTERN})\s+(?:on\s+)?(?P<day>.+)")
_WEEKDAY_RE = re.compile(rf"(?:(?:next|this|coming|on)\s+)?({_WEEKDAY})")
_DAY_MONTH_RE = re.compile(
    rf"(?:on\s+)?(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTHS})\.?(?:,?\s+(\d{{4}}))?"
)
_MONTH_DAY_RE = re.compile(rf"(?:on\s+)?({_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?")

_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


# --- display -------------------------------------------------------------------------------------------


def discord_timestamp(moment: datetime, style: str = "f") -> str:
    """Discord's ``<t:UNIX:style>`` markup, which every reader sees in their own timezone.

    Styles: t/T time, d/D date, f/F date and time, R relative ("in 3 days").
    """
    if style not in "tTdDfFR" or len(style) != 1:
        raise ValueError(f"unknown Discord timestamp style {style!r}")
    _require_aware(moment, "moment")
    return f"<t:{int(moment.timestamp())}:{style}>"


def format_duration(span: timedelta) -> str:
    """A duration in words, to the minute: "2 days 3 hours", "45 minutes" ("30 seconds" below a minute)."""
    if span < timedelta(0):
        return "-" + format_duration(-span)
    total_minutes = round(span.total_seconds() / 60)
    if total_minutes == 0:
        return _plural(round(span.total_seconds()), "second")
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    amounts = ((days, "day"), (hours, "hour"), (minutes, "minute"))
    return " ".join(_plural(amount, unit) for amount, unit in amounts if amount)


@dataclass(frozen=True)
class Duration:
    """A duration to show in each reader's language ("2 days 3 hours", "2 días 3 horas", "2 ημέρες 3
    ώρες"), with CLDR's unit names and plural rules; ``str()`` is the English of :func:`format_duration`."""

    span: timedelta

    def render(self, language: str) -> str:
        from babel.units import format_unit

        language = language_of(language)
        if language == SOURCE:
            return format_duration(self.span)
        if self.span < timedelta(0):
            return "-" + Duration(-self.span).render(language)
        locale = babel_locale(language)
        total_minutes = round(self.span.total_seconds() / 60)
        if total_minutes == 0:
            return str(format_unit(round(self.span.total_seconds()), "duration-second", locale=locale))
        days, rest = divmod(total_minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        amounts = ((days, "duration-day"), (hours, "duration-hour"), (minutes, "duration-minute"))
        return " ".join(str(format_unit(amount, unit, locale=locale)) for amount, unit in amounts if amount)

    def __str__(self) -> str:
        return format_duration(self.span)


# --- timezones -----------------------------------------------------------------------------------------


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() - _NOT_ZONES))


@cache
def _zone_names_by_key() -> dict[str, str]:
    return {_zone_key(name): name for name in _zone_names()}


def _zone_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def timezone_names() -> list[str]:
    """All IANA timezone names this system knows, sorted (read once, then cached)."""
    return list(_zone_names())


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA timezone called ``name``; case and spaces for underscores are forgiven ("new york" is not a
    zone name, "america/new york" is)."""
    canonical = _zone_names_by_key().get(_zone_key(name))
    if canonical is not None:
        return ZoneInfo(canonical)
    # A bare city name ("Auckland") is the usual mistake: match its last part the way autocomplete does.
    suggestions = suggest_timezones(name.strip().rsplit("/", 1)[-1], limit=3)
    if suggestions and name.strip():
        raise InvalidInput(
            _(
                "I don't know the timezone {name}. Use an IANA name such as Europe/Berlin, "
                "America/New_York or Pacific/Auckland. Did you mean {suggestions}?",
                name=_quote(name),
                suggestions=_Alternatives(tuple(suggestions)),
            )
        )
    raise InvalidInput(
        _(
            "I don't know the timezone {name}. Use an IANA name such as Europe/Berlin, "
            "America/New_York or Pacific/Auckland.",
            name=_quote(name),
        )
    )


def suggest_timezones(query: str, limit: int = 25) -> list[str]:
    """Timezone names containing ``query`` (case-insensitive) for autocomplete, best first: the city part
    starting with the query, then the whole name starting with it, then the city containing it, then the
    rest. Discord shows at most 25 choices, hence the default ``limit``."""
    key = _zone_key(query)
    if not key:
        return list(_zone_names()[:limit])

    def rank(name: str) -> int:
        lowered = name.lower()
        city = lowered.rsplit("/", 1)[-1]
        if city.startswith(key):
            return 0
        if lowered.startswith(key):
            return 1
        return 2 if key in city else 3

    matches = [name for name in _zone_names() if key in name.lower()]
    return sorted(matches, key=lambda name: (rank(name), name))[:limit]


# --- durations -----------------------------------------------------------------------------------------


def parse_duration(text: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """A positive duration: "30m", "48h", "3d", "1w", "1d12h", "2w 3d", "90 minutes", "1.5 hours"."""
    cleaned = _normalize(text)
    if not cleaned:
        raise InvalidInput(_("Please give a duration. {examples}", examples=_DURATION_EXAMPLES))
    if cleaned.startswith("-"):
        raise InvalidInput(_("A duration must be positive. {examples}", examples=_DURATION_EXAMPLES))
    if not _DURATION_RE.fullmatch(cleaned):
        raise InvalidInput(
            _(
                "I couldn't read {text} as a duration. {examples}",
                text=_quote(text),
                examples=_DURATION_EXAMPLES,
            )
        )
    # Sum in seconds before building a timedelta: "99999999999w" must be refused, not overflow.
    seconds = sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in re.findall(_DURATION_PART, cleaned))
    if round(seconds) <= 0:
        raise InvalidInput(_("A duration must be longer than zero. {examples}", examples=_DURATION_EXAMPLES))
    if seconds > maximum.total_seconds():
        raise InvalidInput(
            _("That is longer than {longest}: please choose a shorter one.", longest=Duration(maximum))
        )
    return timedelta(seconds=round(seconds))


# --- wall-clock times ----------------------------------------------------------------------------------


def parse_time_of_day(text: str) -> time:
    """A time of day: "09:00", "9:30", "17:30", "5pm", "9:30 am", "noon" (a bare "9" is 09:00)."""
    cleaned = _normalize(text)
    if cleaned in ("noon", "midday"):
        return time(12, 0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(?:([ap])\.?m\.?)?", cleaned)
    if match is None:
        raise InvalidInput(
            _("I couldn't read {text} as a time of day. Try 09:00, 17:30 or 5pm.", text=_quote(text))
        )
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[3] is not None:
        if not 1 <= hour <= 12:
            raise InvalidInput(
                _("{text} isn't a time of day: with am/pm, hours go 1–12 (e.g. 5pm).", text=_quote(text))
            )
        hour = hour % 12 + (12 if match[3] == "p" else 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(
            _(
                "{text} isn't a time of day: hours go 0–23 and minutes 0–59 (e.g. 09:00, 17:30, 5pm).",
                text=_quote(text),
            )
        )
    return time(hour, minute)


def wall_time_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``tz``.

    A time skipped by a DST change becomes the instant of the jump (02:30 → 03:00); a repeated time is its
    first occurrence. The mapping never goes backwards: a later wall time is never an earlier instant.
    """
    if wall.tzinfo is not None:
        raise ValueError("wall_time_to_utc expects a naive wall-clock datetime")
    wall = wall.replace(fold=0)
    # fold=0 means "the offset in force before the change": the first occurrence of a repeated time.
    instant = wall.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    return _instant_of_jump(wall, tz)


def _instant_of_jump(wall: datetime, tz: ZoneInfo) -> datetime:
    # ``wall`` is in a gap. Read with the old offset it lands after the jump, with the new one before it;
    # zoneinfo does not expose its transitions, so find the jump between the two by bisection (seconds).
    after_jump = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    before_jump = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    new_offset = after_jump.astimezone(tz).utcoffset()
    low, high = int(before_jump.timestamp()), int(after_jump.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    default_time: time = time(9, 0),
    horizon: timedelta = MAX_DURATION,
) -> datetime:
    """A future moment a member typed, as UTC.

    Accepted: a duration from now ("3d", "in 2h", "1d12h": elapsed time, so "3d" is exactly 72 hours even
    across a DST change); "today 17:30", "tomorrow 9:00", "tomorrow" (at ``default_time``); a weekday
    ("friday 17:00", "next monday": the first such day and time still ahead, so today counts if the time is
    later); a bare time ("17:30": today if still ahead, else tomorrow); an ISO date "2026-12-01" (at
    ``default_time``), "2026-12-01 10:00", "2026-12-01T10:00", with an optional offset ("Z", "+02:00") that
    then wins over ``tz``; "1 Dec 2026 10:00", "December 1 10:00", "dec 1, 2026 at 5pm" (no year: the next
    such date still ahead). Times may come first ("10:00 tomorrow") and may use am/pm. Slash dates
    (1/12/2026) are refused because day and month order differ between countries.

    Wall times are read in ``tz``, DST settled as the module says. The result must be after ``now`` and at
    most ``horizon`` ahead.
    """
    _require_aware(now, "now")
    try:
        moment = _read_when(text, now=now, tz=tz, default_time=default_time, horizon=horizon)
    except OverflowError:  # a date near year 1 or 9999 that UTC cannot hold
        raise InvalidInput(
            _("{text} is too far away. {examples}", text=_quote(text), examples=_TIME_EXAMPLES)
        ) from None
    if moment <= now:
        raise InvalidInput(
            _(
                "That time is in the past ({moment}). Choose a time in the future.",
                moment=discord_timestamp(moment),
            )
        )
    if moment - now > horizon:
        raise InvalidInput(
            _(
                "That is more than {longest} ahead ({moment}). Choose an earlier time.",
                longest=Duration(horizon),
                moment=discord_timestamp(moment),
            )
        )
    return moment.astimezone(UTC)


def _read_when(text: str, *, now: datetime, tz: ZoneInfo, default_time: time, horizon: timedelta) -> datetime:
    """The moment ``text`` names, not yet checked against ``now`` and the horizon."""
    cleaned = _normalize(text)
    if not cleaned:
        raise InvalidInput(_("Please say when. {examples}", examples=_TIME_EXAMPLES))
    if cleaned.startswith("in "):
        return now + parse_duration(cleaned[3:], maximum=horizon)
    if _DURATION_RE.fullmatch(cleaned.lstrip("-")):
        return now + parse_duration(cleaned, maximum=horizon)
    iso = _ISO_RE.fullmatch(cleaned)
    if iso is not None:
        return _from_iso(iso, text, tz, default_time)

    day_text, clock = _split_clock(cleaned)
    at = parse_time_of_day(clock) if clock is not None else default_time
    today = now.astimezone(tz).date()

    def upcoming(candidates: list[date]) -> datetime:
        # The first candidate day whose time is still ahead; else the last one, refused as past.
        moments = [wall_time_to_utc(datetime.combine(day, at), tz) for day in candidates]
        return next((moment for moment in moments if moment > now), moments[-1])

    if day_text == "":  # a bare time of day
        return upcoming([today, today + timedelta(days=1)])
    if day_text == "today":
        return upcoming([today])
    if day_text == "tomorrow":
        return upcoming([today + timedelta(days=1)])
    weekday = _WEEKDAY_RE.fullmatch(day_text)
    if weekday is not None:
        first = today + timedelta(days=(WEEKDAY_NUMBERS[weekday[1]] - today.weekday()) % 7)
        return upcoming([first, first + timedelta(days=7)])
    named = _DAY_MONTH_RE.fullmatch(day_text) or _MONTH_DAY_RE.fullmatch(day_text)
    if named is not None:
        day_number, month_name, year = (
            (named[1], named[2], named[3]) if named.re is _DAY_MONTH_RE else (named[2], named[1], named[3])
        )
        month = _MONTH_NUMBERS[month_name[:3]]
        years = [int(year)] if year else [today.year, today.year + 1]
        candidates = [day for y in years if (day := _valid_date(y, month, int(day_number))) is not None]
        if not candidates:
            raise InvalidInput(
                _(
                    "{text} isn't a date in the calendar. {examples}",
                    text=_quote(text),
                    examples=_TIME_EXAMPLES,
                )
            )
        return upcoming(candidates)
    raise InvalidInput(
        _("I couldn't read {text} as a time. {examples}", text=_quote(text), examples=_TIME_EXAMPLES)
    )


def _split_clock(cleaned: str) -> tuple[str, str | None]:
    """("tomorrow", "9:00") from "tomorrow at 9:00" or "9:00 tomorrow"; (text, None) without a time."""
    trailing = _TRAILING_CLOCK_RE.fullmatch(cleaned)
    if trailing is not None:
        return trailing["day"].strip(), trailing["clock"]
    leading = _LEADING_CLOCK_RE.fullmatch(cleaned)
    if leading is not None:
        return leading["day"].strip(), leading["clock"]
    return cleaned, None


def _from_iso(match: re.Match[str], text: str, tz: ZoneInfo, default_time: time) -> datetime:
    year, month, day, hour, minute, second, offset = match.groups()
    day_value = _valid_date(int(year), int(month), int(day))
    if day_value is None:
        raise InvalidInput(
            _("{text} isn't a date in the calendar. {examples}", text=_quote(text), examples=_TIME_EXAMPLES)
        )
    at = default_time if hour is None else parse_time_of_day(f"{hour}:{minute}")
    if second is not None and not 0 <= int(second) <= 59:
        raise InvalidInput(
            _(
                "{text} isn't a time: seconds go from 00 to 59. {examples}",
                text=_quote(text),
                examples=_TIME_EXAMPLES,
            )
        )
    wall = datetime.combine(day_value, at).replace(second=int(second or 0))
    if offset is None:
        return wall_time_to_utc(wall, tz)
    if offset == "z":
        return wall.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    span = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if span >= timedelta(hours=24):
        raise InvalidInput(
            _("{text} has an impossible UTC offset. Try 2026-12-01T10:00+02:00.", text=_quote(text))
        )
    return wall.replace(tzinfo=timezone(span if offset[0] == "+" else -span)).astimezone(UTC)


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- working days --------------------------------------------------------------------------------------


def add_working_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The moment ``days`` working days (Monday–Friday in ``tz``) after ``start``, at the same local time.

    A start on a Saturday or Sunday counts from the next Monday at the same local time, so Friday + 3 is
    Wednesday and Saturday + 3 is Thursday. Public holidays are not known and count as working days.
    """
    _require_aware(start, "start")
    if days < 0:
        raise ValueError("days must not be negative")
    local = start.astimezone(tz)
    day = _weekday_on_or_after(local.date())
    weeks, rest = divmod(days, 5)
    day += timedelta(weeks=weeks)
    for _step in range(rest):
        day = _weekday_on_or_after(day + timedelta(days=1))
    return wall_time_to_utc(datetime.combine(day, local.time()), tz)


def working_days_between(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """How many whole working days lie between two moments: the largest n with
    ``add_working_days(start, n, tz) <= end`` (0 when ``end`` comes first)."""
    _require_aware(end, "end")
    first = _weekday_on_or_after(start.astimezone(tz).date())
    last = end.astimezone(tz).date()
    # Count the weekdays after the first working day up to the end's date, then settle the last day's
    # time of day (and any DST oddity) against add_working_days itself so the two always agree.
    count = 0
    if last > first:
        whole_weeks, extra_days = divmod((last - first).days, 7)
        count = whole_weeks * 5
        count += sum(1 for i in range(1, extra_days + 1) if (first + timedelta(days=i)).weekday() < 5)
    while count > 0 and add_working_days(start, count, tz) > end:
        count -= 1
    while add_working_days(start, count + 1, tz) <= end:
        count += 1
    return count


def earliest_close(
    opens: datetime, *, min_duration: timedelta = timedelta(0), min_working_days: int = 0, tz: ZoneInfo
) -> datetime:
    """The earliest closing time that satisfies both minimums."""
    _require_aware(opens, "opens")
    earliest = opens + min_duration
    if min_working_days > 0:
        earliest = max(earliest, add_working_days(opens, min_working_days, tz))
    return earliest.astimezone(UTC)


def check_minimum(
    opens: datetime,
    closes: datetime,
    *,
    min_duration: timedelta = timedelta(0),
    min_working_days: int = 0,
    tz: ZoneInfo,
    subject: str | Text | None = None,
) -> None:
    """Refuse a closing time sooner than the minimums, naming the earliest acceptable one.

    ``subject`` (a Text, said in the reader's language; "This decision" by default) starts the message,
    e.g. "A significant decision stays open at least 3 working days (Monday–Friday): choose a closing time
    at <t:…:f> or later."
    """
    _require_aware(closes, "closes")
    earliest = earliest_close(opens, min_duration=min_duration, min_working_days=min_working_days, tz=tz)
    if closes >= earliest:
        return
    # Discord shows minutes only: round up, or a member who picks the minute shown would be refused again.
    said = {
        "subject": _("This decision") if subject is None else subject,
        "moment": discord_timestamp(_round_up_to_minute(earliest)),
        "duration": Duration(min_duration),
    }
    if min_working_days > 0 and min_duration > timedelta(0):
        refusal = _n(
            "{subject} stays open at least {count} working day (Monday–Friday) and {duration}: "
            "choose a closing time at {moment} or later.",
            "{subject} stays open at least {count} working days (Monday–Friday) and {duration}: "
            "choose a closing time at {moment} or later.",
            min_working_days,
            **said,
        )
    elif min_working_days > 0:
        refusal = _n(
            "{subject} stays open at least {count} working day (Monday–Friday): "
            "choose a closing time at {moment} or later.",
            "{subject} stays open at least {count} working days (Monday–Friday): "
            "choose a closing time at {moment} or later.",
            min_working_days,
            **said,
        )
    else:
        refusal = _(
            "{subject} stays open at least {duration}: choose a closing time at {moment} or later.", **said
        )
    raise InvalidInput(refusal)


# --- helpers -------------------------------------------------------------------------------------------


def _weekday_on_or_after(day: date) -> date:
    """The day itself, or the next Monday for a Saturday or Sunday."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def _round_up_to_minute(moment: datetime) -> datetime:
    whole_minute = moment.replace(second=0, microsecond=0)
    return whole_minute if whole_minute == moment else whole_minute + timedelta(minutes=1)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _normalize(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def _quote(text: str, limit: int = 40) -> str:
    shown = " ".join(text.split())
    return "“" + (shown if len(shown) <= limit else shown[: limit - 1] + "…") + "”"


def _plural(amount: int, unit: str) -> str:
    return f"{amount} {unit}" if amount == 1 else f"{amount} {unit}s"


@dataclass(frozen=True)
class _Alternatives:
    """Names (timezones) as a placeholder's value, joined by the language's "or" (CLDR: "A, B or C",
    "A, B o C", "A, B oder C")."""

    names: tuple[str, ...]

    def render(self, language: str) -> str:
        from babel.lists import format_list

        if language_of(language) == SOURCE:  # as it always read: "A or B or C"
            return " or ".join(self.names)
        return str(format_list(list(self.names), style="or", locale=babel_locale(language_of(language))))

    def __str__(self) -> str:
        return self.render(SOURCE)
