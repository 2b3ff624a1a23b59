"""Charts as PNG images with their alt text: a decision's tally, the rounds of an instant-runoff count, a
fund's balance over time, a funding round's buckets.

Drawn by matplotlib (a well-kept charting library: real fonts with fallbacks, axes, dates and ticks done
right) with its object-oriented API and the Agg canvas: every call makes its own ``Figure``, nothing goes
through pyplot's global state, so renders may run in several threads at once. They cost CPU (tens of ms), so
the cogs call them with ``await asyncio.to_thread(render_..., ...)``, never on the event loop.

Text in every script a cooperative writes. Labels are drawn with DejaVu Sans, which matplotlib ships (Latin
with every diacritic, Greek, Cyrillic), then with any installed font that covers more (Noto CJK, Noto
Emoji, WenQuanYi...), as matplotlib's font fallback. A character no available font has is replaced by "?"
before drawing, so a chart never shows a box (tofu) for a missing glyph; control characters and line
breaks become spaces.

Colours carry meaning, the same in every chart: agreement green, objection and blocks red, abstention grey,
the winner (or a funded bucket) gold, the other options blue-grey, an option eliminated in a runoff muted
red. The card has its own opaque dark background (Discord's dark surface), so it reads the same in Discord's
dark and light themes. The same input always gives the same bytes (no timestamp or software in the PNG).
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from functools import cache
from io import BytesIO

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator

from governance.i18n import SOURCE, _, _n, babel_locale

__all__ = [
    "BACKGROUND",
    "DESCRIPTION_LIMIT",
    "MAX_BARS",
    "MAX_ROUNDS",
    "TONE_COLOURS",
    "WIDTH",
    "Chart",
    "Tone",
    "drawable",
    "number_format",
    "render_bar_chart",
    "render_line_chart",
    "render_stacked_rounds_chart",
]

WIDTH = 800  # pixels
DPI = 100
MAX_BARS = 25  # bars beyond this are summarised in one "+N more" line
MAX_ROUNDS = 12  # instant-runoff rounds shown; beyond it the middle ones are summarised
DESCRIPTION_LIMIT = 1024  # Discord's limit for an attachment's description (its alt text)
MAX_LABEL = 40  # characters of a label on an axis
SUBSTITUTE = "?"

BACKGROUND = "#2b2d31"
TEXT = "#f2f3f5"
MUTED = "#b5bac1"
GRID = "#3f4147"


class Tone(StrEnum):
    """What a bar means, and so its colour."""

    NEUTRAL = "neutral"
    FOR = "for"  # agree, no objection, looks good, I'm in
    AGAINST = "against"  # objection, block, disagree, concerned
    ABSTAIN = "abstain"  # abstain, not sure, stand aside
    WINNER = "winner"  # the winning option(s), a funded bucket
    ELIMINATED = "eliminated"  # dropped out of a runoff round


TONE_COLOURS: dict[Tone, str] = {
    Tone.NEUTRAL: "#6d7cb0",
    Tone.FOR: "#3ba55d",
    Tone.AGAINST: "#ed4245",
    Tone.ABSTAIN: "#80848e",
    Tone.WINNER: "#f0b232",
    Tone.ELIMINATED: "#8c3a3e",
}
# Fonts tried after DejaVu Sans, when installed. Colour bitmap fonts (Noto Color Emoji) are left out:
# FreeType in matplotlib cannot scale them.
_FALLBACK_FAMILIES = (
    "Noto Sans",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK KR",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "Noto Sans Symbols 2",
    "Noto Emoji",
    "Symbola",
)
_FONT_LOCK = threading.Lock()

ValueFormat = Callable[[float], str]


@dataclass(frozen=True)
class Chart:
    """A rendered chart: the PNG, and what it shows in words (the attachment's description)."""

    png: bytes
    description: str


# --- text -----------------------------------------------------------------------------------------


@cache
def _fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """The font families to draw with (DejaVu Sans first) and every code point one of them has."""
    with _FONT_LOCK:
        installed = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
        families = ["DejaVu Sans"] + [name for name in _FALLBACK_FAMILIES if name in installed]
        covered: set[int] = set()
        for family in families:
            path = font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
            covered.update(FT2Font(path).get_charmap())
    return tuple(families), frozenset(covered)


def drawable(text: str) -> str:
    """``text`` as it will be drawn: one line, and "?" for any character no available font has."""
    _, covered = _fonts()
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\r\n\t" or category == "Zl" or category == "Zp":
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs"):
            continue  # controls, invisible format characters: nothing to draw
        elif ord(char) in covered or char.isspace():
            out.append(char)
        else:
            out.append(SUBSTITUTE)
    return "".join(out)


def _words(text: str, limit: int) -> str:
    """``text`` for the description (alt text): one line, every character kept (a screen reader reads
    scripts the chart's fonts may lack), cut to ``limit``."""
    shown = " ".join("".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs")).split())
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "…"


def _label(text: str, limit: int = MAX_LABEL) -> str:
    shown = " ".join(drawable(text).split())
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "…"


def number_format(language: str) -> ValueFormat:
    """Counts and points as the language writes them (1,234 / 1.234 / 1 234), with Babel's CLDR data."""
    locale = babel_locale(language)

    def show(value: float) -> str:
        pattern = "#,##0" if float(value).is_integer() else "#,##0.00"
        return format_decimal(value, format=pattern, locale=locale)

    return show


class _DateFormatter(Formatter):
    """Date ticks in the reader's language (month names from CLDR, not the C library's locale, which is
    process-wide and English here): times within one day, days and months within a year, and the year
    once the ticks span more than one."""

    def __init__(self, tz: tzinfo | None, language: str) -> None:
        self.tz = tz
        self.locale = babel_locale(language)

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        moments = [num2date(value, tz=self.tz) for value in values]
        if not moments:
            return []
        span = moments[-1] - moments[0]
        if span < timedelta(days=1) and moments[0].date() == moments[-1].date():
            skeleton = "Hm"
        elif moments[0].year != moments[-1].year:
            skeleton = "yMMM" if span > timedelta(days=120) else "yMMMd"
        else:
            skeleton = "MMMd"
        return [format_skeleton(skeleton, moment, locale=self.locale) for moment in moments]


def _check_finite(values: Sequence[int | float], *, what: str, allow_negative: bool) -> list[float]:
    checked = []
    for value in values:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{what} must be finite, got {value!r}")
        if number < 0 and not allow_negative:
            raise ValueError(f"{what} can't be negative, got {value!r}")
        checked.append(number)
    return checked


def _description(*parts: str) -> str:
    text = " ".join(part for part in parts if part)
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


# --- the figure -----------------------------------------------------------------------------------


def _figure(height_inches: float) -> Figure:
    figure = Figure(figsize=(WIDTH / DPI, height_inches), dpi=DPI, facecolor=BACKGROUND)
    figure.set_layout_engine("constrained")
    return figure


def _families() -> list[str]:
    return list(_fonts()[0])


def _style(axes: Axes, families: Sequence[str]) -> None:
    axes.set_facecolor(BACKGROUND)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(GRID)
    axes.tick_params(colors=MUTED, labelsize=10)
    for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
        label.set_fontfamily(list(families))
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)


def _title(figure: Figure, title: str, subtitle: str | None) -> None:
    text = _label(title, 80)
    if subtitle:
        text += "\n" + _label(subtitle, 110)
    figure.suptitle(text, color=TEXT, fontsize=13, fontfamily=_families(), x=0.02, ha="left")


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


def _message_chart(title: str, subtitle: str | None, message: str, language: str) -> Chart:
    figure = _figure(1.6)
    _title(figure, title, subtitle)
    figure.text(0.5, 0.35, message, color=MUTED, fontsize=13, ha="center", fontfamily=_families())
    heading = _("Chart: {title}.", title=_words(title, 200)).render(language)
    return Chart(_png(figure), _description(heading, f"{message}."))


# --- bars -----------------------------------------------------------------------------------------


def render_bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[int | float],
    *,
    subtitle: str | None = None,
    value_format: ValueFormat | None = None,
    highlight: Collection[int] = (),
    tones: Sequence[Tone] | None = None,
    language: str = SOURCE,
) -> Chart:
    """Horizontal bars, one per label in the order given (the first at the top), 800 pixels wide.

    ``tones`` says what each bar means (its colour); without them, bars are neutral and those whose index
    is in ``highlight`` (the winners) are gold. Each bar ends with its value, written with ``value_format``
    (it gets a float; by default a number in ``language``'s way). Past MAX_BARS bars the rest are summed up
    in a "+N more" line. Every word on it and in its description is in ``language``. No labels gives a
    "No votes yet" chart. Raises ValueError for negative or non-finite values, as many values as labels
    not given, tones of another length, and a highlight index that names no label.
    """
    numbers = _check_finite(values, what="bar values", allow_negative=False)
    if len(numbers) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(numbers)} values")
    if tones is not None and len(tones) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(tones)} tones")
    chosen = set(highlight)
    if any(not 0 <= index < len(labels) for index in chosen):
        raise ValueError("a highlight index names no label")
    if not labels:
        return _message_chart(title, subtitle, _("No votes yet").render(language), language)
    show = value_format or number_format(language)
    colours = [
        tones[index] if tones is not None else (Tone.WINNER if index in chosen else Tone.NEUTRAL)
        for index in range(len(labels))
    ]
    shown = min(len(labels), MAX_BARS)
    hidden = len(labels) - shown
    figure = _figure(1.25 + 0.42 * (shown + (1 if hidden else 0)))
    families = _families()
    _title(figure, title, subtitle)
    axes = figure.add_subplot()
    _style(axes, families)
    positions = list(range(shown))
    top = max(numbers) or 1.0
    bars = axes.barh(
        positions,
        numbers[:shown],
        color=[TONE_COLOURS[tone] for tone in colours[:shown]],
        height=0.7,
    )
    axes.set_yticks(positions, [_label(label) for label in labels[:shown]], fontfamily=families)
    axes.invert_yaxis()
    axes.set_xlim(0, top * 1.18)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=all(float(v).is_integer() for v in numbers)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: show(value)))
    for bar, value in zip(bars, numbers[:shown], strict=True):
        axes.text(
            bar.get_width() + top * 0.01,
            bar.get_y() + bar.get_height() / 2,
            show(value),
            va="center",
            color=TEXT,
            fontsize=10,
            fontfamily=families,
        )
    if hidden:
        rest = sum(numbers[shown:])
        more = _n(
            "+{count} more ({total} in all)",
            "+{count} more ({total} in all)",
            hidden,
            total=show(rest),
        )
        axes.text(0, shown - 0.2, more.render(language), color=MUTED, fontsize=10, va="top")
        axes.set_ylim(shown + 0.3, -0.6)
    words = [f"{_words(label, 60)}: {show(value)}" for label, value in zip(labels, numbers, strict=True)]
    marked = [_words(labels[i], 60) for i in sorted(chosen)]
    return Chart(
        _png(figure),
        _description(
            _("Bar chart: {title}.", title=_words(title, 200)).render(language),
            _words(subtitle or "", 200) + ("." if subtitle else ""),
            "; ".join(words) + ".",
            _("Highlighted: {names}.", names=", ".join(marked)).render(language) if marked else "",
        ),
    )


