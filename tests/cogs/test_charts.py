"""The PNG charts: valid images of the expected size, winners in the stronger colour, odd inputs handled."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from PIL import Image, ImageChops

from cogs._charts import (
    BACKGROUND,
    BAR_COLOUR,
    ELIMINATED_COLOUR,
    HIGHLIGHT_COLOUR,
    LINE_COLOUR,
    MAX_BARS,
    MAX_ROUNDS,
    WIDTH,
    render_bar_chart,
    render_line_chart,
    render_stacked_rounds_chart,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RGB = tuple[int, int, int]


def _open(png: bytes) -> Image.Image:
    image = Image.open(BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.width == WIDTH
    return image.convert("RGB")


def _mask(image: Image.Image, colour: RGB) -> Image.Image:
    """A black and white image: white exactly where ``image`` has ``colour``."""
    channels = [
        band.point(lambda value, wanted=wanted: 255 if value == wanted else 0)
        for band, wanted in zip(image.split(), colour, strict=True)
    ]
    return ImageChops.darker(ImageChops.darker(channels[0], channels[1]), channels[2])


def _bands(image: Image.Image, colour: RGB, *, min_run: int = 20) -> list[tuple[int, int]]:
    """The vertical extents of the horizontal shapes in ``colour``: rows holding at least ``min_run``
    pixels of it, grouped into runs of consecutive rows."""
    mask = _mask(image, colour)
    rows = [
        y for y in range(image.height) if mask.crop((0, y, image.width, y + 1)).histogram()[255] >= min_run
    ]
    bands: list[tuple[int, int]] = []
    for y in rows:
        if bands and bands[-1][1] == y - 1:
            bands[-1] = (bands[-1][0], y)
        else:
            bands.append((y, y))
    return bands


def _box(image: Image.Image, colour: RGB) -> tuple[int, int, int, int]:
    """The bounding box of every pixel in ``colour`` (left, top, right, bottom, all inclusive)."""
    box = _mask(image, colour).getbbox()
    assert box is not None, f"no pixel of {colour} in the image"
    return box[0], box[1], box[2] - 1, box[3] - 1


def _bar_heights(counts: Iterable[int]) -> list[int]:
    return [
        _open(render_bar_chart("Poll", [f"Option {i}" for i in range(n)], [1] * n)).height for n in counts
    ]


# --- bar chart -------------------------------------------------------------------------------------------


def test_bar_chart_is_a_png_800_wide_with_one_bar_per_label() -> None:
    image = _open(
        render_bar_chart("Which logo?", ["Leaf", "Circle", "Star"], [5, 3, 1], subtitle="9 of 12 voted")
    )

    assert len(_bands(image, BAR_COLOUR)) == 3
    assert image.getpixel((0, 0)) == BACKGROUND


def test_bar_chart_height_grows_with_the_bars() -> None:
    heights = _bar_heights([1, 2, 5, 10])

    assert heights == sorted(heights)
    assert len(set(heights)) == len(heights)


def test_forty_bars_are_capped_with_a_more_line() -> None:
    capped, at_cap, over_cap = _bar_heights([40, MAX_BARS, MAX_BARS + 1])

    assert capped == over_cap > at_cap
    image = _open(render_bar_chart("Poll", [f"Option {i}" for i in range(40)], list(range(40, 0, -1))))
    assert len(_bands(image, BAR_COLOUR, min_run=5)) == MAX_BARS


def test_the_winning_bar_is_drawn_in_the_highlight_colour() -> None:
    plain = _open(render_bar_chart("Lunch", ["Soup", "Salad", "Pie"], [2, 6, 1]))
    image = _open(render_bar_chart("Lunch", ["Soup", "Salad", "Pie"], [2, 6, 1], highlight={1}))

    assert _bands(plain, HIGHLIGHT_COLOUR) == []
    left, top, right, bottom = _box(image, HIGHLIGHT_COLOUR)
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == HIGHLIGHT_COLOUR
    # It is the middle bar: one ordinary bar above it and one below.
    above, below = _bands(image, BAR_COLOUR)
    assert above[1] < top <= bottom < below[0]
    # The longest value gets the longest bar.
    assert right - left > 200


def test_several_winners_are_all_highlighted() -> None:
    image = _open(render_bar_chart("Tie", ["A", "B", "C"], [4, 4, 1], highlight=[0, 1]))

    assert len(_bands(image, HIGHLIGHT_COLOUR)) == 2
    assert len(_bands(image, BAR_COLOUR)) == 1


def test_all_zero_values_draw_no_bars() -> None:
    image = _open(render_bar_chart("Quiet", ["Yes", "No"], [0, 0], highlight={0}))

    assert _bands(image, BAR_COLOUR, min_run=1) == []
    assert _bands(image, HIGHLIGHT_COLOUR, min_run=1) == []


def test_no_labels_renders_a_no_votes_chart() -> None:
    image = _open(render_bar_chart("Nothing yet", [], [], subtitle="0 of 9 voted"))

    assert image.height < _bar_heights([1])[0] + 60


def test_value_format_gets_floats() -> None:
    seen: list[float] = []

    def money(value: float) -> str:
        seen.append(value)
        return f"{value:.2f} EUR"

    _open(render_bar_chart("Budget", ["Rent", "Food"], [1200, 350.5], value_format=money))

    assert seen[:2] == [1200.0, 350.5]
    assert all(isinstance(value, float) for value in seen)


def test_long_and_unusual_labels_do_not_break_the_chart() -> None:
    labels = [
        "x" * 500,
        "Café ☕ 中文 🎉 עברית",
        "line\nbreak\ttab\x00nul",
        "",
        "\u200d\U0001f468\u200d\U0001f469",
    ]
    png = render_bar_chart("🎉 " + "Title " * 100, labels, [1, 2, 3, 4, 5], subtitle="sub\n" * 50)

    assert len(_bands(_open(png), BAR_COLOUR)) == 5


def test_negative_values_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        render_bar_chart("Bad", ["A", "B"], [3, -1])


@pytest.mark.parametrize(
    ("labels", "values", "highlight"),
    [(["A", "B"], [1], ()), (["A"], [float("nan")], ()), (["A"], [1], (1,)), ([], [], (0,))],
)
def test_inconsistent_bar_input_is_refused(
    labels: list[str], values: list[float], highlight: tuple[int, ...]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        render_bar_chart("Bad", labels, values, highlight=highlight)


def test_bar_chart_is_deterministic() -> None:
    def render() -> bytes:
        return render_bar_chart("Same", ["A", "B", "C"], [3, 2.5, 0], subtitle="again", highlight={0})

    assert render() == render()


# --- instant-runoff rounds -------------------------------------------------------------------------------

OPTIONS = ["Green leaf", "Blue circle", "Red star", "Hands"]
ROUNDS = [[4, 3, 2, 1], [4, 4, 2, 0], [5, 4, 0, 0]]


def test_rounds_chart_shows_each_round_with_the_eliminated_and_the_winner() -> None:
    png = render_stacked_rounds_chart(
        "Logo", OPTIONS, ROUNDS, eliminated=[3, 2, None], highlight={0}, exhausted=[0, 0, 1]
    )
    image = _open(png)

    # Rounds of 4, 3 and 2 standing options: the winner in each, one eliminated in each but the last.
    assert len(_bands(image, HIGHLIGHT_COLOUR)) == 3
    assert len(_bands(image, ELIMINATED_COLOUR)) == 2
    assert len(_bands(image, BAR_COLOUR)) == 4
    left, _, _, _ = _box(image, ELIMINATED_COLOUR)
    top, bottom = _bands(image, ELIMINATED_COLOUR)[0]
    assert image.getpixel((left + 10, (top + bottom) // 2)) == ELIMINATED_COLOUR


def test_rounds_chart_grows_with_rounds_and_caps_them() -> None:
    def render(rounds: int) -> Image.Image:
        """``rounds`` rounds of a count where the last option stands to the end and wins."""
        labels = [f"Option {i}" for i in range(rounds + 1)]
        counts = [[1] * len(labels) for _ in range(rounds)]
        eliminated: list[int | None] = [*range(rounds - 1), None]
        png = render_stacked_rounds_chart("IRV", labels, counts, eliminated=eliminated, highlight={rounds})
        return _open(png)

    heights = [render(rounds).height for rounds in (1, 2, 3)]
    assert heights == sorted(heights)
    assert len(set(heights)) == 3
    # The winner has a bar in every round drawn: all of them below the cap, MAX_ROUNDS above it.
    assert len(_bands(render(5), HIGHLIGHT_COLOUR)) == 5
    assert len(_bands(render(MAX_ROUNDS + 8), HIGHLIGHT_COLOUR)) == MAX_ROUNDS


def test_rounds_chart_without_rounds_says_no_votes() -> None:
    _open(render_stacked_rounds_chart("IRV", OPTIONS, [], eliminated=[]))
    _open(render_stacked_rounds_chart("IRV", [], [[]], eliminated=[None]))


@pytest.mark.parametrize(
    ("rounds", "eliminated"),
    [
        ([[1, 2, 3, 4]], []),  # an eliminated entry per round
        ([[1, 2, 3]], [None]),  # a count per option
        ([[1, -2, 3, 4]], [None]),  # no negative counts
        ([[1, 2, 3, 4], [1, 2, 3, 4]], [0, 0]),  # an option goes out once
        ([[1, 2, 3, 4]], [7]),  # ... and exists
    ],
)
def test_inconsistent_rounds_are_refused(rounds: list[list[int]], eliminated: list[int | None]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        render_stacked_rounds_chart("IRV", OPTIONS, rounds, eliminated=eliminated)


def test_rounds_chart_is_deterministic() -> None:
    def render() -> bytes:
        return render_stacked_rounds_chart("Logo", OPTIONS, ROUNDS, eliminated=[3, 2, None], highlight={0})

    assert render() == render()


# --- a fund over time ------------------------------------------------------------------------------------


def _balances() -> list[tuple[datetime, int]]:
    return [
        (START, 0),
        (START + timedelta(days=3), 12_000),
        (START + timedelta(days=10), 9_500),
        (START + timedelta(days=20), 30_000),
        (START + timedelta(days=41), 21_050),
    ]


def test_line_chart_draws_a_step_line() -> None:
    image = _open(
        render_line_chart("General fund", _balances(), value_format=lambda v: f"{v / 100:,.2f} EUR")
    )

    left, top, right, bottom = _box(image, LINE_COLOUR)
    assert right - left > WIDTH // 2
    assert bottom - top > 100
    # Steps only: the line is made of horizontal runs, so some rows hold long runs of the line colour.
    assert len(_bands(image, LINE_COLOUR, min_run=100)) >= 2


def test_line_chart_labels_round_values_with_the_format() -> None:
    seen: list[float] = []

    def money(value: float) -> str:
        seen.append(value)
        return f"{value / 100:,.2f} EUR"

    render_line_chart("General fund", _balances(), value_format=money)

    assert min(seen) <= 0 and max(seen) >= 30_000
    assert 3 <= len(seen) <= 6
    assert all(value.is_integer() for value in seen)  # int data: whole-number ticks


def test_line_chart_sorts_points_and_accepts_negative_values() -> None:
    points = [(START + timedelta(days=5), -300.5), (START, 100.0), (START + timedelta(days=1), 50.25)]

    assert render_line_chart("Fund", points) == render_line_chart("Fund", sorted(points))


def test_line_chart_handles_one_point_and_no_points() -> None:
    single = _open(render_line_chart("Fund", [(START, 500)]))
    same_moment = _open(render_line_chart("Fund", [(START, 500), (START, 700)]))
    zero = _open(render_line_chart("Fund", [(START, 0)]))
    empty = _open(render_line_chart("Fund", []))

    left, _, right, _ = _box(single, LINE_COLOUR)
    assert right - left > WIDTH // 2  # a flat line across the plot
    assert same_moment.height == single.height == zero.height
    assert empty.height < single.height


def test_line_chart_refuses_non_finite_values() -> None:
    with pytest.raises(ValueError, match="finite"):
        render_line_chart("Fund", [(START, float("inf"))])


def test_line_chart_is_deterministic() -> None:
    assert render_line_chart("Fund", _balances()) == render_line_chart("Fund", _balances())
