"""The charts: PNGs 800 pixels wide whose colours say what each bar means, text in every script a
cooperative writes (never a box for a missing glyph), an alt text that says the same in words, and odd
inputs refused."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from cogs._charts import (
    BACKGROUND,
    DESCRIPTION_LIMIT,
    MAX_BARS,
    MAX_ROUNDS,
    TONE_COLOURS,
    WIDTH,
    Chart,
    Tone,
    drawable,
    render_bar_chart,
    render_line_chart,
    render_stacked_rounds_chart,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAMES = [
    "Kōwhai",
    "Tāmaki hui",
    "Ελληνικά",
    "Кооператив",
    "Café coopératif",
    "Ngā mihi",
    "協同組合",
    "🎉 Party",
]


def _image(chart: Chart) -> Image.Image:
    image = Image.open(BytesIO(chart.png))
    image.load()
    assert image.format == "PNG"
    assert image.width == WIDTH
    return image.convert("RGB")


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _pixels(image: Image.Image, colour: str) -> int:
    """How many pixels have exactly ``colour`` (a bar's fill is solid inside its edges)."""
    wanted = _rgb(colour)
    return sum(count for count, rgb in image.getcolors(maxcolors=1 << 20) or [] if rgb == wanted)


def _no_missing_glyph(render: Callable[[], Chart]) -> Chart:
    """Render, failing on any warning matplotlib gives (a missing glyph is one: "Glyph ... missing")."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render()


# --- text in every script -------------------------------------------------------------------------


def test_latin_with_diacritics_greek_and_cyrillic_are_drawn_as_written() -> None:
    for name in NAMES[:6]:
        assert drawable(name) == name


def test_a_script_no_installed_font_has_becomes_a_clear_substitute_never_a_box() -> None:
    shown = drawable("協同組合 🎉")
    # Either an installed font draws it, or each character is a "?"; never a character left to a box.
    assert shown in ("協同組合 🎉", "???? ?", "協同組合 ?", "???? 🎉")
    assert drawable("line\nbreak\tand\u200bzero width") == "line break andzero width"


@pytest.mark.parametrize(
    "render",
    [
        lambda: render_bar_chart(
            " ".join(NAMES[6:]), NAMES, list(range(len(NAMES))), highlight=[0], subtitle=" ".join(NAMES[5:])
        ),
        lambda: render_stacked_rounds_chart(
            NAMES[6],
            NAMES[4:],
            [[4, 3, 2, 1], [4, 4, 2, 0], [6, 4, 0, 0]],
            eliminated=[3, 2, None],
            highlight=[0],
        ),
        lambda: render_line_chart(
            NAMES[7],
            [(START, 100), (START + timedelta(days=4), 250)],
            subtitle=NAMES[6],
            value_label=NAMES[6],
        ),
    ],
    ids=["bars", "rounds", "line"],
)
def test_every_chart_draws_every_name_without_a_missing_glyph(render: Callable[[], Chart]) -> None:
    chart = _no_missing_glyph(render)
    image = _image(chart)
    assert _pixels(image, BACKGROUND) > image.width * image.height // 3
    assert any(name in chart.description for name in NAMES)


def test_the_alt_text_keeps_every_script_even_where_the_chart_substitutes() -> None:
    chart = render_bar_chart("協同組合 vote", ["協同組合", "Кооператив"], [2, 1])
    assert "協同組合: 2" in chart.description and "Кооператив: 1" in chart.description


# --- bars ---------------------------------------------------------------------------------------


def test_colours_say_which_way_a_consent_result_went() -> None:
    chart = render_bar_chart(
        "#3 Shared kitchen", ["No objection", "Objection"], [5, 2], tones=[Tone.FOR, Tone.AGAINST]
    )
    image = _image(chart)
    assert _pixels(image, TONE_COLOURS[Tone.FOR]) > 2 * _pixels(image, TONE_COLOURS[Tone.AGAINST]) > 0
    assert _pixels(image, TONE_COLOURS[Tone.NEUTRAL]) == 0
    assert chart.description == "Bar chart: #3 Shared kitchen. No objection: 5; Objection: 2."


def test_abstention_is_grey_and_the_winner_gold() -> None:
    toned = _image(render_bar_chart("t", ["Agree", "Abstain"], [3, 1], tones=[Tone.FOR, Tone.ABSTAIN]))
    assert _pixels(toned, TONE_COLOURS[Tone.ABSTAIN]) > 0
    chart = render_bar_chart("Lunch", ["Soup", "Pie", "Salad"], [2, 5, 5], highlight=[1, 2])
    image = _image(chart)
    assert _pixels(image, TONE_COLOURS[Tone.WINNER]) > 2 * _pixels(image, TONE_COLOURS[Tone.NEUTRAL]) * 0.9
    assert chart.description.endswith("Highlighted: Pie, Salad.")


def test_more_bars_make_a_taller_chart_and_past_the_cap_a_more_line() -> None:
    small = _image(render_bar_chart("t", ["a", "b"], [1, 2]))
    tall = _image(render_bar_chart("t", [f"o{n}" for n in range(10)], list(range(10))))
    assert tall.height > small.height
    many = render_bar_chart("t", [f"o{n}" for n in range(MAX_BARS + 15)], [1] * (MAX_BARS + 15))
    assert (
        _image(many).height
        < _image(render_bar_chart("t", [f"o{n}" for n in range(MAX_BARS + 30)], [1] * (MAX_BARS + 30))).height
        + 1
    )
    assert f"o{MAX_BARS + 14}: 1" in many.description


def test_no_labels_says_no_votes_yet_and_values_use_the_format() -> None:
    assert render_bar_chart("Empty", [], []).description == "Chart: Empty. No votes yet."
    chart = render_bar_chart("Money", ["a"], [1234.5], value_format=lambda value: f"{value:.2f} NZD")
    assert "a: 1234.50 NZD" in chart.description


@pytest.mark.parametrize(
    ("labels", "values", "extra"),
    [
        (["a"], [-1], {}),
        (["a"], [float("nan")], {}),
        (["a", "b"], [1], {}),
        (["a"], [1], {"highlight": [3]}),
        (["a"], [1], {"tones": [Tone.FOR, Tone.AGAINST]}),
    ],
)
def test_bad_bar_input_is_refused(labels: list[str], values: list[float], extra: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"negative|finite|labels|highlight|tones"):
        render_bar_chart("t", labels, values, **extra)  # type: ignore[arg-type]


def test_the_same_input_gives_the_same_bytes() -> None:
    def make() -> bytes:
        return render_bar_chart("t", NAMES[:3], [1, 2, 3], highlight=[2]).png

    assert make() == make()
    assert b"matplotlib" not in make()  # no software or date written into the PNG


def test_a_long_title_keeps_the_alt_text_within_discords_limit() -> None:
    chart = render_bar_chart("x" * 3000, [f"option {n}" for n in range(20)], list(range(20)))
    assert len(chart.description) <= DESCRIPTION_LIMIT


# --- instant-runoff rounds ------------------------------------------------------------------------


def test_rounds_show_the_eliminated_in_muted_red_and_the_winner_in_gold() -> None:
    chart = render_stacked_rounds_chart(
        "Where", ["Hall", "Park", "Online"], [[4, 3, 2], [5, 4, 0]], eliminated=[2, None], highlight=[0]
    )
    image = _image(chart)
    assert _pixels(image, TONE_COLOURS[Tone.ELIMINATED]) > 0
    assert _pixels(image, TONE_COLOURS[Tone.WINNER]) > _pixels(image, TONE_COLOURS[Tone.ELIMINATED])
    assert "Round 1: Online eliminated with 2. Round 2: Hall 5, Park 4." in chart.description
    assert chart.description.endswith("Winner: Hall.")


def test_rounds_past_the_cap_leave_the_middle_out_and_say_so() -> None:
    count = MAX_ROUNDS + 4
    options = [f"o{n}" for n in range(count + 1)]
    rounds = [[max(count + 1 - n - i, 0) if n >= i else 0 for n in range(count + 1)] for i in range(count)]
    eliminated: list[int | None] = [count - i for i in range(count - 1)] + [None]
    chart = render_stacked_rounds_chart("Many", options, rounds, eliminated=eliminated, highlight=[0])
    assert _image(chart).height > 600
    assert f"Round {count}: o0 " in chart.description and "rounds between not shown" not in chart.description


def test_rounds_without_rounds_say_no_votes_yet() -> None:
    chart = render_stacked_rounds_chart("Nothing", ["a", "b"], [], eliminated=[])
    assert chart.description == "Chart: Nothing. No votes yet."
    assert _image(chart).height < 300


@pytest.mark.parametrize(
    ("rounds", "eliminated"),
    [([[1, 2, 3]], [None]), ([[1, 2]], []), ([[1, 2], [2, 0]], [1, 1]), ([[1, -2]], [None])],
)
def test_inconsistent_rounds_are_refused(rounds: list[list[int]], eliminated: list[int | None]) -> None:
    with pytest.raises(ValueError, match=r"round|eliminated|negative"):
        render_stacked_rounds_chart("t", ["a", "b"], rounds, eliminated=eliminated)


# --- a value over time ----------------------------------------------------------------------------


def test_a_balance_over_time_is_a_green_step_line_with_its_story_in_words() -> None:
    auckland = ZoneInfo("Pacific/Auckland")
    points = [(START.astimezone(auckland) + timedelta(days=day), 1000 * day) for day in (0, 3, 9, 20)]
    chart = render_line_chart(
        "Commons: balance",
        list(reversed(points)),
        value_format=lambda value: f"{value / 100:,.2f}",
        subtitle="NZD · 4 movements",
        value_label="NZD",
    )
    image = _image(chart)
    assert _pixels(image, TONE_COLOURS[Tone.FOR]) > 300
    assert chart.description == (
        "Line chart: Commons: balance. NZD · 4 movements. From 0.00 on 2 Mar 2026 to 200.00 on 22 Mar 2026, "
        "lowest 0.00, highest 200.00, over 4 movements."
    )


def test_a_line_of_one_point_or_none_and_non_finite_values() -> None:
    assert "over 1 movement." in render_line_chart("One", [(START, 5)]).description
    assert render_line_chart("None", []).description == "Chart: None. No movements yet."
    assert "lowest -5" in render_line_chart("Neg", [(START, -5), (START + timedelta(days=1), 5)]).description
    with pytest.raises(ValueError, match="finite"):
        render_line_chart("Bad", [(START, float("inf"))])


def test_line_charts_are_deterministic() -> None:
    points = [(START + timedelta(days=n), n * n) for n in range(6)]
    assert render_line_chart("t", points).png == render_line_chart("t", points).png


# --- in the reader's language ---------------------------------------------------------------------


def test_a_chart_speaks_the_readers_language_words_numbers_and_dates() -> None:
    points = [(START + timedelta(days=3 * n), 100_000 + 1_234 * n) for n in range(3)]
    german = render_line_chart("Gemeinschaftskasse", points, language="de")
    # Words from the catalogue, numbers grouped and dates written the German way (CLDR, with Babel).
    assert german.description.startswith("Liniendiagramm: Gemeinschaftskasse.")
    assert "102.468" in german.description and "01.03.2026" in german.description
    assert "Line chart" not in german.description and "102,468" not in german.description
    greek = render_bar_chart("Ψηφοφορία", [], [], language="el")
    assert greek.description.endswith("Δεν υπάρχουν ακόμη ψήφοι.")
    rounds = render_stacked_rounds_chart(
        "Τόπος",
        ["Αίθουσα", "Online", "Πάρκο"],
        [[4, 3, 2], [5, 4, 0]],
        eliminated=[2, None],
        highlight=[0],
        language="es",
    )
    assert "Ronda 1:" in rounds.description and "Round 1" not in rounds.description
    # The English is unchanged by the default.
    assert render_bar_chart("Vote", [], []).description == "Chart: Vote. No votes yet."


@pytest.mark.parametrize("language", ["es", "pt_BR", "fr", "de", "el"])
def test_every_chart_draws_in_every_language_without_a_missing_glyph(language: str) -> None:
    points = [(START + timedelta(days=40 * n), 5_000 * n) for n in range(12)]
    _image(_no_missing_glyph(lambda: render_line_chart("t", points, language=language)))
    _image(
        _no_missing_glyph(
            lambda: render_stacked_rounds_chart(
                "t",
                ["a", "b", "c"],
                [[3, 2, 1], [4, 2, 0]],
                eliminated=[2, None],
                exhausted=[0, 1],
                language=language,
            )
        )
    )
    labels = [f"option {n}" for n in range(MAX_BARS + 3)]
    _image(
        _no_missing_glyph(lambda: render_bar_chart("t", labels, list(range(len(labels))), language=language))
    )