# --- instant-runoff rounds ------------------------------------------------------------------------


def _check_rounds(
    option_labels: Sequence[str],
    rounds: Sequence[Sequence[int]],
    eliminated: Sequence[int | None],
    exhausted: Sequence[int],
    chosen: set[int],
) -> list[list[float]]:
    counts = [_check_finite(counts, what="round counts", allow_negative=False) for counts in rounds]
    if any(len(row) != len(option_labels) for row in counts):
        raise ValueError("every round needs one count per option")
    if len(eliminated) != len(rounds):
        raise ValueError("one eliminated entry per round")
    if exhausted and len(exhausted) != len(rounds):
        raise ValueError("one exhausted count per round, or none")
    out = [index for index in eliminated if index is not None]
    if len(set(out)) != len(out) or any(not 0 <= index < len(option_labels) for index in out):
        raise ValueError("an option is eliminated twice, or is not an option")
    if any(not 0 <= index < len(option_labels) for index in chosen):
        raise ValueError("a highlight index names no option")
    return counts


def _shown_rounds(count: int) -> tuple[list[int], int]:
    """The rounds to draw and how many are left out in the middle."""
    if count <= MAX_ROUNDS:
        return list(range(count)), 0
    head = MAX_ROUNDS // 2
    tail = MAX_ROUNDS - head
    return [*range(head), *range(count - tail, count)], count - MAX_ROUNDS


