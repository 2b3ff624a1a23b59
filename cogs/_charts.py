"""Charts as PNG images: the tally of a decision, the rounds of an instant-runoff count, a fund over time.

Every renderer here is pure and synchronous: plain values in, PNG bytes out, no Discord and no I/O. Drawing
costs CPU (about 50 ms for a poll, up to a few hundred for a long runoff), so the cogs call them with
``await asyncio.to_thread(render_..., ...)`` and never on the event loop. Nothing is shared between calls
(each call loads its own fonts), so several renders may run in threads at once.

The same input always gives the same bytes (no timestamps or metadata in the PNG).

Text is drawn as given with Pillow's built-in scalable font (``ImageFont.load_default(size=...)``, Pillow
>= 10.1 with FreeType, which every Pillow wheel has). That font covers ASCII and a few marks ("…", "·",
quotes); any other character (accents, CJK, emoji) is drawn as a box, never an error. Control characters
and line breaks become spaces so that a label stays on its line.

The colours suit Discord's dark theme (the chart background is Discord's own #2b2d31); they are public so
that tests can look for them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "BACKGROUND",
    "BAR_COLOUR",
    "ELIMINATED_COLOUR",
    "HIGHLIGHT_COLOUR",
    "LINE_COLOUR",
    "MAX_BARS",
    "MAX_ROUNDS",
    "WIDTH",
    "render_bar_chart",
    "render_line_chart",
    "render_stacked_rounds_chart",
]

RGB = tuple[int, int, int]

WIDTH = 800
MAX_BARS = 25  # bars beyond this are summarised in one "+N more" line
MAX_ROUNDS = 12  # instant-runoff rounds shown; beyond it the middle ones are summarised

BACKGROUND: RGB = (0x2B, 0x2D, 0x31)
TEXT_COLOUR: RGB = (0xF2, 0xF3, 0xF5)
MUTED_COLOUR: RGB = (0xB5, 0xBA, 0xC1)
GRID_COLOUR: RGB = (0x3F, 0x41, 0x47)
BAR_COLOUR: RGB = (0x4E, 0x50, 0x58)
HIGHLIGHT_COLOUR: RGB = (0x58, 0x65, 0xF2)  # Discord blurple: the winners
ELIMINATED_COLOUR: RGB = (0x8C, 0x3A, 0x3E)  # a muted red: the option that drops out of a runoff round
ELIMINATED_TEXT_COLOUR: RGB = (0xF2, 0x7A, 0x7E)
LINE_COLOUR: RGB = HIGHLIGHT_COLOUR
LINE_FILL_COLOUR: RGB = (0x35, 0x3A, 0x5E)  # blurple at about 20% over the background

PAD = 24
TITLE_SIZE = 22
SUBTITLE_SIZE = 15
BODY_SIZE = 15
SMALL_SIZE = 13
TITLE_LINE = 30
SUBTITLE_LINE = 22
HEADER_GAP = 14

ROW_HEIGHT = 34  # bar chart: one row per bar
BAR_HEIGHT = 24
ROUND_ROW_HEIGHT = 28  # instant-runoff chart: smaller rows, one block per round
ROUND_BAR_HEIGHT = 20
ROUND_HEADER_HEIGHT = 28
ROUND_GAP = 10
EMPTY_HEIGHT = 70  # room for the "No votes yet" message

MAX_LABEL_WIDTH = 240
MAX_VALUE_WIDTH = 200
LABEL_GAP = 12
VALUE_GAP = 8
BAR_RADIUS = 4

LINE_HEIGHT = 420  # the line chart has a fixed size
LINE_WIDTH = 3
MAX_DOTS = 40  # above this many points, the change points are not marked with dots
Y_TICKS_TARGET = 4
ELLIPSIS = "…"

ValueFormat = Callable[[float], str]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


# --- shared helpers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fonts:
    title: Font
    subtitle: Font
    body: Font
    small: Font


def _fonts() -> _Fonts:
    """Fresh font objects per render: cheap (well under a millisecond) and never shared between threads."""
    return _Fonts(
        title=ImageFont.load_default(size=TITLE_SIZE),
        subtitle=ImageFont.load_default(size=SUBTITLE_SIZE),
        body=ImageFont.load_default(size=BODY_SIZE),
        small=ImageFont.load_default(size=SMALL_SIZE),
    )


def _clean(text: str) -> str:
    """One line of text: control characters (line breaks, tabs, NUL...) become spaces, runs of spaces one."""
    spaced = "".join(" " if unicodedata.category(char) == "Cc" else char for char in str(text))
    return " ".join(spaced.split())


def _width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _fit(text: str, font: Font, max_width: float) -> str:
    """``text`` cleaned, and cut with "…" so that it is at most ``max_width`` pixels wide."""
    text = _clean(text)
    if _width(font, text) <= max_width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis lies in [low, high)
    while low < high:
        middle = (low + high + 1) // 2
        if _width(font, text[:middle].rstrip() + ELLIPSIS) <= max_width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def _default_format(value: float) -> str:
    """Whole numbers with thousands separators ("1,234"); others with two decimals ("12.50")."""
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _check_finite(values: Sequence[int | float], *, what: str, allow_negative: bool) -> list[float]:
    checked: list[float] = []
    for value in values:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{what} must be finite numbers, got {value!r}")
        if number < 0 and not allow_negative:
            raise ValueError(f"{what} must not be negative, got {value!r}")
        checked.append(number)
    return checked


def _header_height(subtitle: str | None) -> int:
    return PAD + TITLE_LINE + (SUBTITLE_LINE if subtitle else 0) + HEADER_GAP


def _draw_header(draw: ImageDraw.ImageDraw, fonts: _Fonts, title: str, subtitle: str | None) -> int:
    """The title and the optional subtitle at the top left; returns the y where the chart itself starts."""
    inner = WIDTH - 2 * PAD
    draw.text(
        (PAD, PAD + TITLE_LINE // 2),
        _fit(title, fonts.title, inner),
        fill=TEXT_COLOUR,
        font=fonts.title,
        anchor="lm",
    )
    y = PAD + TITLE_LINE
    if subtitle:
        draw.text(
            (PAD, y + SUBTITLE_LINE // 2),
            _fit(subtitle, fonts.subtitle, inner),
            fill=MUTED_COLOUR,
            font=fonts.subtitle,
            anchor="lm",
        )
        y += SUBTITLE_LINE
    return y + HEADER_GAP


def _new_image(height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    return image, ImageDraw.Draw(image)


def _png(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _render_message(title: str, subtitle: str | None, message: str) -> bytes:
    """A chart with nothing to plot: the header and a short message in its place."""
    fonts = _fonts()
    top = _header_height(subtitle)
    image, draw = _new_image(top + EMPTY_HEIGHT + PAD)
    _draw_header(draw, fonts, title, subtitle)
    draw.text(
        (WIDTH // 2, top + EMPTY_HEIGHT // 2),
        _fit(message, fonts.body, WIDTH - 2 * PAD),
        fill=MUTED_COLOUR,
        font=fonts.body,
        anchor="mm",
    )
    return _png(image)


# --- horizontal bars -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bar:
    label: str
    value: float
    value_text: str
    fill: RGB
    text_fill: RGB = TEXT_COLOUR


@dataclass(frozen=True)
class _BarLayout:
    """Where the columns go: labels on the left, then the bars, then room for the widest value."""

    label_width: float
    bar_x: int
    bar_max: int
    scale_max: float

    @classmethod
    def fit(
        cls, font: Font, labels: Sequence[str], value_texts: Sequence[str], scale_max: float
    ) -> _BarLayout:
        label_width = min(
            max((_width(font, _clean(label)) for label in labels), default=0.0), MAX_LABEL_WIDTH
        )
        value_width = min(
            max((_width(font, _clean(text)) for text in value_texts), default=0.0), MAX_VALUE_WIDTH
        )
        bar_x = PAD + math.ceil(label_width) + LABEL_GAP
        bar_max = WIDTH - PAD - math.ceil(value_width) - VALUE_GAP - bar_x
        return cls(label_width=label_width, bar_x=bar_x, bar_max=bar_max, scale_max=scale_max)

    def length(self, value: float) -> int:
        if self.scale_max <= 0 or value <= 0:
            return 0
        return max(2, round(value / self.scale_max * self.bar_max))  # a non-zero value always shows


def _draw_bar(
    draw: ImageDraw.ImageDraw,
    font: Font,
    layout: _BarLayout,
    bar: _Bar,
    y: int,
    row_height: int,
    bar_height: int,
) -> None:
    """One row: the label right-aligned before the bar, the bar, and the value just after its end."""
    middle = y + row_height // 2
    label = _fit(bar.label, font, layout.label_width)
    draw.text((layout.bar_x - LABEL_GAP, middle), label, fill=TEXT_COLOUR, font=font, anchor="rm")
    length = layout.length(bar.value)
    if length:
        top = middle - bar_height // 2
        radius = min(BAR_RADIUS, length // 2)
        box = (layout.bar_x, top, layout.bar_x + length - 1, top + bar_height - 1)
        draw.rounded_rectangle(box, radius=radius, fill=bar.fill)
    value_text = _fit(bar.value_text, font, MAX_VALUE_WIDTH)
    draw.text(
        (layout.bar_x + length + VALUE_GAP, middle), value_text, fill=bar.text_fill, font=font, anchor="lm"
    )


def _draw_note(draw: ImageDraw.ImageDraw, font: Font, text: str, y: int, row_height: int) -> None:
    """A muted line across the chart ("+15 more ...")."""
    draw.text(
        (PAD, y + row_height // 2),
        _fit(text, font, WIDTH - 2 * PAD),
        fill=MUTED_COLOUR,
        font=font,
        anchor="lm",
    )


def render_bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[int | float],
    *,
    subtitle: str | None = None,
    value_format: ValueFormat | None = None,
    highlight: Collection[int] = (),
) -> bytes:
    """Horizontal bars, one per label in the order given, as a PNG 800 pixels wide.

    ``highlight`` holds indices of ``labels`` (the winners), drawn in a stronger colour. The value is written
    at the end of each bar with ``value_format`` (it gets a float; whole numbers by default "1,234").
    Bars scale to the largest value (all zero: no bars, only the values). The height grows with the
    number of bars; past :data:`MAX_BARS` the rest are summarised as "+N more", so callers should pass
    the bars sorted as they want them shown. No labels at all gives a "No votes yet" chart.

    Raises ValueError for a negative or non-finite value, for ``labels`` and ``values`` of different
    lengths, and for a highlight index that names no label.
    """
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values")
    numbers = _check_finite(values, what="bar values", allow_negative=False)
    chosen = set(highlight)
    if any(not 0 <= index < len(labels) for index in chosen):
        raise ValueError(f"highlight {sorted(chosen)} names bars outside 0..{len(labels) - 1}")
    if not labels:
        return _render_message(title, subtitle, "No votes yet")

    show = value_format or _default_format
    shown = range(min(len(labels), MAX_BARS))
    hidden = len(labels) - len(shown)
    bars = [
        _Bar(
            label=labels[index],
            value=numbers[index],
            value_text=show(numbers[index]),
            fill=HIGHLIGHT_COLOUR if index in chosen else BAR_COLOUR,
        )
        for index in shown
    ]

    fonts = _fonts()
    layout = _BarLayout.fit(
        fonts.body, [bar.label for bar in bars], [bar.value_text for bar in bars], max(numbers)
    )
    top = _header_height(subtitle)
    rows = len(bars) + (1 if hidden else 0)
    image, draw = _new_image(top + rows * ROW_HEIGHT + PAD)
    y = _draw_header(draw, fonts, title, subtitle)
    for bar in bars:
        _draw_bar(draw, fonts.body, layout, bar, y, ROW_HEIGHT, BAR_HEIGHT)
        y += ROW_HEIGHT
    if hidden:
        rest = sum(numbers[len(shown) :])
        _draw_note(draw, fonts.body, f"+{hidden} more ({show(rest)} in total)", y, ROW_HEIGHT)
    return _png(image)


# --- instant-runoff rounds -------------------------------------------------------------------------------


def _check_rounds(
    option_labels: Sequence[str],
    rounds: Sequence[Sequence[int]],
    eliminated: Sequence[int | None],
    exhausted: Sequence[int],
    highlight: Collection[int],
) -> list[list[float]]:
    if len(eliminated) != len(rounds):
        raise ValueError(f"{len(rounds)} rounds but {len(eliminated)} eliminated entries")
    if exhausted and len(exhausted) != len(rounds):
        raise ValueError(f"{len(rounds)} rounds but {len(exhausted)} exhausted entries")
    counts: list[list[float]] = []
    for number, counts_in_round in enumerate(rounds, start=1):
        if len(counts_in_round) != len(option_labels):
            raise ValueError(
                f"round {number} has {len(counts_in_round)} counts for {len(option_labels)} options"
            )
        counts.append(_check_finite(counts_in_round, what="round counts", allow_negative=False))
    _check_finite(exhausted, what="exhausted counts", allow_negative=False)
    out: set[int] = set()
    for number, index in enumerate(eliminated, start=1):
        if index is None:
            continue
        if not 0 <= index < len(option_labels) or index in out:
            raise ValueError(f"round {number} eliminates option {index}, which is unknown or already out")
        out.add(index)
    if any(not 0 <= index < len(option_labels) for index in highlight):
        raise ValueError(f"highlight {sorted(highlight)} names options outside 0..{len(option_labels) - 1}")
    return counts


def _shown_rounds(count: int) -> tuple[list[int], int]:
    """The rounds to draw, and after which position the "rounds ... not shown" note goes (-1: none)."""
    if count <= MAX_ROUNDS:
        return list(range(count)), -1
    half = MAX_ROUNDS // 2
    return [*range(half), *range(count - half, count)], half - 1


def render_stacked_rounds_chart(
    title: str,
    option_labels: Sequence[str],
    rounds: Sequence[Sequence[int]],
    *,
    eliminated: Sequence[int | None],
    subtitle: str | None = None,
    highlight: Collection[int] = (),
    exhausted: Sequence[int] = (),
) -> bytes:
    """An instant-runoff count as a PNG 800 pixels wide: one small bar chart per round, stacked downwards.

    ``rounds[i][j]`` is option j's count in round i; ``eliminated[i]`` the option eliminated at the end of
    round i (None for the final round), as in ``governance.tally.IrvRound``. Each round shows the options
    still standing, in the order given, on one scale for the whole chart so that transfers show as growth;
    the eliminated option is drawn in muted red and marked "eliminated". ``highlight`` holds the winners'
    indices (drawn in the stronger colour in every round, to follow them down); ``exhausted[i]``, when
    given, is shown in round i's heading. Past :data:`MAX_ROUNDS` rounds the middle ones are summarised.
    No rounds (or no options) gives a "No votes yet" chart.

    Raises ValueError for negative or non-finite counts, rounds whose length is not the number of options,
    an ``eliminated`` (or non-empty ``exhausted``) of another length than ``rounds``, an option eliminated
    twice or unknown, and a highlight index that names no option.
    """
    chosen = set(highlight)
    counts = _check_rounds(option_labels, rounds, eliminated, exhausted, chosen)
    if not rounds or not option_labels:
        return _render_message(title, subtitle, "No votes yet")

    # The options still standing at the start of each round.
    standing: list[list[int]] = []
    out: set[int] = set()
    for index in eliminated:
        standing.append([option for option in range(len(option_labels)) if option not in out])
        if index is not None:
            out.add(index)

    shown, note_after = _shown_rounds(len(rounds))
    blocks: list[tuple[str, list[_Bar], int]] = []  # heading, bars, hidden options
    for round_index in shown:
        bars: list[_Bar] = []
        for option in standing[round_index]:
            value = counts[round_index][option]
            if option == eliminated[round_index]:
                bars.append(
                    _Bar(
                        option_labels[option],
                        value,
                        f"{_default_format(value)} · eliminated",
                        ELIMINATED_COLOUR,
                        ELIMINATED_TEXT_COLOUR,
                    )
                )
            else:
                fill = HIGHLIGHT_COLOUR if option in chosen else BAR_COLOUR
                bars.append(_Bar(option_labels[option], value, _default_format(value), fill))
        total = sum(counts[round_index])
        heading = f"{_default_format(total)} {'vote' if total == 1 else 'votes'}"
        if exhausted:
            heading += f", {_default_format(float(exhausted[round_index]))} exhausted"
        blocks.append((heading, bars[:MAX_BARS], max(0, len(bars) - MAX_BARS)))

    fonts = _fonts()
    every_bar = [bar for _, bars, _ in blocks for bar in bars]
    scale_max = max(max(row) for row in counts)
    layout = _BarLayout.fit(
        fonts.small, [bar.label for bar in every_bar], [bar.value_text for bar in every_bar], scale_max
    )
    top = _header_height(subtitle)
    height = top + PAD - ROUND_GAP
    for _, bars, hidden in blocks:
        height += ROUND_HEADER_HEIGHT + (len(bars) + (1 if hidden else 0)) * ROUND_ROW_HEIGHT + ROUND_GAP
    if note_after >= 0:
        height += ROUND_HEADER_HEIGHT + ROUND_GAP

    image, draw = _new_image(height)
    y = _draw_header(draw, fonts, title, subtitle)
    for position, (round_index, (heading, bars, hidden)) in enumerate(zip(shown, blocks, strict=True)):
        name = f"Round {round_index + 1}"
        middle = y + ROUND_HEADER_HEIGHT // 2
        draw.text((PAD, middle), name, fill=TEXT_COLOUR, font=fonts.body, anchor="lm")
        after = PAD + math.ceil(_width(fonts.body, name))
        draw.text((after, middle), f"  ·  {heading}", fill=MUTED_COLOUR, font=fonts.small, anchor="lm")
        y += ROUND_HEADER_HEIGHT
        for bar in bars:
            _draw_bar(draw, fonts.small, layout, bar, y, ROUND_ROW_HEIGHT, ROUND_BAR_HEIGHT)
            y += ROUND_ROW_HEIGHT
        if hidden:
            _draw_note(draw, fonts.small, f"+{hidden} more", y, ROUND_ROW_HEIGHT)
            y += ROUND_ROW_HEIGHT
        y += ROUND_GAP
        if position == note_after:
            first, last = shown[position] + 2, shown[position + 1]
            _draw_note(draw, fonts.small, f"Rounds {first} to {last} not shown", y, ROUND_HEADER_HEIGHT)
            y += ROUND_HEADER_HEIGHT + ROUND_GAP
    return _png(image)


# --- a value over time -----------------------------------------------------------------------------------


def _nice_ticks(low: float, high: float, *, whole: bool) -> list[float]:
    """Round axis values covering [low, high] in steps of 1, 2 or 5 times a power of ten, about 4 steps.

    ``whole``: the data are integers, so the steps are too (no "0.5" on an axis of votes or cents).
    """
    if high <= low:
        if low == 0:
            low, high = 0.0, float(Y_TICKS_TARGET)
        else:  # one level only: show it against zero
            low, high = min(0.0, low), max(0.0, high)
    span = high - low
    magnitude = 10.0 ** math.floor(math.log10(span / Y_TICKS_TARGET))
    step = 10 * magnitude
    for multiple in (1, 2, 5, 10):
        candidate = multiple * magnitude
        if whole and candidate < 1:
            continue
        if math.ceil(high / candidate) - math.floor(low / candidate) <= Y_TICKS_TARGET + 1:
            step = candidate
            break
    start = math.floor(low / step)
    end = math.ceil(high / step)
    return [float(f"{tick * step:.12g}") for tick in range(start, end + 1)]


def render_line_chart(
    title: str,
    points: Sequence[tuple[datetime, int | float]],
    *,
    value_format: ValueFormat | None = None,
    subtitle: str | None = None,
) -> bytes:
    """A value over time (a fund's balance) as a step line, as a PNG 800 by 420 pixels.

    The value holds from each point until the next (balances change at discrete moments); points are
    sorted by time here. The y axis is labelled at round values covering the data (whole numbers when
    every value is an int, e.g. minor units) with ``value_format``; the x axis with the first and last
    dates (YYYY-MM-DD, in the datetimes' own timezone, so convert to the guild's first) and one between
    when there is room. A single point (or points all at one moment) draws a flat line; no points gives a
    "No movements yet" chart. Negative values are fine here; non-finite ones raise ValueError. The
    datetimes must be all aware or all naive.
    """
    values = _check_finite([value for _, value in points], what="line values", allow_negative=True)
    if not points:
        return _render_message(title, subtitle, "No movements yet")
    ordered = sorted(zip([moment for moment, _ in points], values, strict=True), key=lambda point: point[0])
    show = value_format or _default_format
    whole = all(isinstance(value, int) for _, value in points)
    ticks = _nice_ticks(min(values), max(values), whole=whole)
    tick_texts = [_clean(show(tick)) for tick in ticks]

    fonts = _fonts()
    image, draw = _new_image(LINE_HEIGHT)
    plot_top = _draw_header(draw, fonts, title, subtitle) + 8
    label_width = min(max(_width(fonts.small, text) for text in tick_texts), MAX_VALUE_WIDTH)
    left = PAD + math.ceil(label_width) + LABEL_GAP
    right = WIDTH - PAD - 8
    bottom = LINE_HEIGHT - PAD - 22  # room for the dates below

    low, high = ticks[0], ticks[-1]

    def y_of(value: float) -> int:
        return round(bottom - (value - low) / (high - low) * (bottom - plot_top))

    for tick, text in zip(ticks, tick_texts, strict=True):
        draw.text(
            (left - LABEL_GAP, y_of(tick)),
            _fit(text, fonts.small, MAX_VALUE_WIDTH),
            fill=MUTED_COLOUR,
            font=fonts.small,
            anchor="rm",
        )

    first, last = ordered[0][0], ordered[-1][0]
    span = (last - first).total_seconds()

    def x_of(moment: datetime) -> int:
        return round(left + (moment - first).total_seconds() / span * (right - left))

    if span <= 0:  # one moment: the value it ended at, across the whole plot
        path = [(left, y_of(ordered[-1][1])), (right, y_of(ordered[-1][1]))]
        dots = [((left + right) // 2, y_of(ordered[-1][1]))]
    else:
        path = [(x_of(ordered[0][0]), y_of(ordered[0][1]))]
        for moment, value in ordered[1:]:
            x = x_of(moment)
            path.append((x, path[-1][1]))  # the level holds until this moment, then jumps
            path.append((x, y_of(value)))
        dots = [(x_of(moment), y_of(value)) for moment, value in ordered]
    zero_line = min(max(y_of(0.0), plot_top), bottom)
    draw.polygon([*path, (path[-1][0], zero_line), (path[0][0], zero_line)], fill=LINE_FILL_COLOUR)
    for tick in ticks:  # over the fill, under the line
        draw.line([(left, y_of(tick)), (right, y_of(tick))], fill=GRID_COLOUR, width=1)
    draw.line(path, fill=LINE_COLOUR, width=LINE_WIDTH)
    if len(dots) <= MAX_DOTS:
        for x, y in dots:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=LINE_COLOUR)

    date_y = bottom + 8
    first_date, last_date = first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
    if first_date == last_date:
        draw.text(((left + right) // 2, date_y), first_date, fill=MUTED_COLOUR, font=fonts.small, anchor="ma")
    else:
        draw.text((left, date_y), first_date, fill=MUTED_COLOUR, font=fonts.small, anchor="la")
        draw.text((right, date_y), last_date, fill=MUTED_COLOUR, font=fonts.small, anchor="ra")
        middle_date = (first + (last - first) / 2).strftime("%Y-%m-%d")
        if middle_date not in (first_date, last_date):
            draw.text(
                ((left + right) // 2, date_y), middle_date, fill=MUTED_COLOUR, font=fonts.small, anchor="ma"
            )
    return _png(image)