def render_stacked_rounds_chart(
    title: str,
    option_labels: Sequence[str],
    rounds: Sequence[Sequence[int]],
    *,
    eliminated: Sequence[int | None],
    subtitle: str | None = None,
    highlight: Collection[int] = (),
    exhausted: Sequence[int] = (),
    language: str = SOURCE,
) -> Chart:
    """An instant-runoff count: one small bar chart per round, stacked downwards, on one scale.

    ``rounds[i][j]`` is option j's count in round i; ``eliminated[i]`` the option eliminated at the end of
    round i (None for the final round). Each round shows the options still standing; the eliminated one is
    muted red and marked, the winners (``highlight``) gold in every round to follow them down;
    ``exhausted[i]`` is shown in round i's heading. Past MAX_ROUNDS rounds the middle ones are left out and
    said so. Words and numbers are in ``language``. No rounds (or no options) gives a "No votes yet"
    chart. Raises ValueError for inconsistent input.
    """
    chosen = set(highlight)
    counts = _check_rounds(option_labels, rounds, eliminated, exhausted, chosen)
    if not rounds or not option_labels:
        return _message_chart(title, subtitle, _("No votes yet").render(language), language)
    count = number_format(language)
    standing: list[list[int]] = []
    alive = list(range(len(option_labels)))
    for index in range(len(rounds)):
        standing.append(list(alive))
        if eliminated[index] is not None:
            alive = [option for option in alive if option != eliminated[index]]
    shown, skipped = _shown_rounds(len(rounds))
    heights = [0.45 + 0.32 * len(standing[index]) for index in shown]
    figure = _figure(1.2 + sum(heights) + (0.3 if skipped else 0))
    families = _families()
    _title(figure, title, subtitle)
    grid = figure.add_gridspec(len(shown), 1, height_ratios=heights)
    scale = max((max(row) for row in counts), default=1.0) or 1.0
    words = []
    for position, index in enumerate(shown):
        axes = figure.add_subplot(grid[position])
        _style(axes, families)
        options = standing[index]
        colours = [
            TONE_COLOURS[
                Tone.ELIMINATED
                if option == eliminated[index]
                else Tone.WINNER
                if option in chosen
                else Tone.NEUTRAL
            ]
            for option in options
        ]
        values = [counts[index][option] for option in options]
        axes.barh(range(len(options)), values, color=colours, height=0.7)
        axes.set_yticks(
            range(len(options)),
            [
                _("{option} (eliminated)", option=_label(option_labels[option], 30)).render(language)
                if option == eliminated[index]
                else _label(option_labels[option], 30)
                for option in options
            ],
            fontfamily=families,
        )
        axes.invert_yaxis()
        axes.set_xlim(0, scale * 1.15)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        for row, value in enumerate(values):
            axes.text(value + scale * 0.01, row, count(value), va="center", color=TEXT, fontsize=9)
        heading = _("Round {number}", number=index + 1).render(language)
        if exhausted:
            heading += " · " + _n(
                "{count} exhausted", "{count} exhausted", exhausted[index], count=count(exhausted[index])
            ).render(language)
        if position == len(shown) // 2 and skipped:
            heading += " · " + _n(
                "{count} round between not shown", "{count} rounds between not shown", skipped
            ).render(language)
        axes.set_title(heading, color=MUTED, fontsize=10, loc="left", fontfamily=families)
    for index, out in enumerate(eliminated):
        if out is not None:
            words.append(
                _(
                    "Round {number}: {option} eliminated with {count}",
                    number=index + 1,
                    option=_words(option_labels[out], 40),
                    count=count(counts[index][out]),
                ).render(language)
            )
    last = len(rounds) - 1
    standings = ", ".join(f"{_words(option_labels[o], 40)} {count(counts[last][o])}" for o in standing[last])
    words.append(_("Round {number}: {counts}", number=last + 1, counts=standings).render(language))
    winners = [_words(option_labels[i], 60) for i in sorted(chosen)]
    winner = _n("Winner: {names}.", "Winners: {names}.", len(winners), names=", ".join(winners))
    return Chart(
        _png(figure),
        _description(
            _("Instant-runoff chart: {title}.", title=_words(title, 200)).render(language),
            ". ".join(words) + ".",
            winner.render(language) if winners else "",
        ),
    )


# --- a value over time ----------------------------------------------------------------------------


def render_line_chart(
    title: str,
    points: Sequence[tuple[datetime, int | float]],
    *,
    value_format: ValueFormat | None = None,
    subtitle: str | None = None,
    value_label: str = "",
    language: str = SOURCE,
) -> Chart:
    """A value over time (a fund's balance) as a step line: the value holds from each point until the next.

    Dates are labelled in the datetimes' own timezone (convert to the cooperative's first); the value axis
    with ``value_format`` and titled ``value_label``; dates, words and default numbers in ``language``. One
    point draws a flat line; no points gives a "No movements yet" chart. Negative values are fine;
    non-finite ones raise ValueError.
    """
    values = _check_finite([point[1] for point in points], what="line values", allow_negative=True)
    if not points:
        return _message_chart(title, subtitle, _("No movements yet").render(language), language)
    ordered = sorted(zip([point[0] for point in points], values, strict=True), key=lambda point: point[0])
    show = value_format or number_format(language)
    moments = [point[0] for point in ordered]
    numbers = [point[1] for point in ordered]
    if len(moments) == 1:
        moments.append(moments[0])
        numbers.append(numbers[0])
    figure = _figure(4.2)
    families = _families()
    _title(figure, title, subtitle)
    axes = figure.add_subplot()
    _style(axes, families)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    tz = moments[0].tzinfo
    axes.xaxis_date(tz)
    days = [float(day) for day in date2num(moments)]
    axes.step(days, numbers, where="post", color=TONE_COLOURS[Tone.FOR], linewidth=2)
    axes.fill_between(days, numbers, step="post", color=TONE_COLOURS[Tone.FOR], alpha=0.18)
    locator = AutoDateLocator(tz=tz)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(_DateFormatter(tz, language))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=all(float(v).is_integer() for v in numbers)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: show(value)))
    if value_label:
        axes.set_ylabel(_label(value_label), color=MUTED, fontfamily=families)
    zone = moments[0].tzname() if moments[0].tzinfo else None
    date_label = _("Date ({zone})", zone=zone) if zone else _("Date")
    axes.set_xlabel(date_label.render(language), color=MUTED, fontfamily=families)
    first, last = ordered[0], ordered[-1]
    locale = babel_locale(language)
    story = _n(
        "From {first} on {first_date} to {last} on {last_date}, lowest {lowest}, highest {highest}, over "
        "{count} movement.",
        "From {first} on {first_date} to {last} on {last_date}, lowest {lowest}, highest {highest}, over "
        "{count} movements.",
        len(ordered),
        first=show(first[1]),
        first_date=format_date(first[0], "medium", locale=locale),
        last=show(last[1]),
        last_date=format_date(last[0], "medium", locale=locale),
        lowest=show(min(values)),
        highest=show(max(values)),
    )
    return Chart(
        _png(figure),
        _description(
            _("Line chart: {title}.", title=_words(title, 200)).render(language),
            _words(subtitle or "", 200) + ("." if subtitle else ""),
            story.render(language),
        ),
    )


def gallery(folder: str) -> list[str]:
    """Example charts for the README, written to ``folder``; the paths."""
    from datetime import UTC, timedelta
    from pathlib import Path

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    charts = {
        "chart-consent.png": render_bar_chart(
            "#12 Café coopératif: shared kitchen hours",
            ["No objection", "Objection"],
            [6, 1],
            subtitle="Fails: 1 objection stands · 7 of 9 voted",
            tones=[Tone.FOR, Tone.AGAINST],
        ),
        "chart-ranked.png": render_stacked_rounds_chart(
            "#14 Where do we meet? (Tāmaki hui)",
            ["Kōwhai Hall", "Ελληνικά εργαστήρι", "Кооператив", "Online"],
            [[4, 3, 2, 1], [4, 3, 3, 0], [6, 5, 0, 0]],
            eliminated=[3, 2, None],
            highlight=[0],
            subtitle="Kōwhai Hall wins in round 3",
        ),
        "chart-balance.png": render_line_chart(
            "Commons: balance",
            [(start + timedelta(days=3 * n), 10000 + 2500 * n - (4000 if n > 4 else 0)) for n in range(9)],
            value_format=lambda value: f"{value / 100:,.2f}",
            subtitle="NZD · 9 movements",
            value_label="NZD",
        ),
    }
    paths = []
    for name, chart in charts.items():
        path = target / name
        path.write_bytes(chart.png)
        paths.append(str(path))
    return paths


if __name__ == "__main__":  # python -m cogs._charts docs/screenshots
    import sys

    print("\n".join(gallery(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
