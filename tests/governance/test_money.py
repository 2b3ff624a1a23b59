"""Money: the currency table, amounts typed by members, and how amounts are shown."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from governance.errors import InvalidInput
from governance.money import (
    CURRENCIES,
    MAX_MAJOR_UNITS,
    currency_codes,
    currency_label,
    currency_name,
    format_amount,
    max_minor_units,
    minor_units,
    parse_amount,
    parse_currency,
    suggest_currencies,
    to_decimal,
)

# --- the currency table -----------------------------------------------------------------------------------


def test_table_holds_the_active_currencies_with_sane_entries() -> None:
    assert 150 <= len(CURRENCIES) <= 180
    for code, (exponent, name) in CURRENCIES.items():
        assert re.fullmatch(r"[A-Z]{3}", code)
        assert exponent in {0, 2, 3, 4}
        assert name
        assert len(currency_label(code)) <= 100  # Discord's limit for a choice name.
    assert currency_codes() == sorted(CURRENCIES)


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("EUR", 2), ("USD", 2), ("NZD", 2), ("AUD", 2), ("GBP", 2), ("CHF", 2),
        ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0), ("XOF", 0), ("UYI", 0),
        ("BHD", 3), ("KWD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3), ("LYD", 3), ("IQD", 3),
        ("CLF", 4), ("UYW", 4),
        # On ISO's list since 2025 (SIX list of 2026-01-01: Arab Accounting Dinar, 2 minor units).
        ("XAD", 2),
    ],
)  # fmt: skip
def test_minor_unit_exponents(code: str, exponent: int) -> None:
    assert minor_units(code) == exponent


@pytest.mark.parametrize("withdrawn", ["HRK", "ZWL", "VEF", "LTL", "XAU", "XXX", "XTS"])
def test_withdrawn_and_non_money_codes_are_not_offered(withdrawn: str) -> None:
    assert withdrawn not in CURRENCIES


def test_a_currency_withdrawn_since_funds_could_use_it_is_refused_for_new_choices() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_currency(" bgn ")
    assert refused.value.message == (
        "BGN is no longer an ISO 4217 currency (Bulgaria adopted the euro on 1 January 2026: use EUR)."
    )
    assert "BGN" not in CURRENCIES
    assert "BGN" not in currency_codes()
    assert "BGN" not in suggest_currencies("bg")
    assert "BGN" not in suggest_currencies("lev", limit=100)


def test_amounts_of_a_withdrawn_currency_are_still_read_and_shown() -> None:
    """Funds already in BGN keep working: their amounts are read, shown and exported as before."""
    assert minor_units("BGN") == 2
    assert currency_name("BGN") == "Bulgarian Lev"
    assert currency_label("bgn") == "BGN — Bulgarian Lev"
    assert parse_amount("12.50", "BGN") == 1250
    assert parse_amount("BGN 1,200", "BGN") == 120000
    assert format_amount(1250, "BGN") == "12.50 BGN"
    assert to_decimal(1250, "BGN") == Decimal("12.50")
    assert max_minor_units("BGN") == MAX_MAJOR_UNITS * 100
    with pytest.raises(InvalidInput, match="must be in EUR, not BGN"):
        parse_amount("12 BGN", "EUR")


def test_the_arab_accounting_dinar_is_offered() -> None:
    assert parse_currency("xad") == "XAD"
    assert currency_label("XAD") == "XAD — Arab Accounting Dinar"
    assert "XAD" in suggest_currencies("arab")
    assert parse_amount("12.50 XAD", "XAD") == 1250


def test_table_cannot_be_changed_from_outside() -> None:
    with pytest.raises(TypeError):
        CURRENCIES["XYZ"] = (2, "Nope")  # type: ignore[index]


@pytest.mark.parametrize(
    ("typed", "code"), [("NZD", "NZD"), ("nzd", "NZD"), (" eur ", "EUR"), ("u s d", "USD"), ("Jpy\n", "JPY")]
)
def test_parse_currency_accepts_any_case_and_spacing(typed: str, code: str) -> None:
    assert parse_currency(typed) == code


def test_parse_currency_refuses_unknown_codes_with_examples() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_currency("XYZ")
    assert refused.value.message == "“XYZ” is not an ISO 4217 currency code (for example NZD, EUR, USD)."


@pytest.mark.parametrize("typed", ["", "   ", "dollars", "EU", "EURO", "€", "HRK"])
def test_parse_currency_refuses_anything_else(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_currency(typed)


def test_names_and_labels() -> None:
    assert currency_name("nzd") == "New Zealand Dollar"
    assert currency_label("EUR") == "EUR — Euro"


# --- autocomplete -----------------------------------------------------------------------------------------


def test_suggestions_put_code_prefix_matches_before_name_matches() -> None:
    suggestions = suggest_currencies("eu")
    assert suggestions[0] == "EUR"
    assert "CHE" in suggestions  # "WIR Euro", found by name after the codes starting with EU.


def test_suggestions_find_currencies_by_name_ignoring_case_and_accents() -> None:
    assert suggest_currencies("zealand") == ["NZD"]
    assert "VES" in suggest_currencies("bolivar")
    dollars = suggest_currencies("dollar", limit=100)
    assert {"USD", "NZD", "AUD", "CAD"} <= set(dollars)
    assert "EUR" not in dollars


def test_suggestions_prefer_name_words_that_start_with_the_query() -> None:
    suggestions = suggest_currencies("ran")
    assert suggestions[0] == "ZAR"  # South African Rand
    assert "CHF" in suggestions  # Swiss Franc, which only contains "ran"


def test_empty_query_offers_common_currencies_first() -> None:
    suggestions = suggest_currencies("  ")
    assert suggestions[:4] == ["EUR", "USD", "GBP", "NZD"]
    assert len(suggestions) == 25
    assert len(set(suggestions)) == 25


@pytest.mark.parametrize(
    ("query", "limit", "expected"), [("N", 3, 3), ("n", 0, 0), ("", -1, 0), ("qqq", 25, 0)]
)
def test_suggestions_respect_the_limit(query: str, limit: int, expected: int) -> None:
    assert len(suggest_currencies(query, limit)) == expected


# --- amounts that are accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        # Plain numbers, with and without decimals.
        ("12", "EUR", 1200),
        ("12.5", "EUR", 1250),
        ("12.50", "EUR", 1250),
        ("0.01", "EUR", 1),
        (".5", "EUR", 50),
        ("12.", "EUR", 1200),
        ("007", "EUR", 700),
        ("+12", "EUR", 1200),
        ("  12.50\n", "EUR", 1250),
        # Thousands separators: commas, spaces, thin and no-break spaces.
        ("1,200.00", "EUR", 120000),
        ("1,200", "EUR", 120000),
        ("1,234,567.89", "USD", 123456789),
        ("1 200.50", "EUR", 120050),
        ("1\u2009200.50", "EUR", 120050),
        ("1\u202f200.50", "EUR", 120050),
        ("1\u00a0200.50", "EUR", 120050),
        ("12 345 678", "EUR", 1234567800),
        # A currency code or symbol naming the expected currency, before or after.
        ("$12", "USD", 1200),
        ("$12", "NZD", 1200),
        ("$ 12", "NZD", 1200),
        ("NZ$12.50", "NZD", 1250),
        ("NZD 12", "NZD", 1200),
        ("12 NZD", "NZD", 1200),
        ("12nzd", "NZD", 1200),
        ("nzd12.5", "NZD", 1250),
        ("+$12", "NZD", 1200),
        ("€12.50", "EUR", 1250),
        ("12.50 €", "EUR", 1250),
        ("£1,000", "GBP", 100000),
        ("100 kr", "SEK", 10000),
        ("R$ 10", "BRL", 1000),
        # No minor units.
        ("1200", "JPY", 1200),
        ("1,200", "JPY", 1200),
        ("¥1,200", "JPY", 1200),
        ("1 200 JPY", "JPY", 1200),
        ("5", "KRW", 5),
        # Three and four minor-unit digits.
        ("12", "BHD", 12000),
        ("012.345", "BHD", 12345),
        ("0.345", "BHD", 345),
        ("0.500", "BHD", 500),
        ("1,012.345", "BHD", 1012345),
        ("1012.345", "BHD", 1012345),
        ("12.34", "BHD", 12340),
        ("12.5", "BHD", 12500),
        ("0.001", "BHD", 1),
        ("1,200.500", "BHD", 1200500),
        ("12.3450", "CLF", 123450),
        ("0.0001", "CLF", 1),
        ("3.1415 UYW", "UYW", 31415),
        # The cap itself is allowed.
        ("1000000000000", "EUR", 10**14),
        ("1,000,000,000,000 JPY", "JPY", 10**12),
        ("1,000,000,000,000.0000", "CLF", 10**16),
        # The currency argument itself is case-insensitive.
        ("12.50", "eur", 1250),
    ],
)
def test_accepted_amounts(typed: str, currency: str, minor: int) -> None:
    assert parse_amount(typed, currency) == minor


# --- amounts that are refused -----------------------------------------------------------------------------


# Messages that many refused forms share.
MUST_BE_POSITIVE = "The amount must be positive; type it without a minus sign."
MORE_THAN_ZERO = "The amount must be more than zero."
WHOLE_JPY = "JPY has no minor units; use a whole number."
NO_EXPONENT = "Write the amount in full, without exponent notation such as 1e5."
BAD_GROUPING = "Thousands separators must group three digits, as in 1,200,000.50."
DECIMAL_COMMA = "Use a point for decimals, as in 12.50; commas only group thousands, as in 1,200."
ONE_POINT = "An amount has at most one decimal point; group thousands with commas, as in 1,200.50."
ONE_MARKER = "Type at most one currency code or symbol with the amount."
ASCII_DIGITS = "Type the amount with the digits 0-9, for example 12.50."


def too_large(code: str) -> str:
    return f"That is more than the largest amount coopbot handles (1,000,000,000,000 {code})."


def not_an_amount(echo: str) -> str:
    return f"“{echo}” is not an amount; type a number such as 12.50."


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        # Nothing there.
        ("", "EUR", "Type an amount, for example 12.50 EUR."),
        ("   ", "JPY", "Type an amount, for example 12 JPY."),
        # Not positive.
        ("-5", "EUR", MUST_BE_POSITIVE),
        ("−5", "EUR", MUST_BE_POSITIVE),
        ("- 5", "EUR", MUST_BE_POSITIVE),
        ("-$5", "USD", MUST_BE_POSITIVE),
        ("$-5", "USD", MUST_BE_POSITIVE),
        ("NZD -5", "NZD", MUST_BE_POSITIVE),
        ("-0", "EUR", MUST_BE_POSITIVE),
        ("0", "EUR", MORE_THAN_ZERO),
        ("0.00", "EUR", MORE_THAN_ZERO),
        ("0,000.00 EUR", "EUR", MORE_THAN_ZERO),
        # More decimals than the currency has.
        ("12.345", "EUR", "EUR amounts have at most 2 decimal places."),
        # "12.500" may mean twelve thousand five hundred: refused, never read as 12.50.
        ("12.500", "EUR", "EUR amounts have at most 2 decimal places."),
        ("12.3456", "BHD", "BHD amounts have at most 3 decimal places."),
        ("12.5", "JPY", WHOLE_JPY),
        ("12.0", "JPY", WHOLE_JPY),
        ("1.200", "JPY", WHOLE_JPY),
        ("1.00001", "CLF", "CLF amounts have at most 4 decimal places."),
        # Not finite, or not written out.
        ("NaN", "EUR", not_an_amount("NaN")),
        ("nan", "EUR", not_an_amount("nan")),
        ("Infinity", "EUR", not_an_amount("Infinity")),
        ("inf", "EUR", not_an_amount("inf")),
        ("-inf", "EUR", not_an_amount("-inf")),
        ("∞", "EUR", not_an_amount("∞")),
        ("1e5", "EUR", NO_EXPONENT),
        ("1E5", "EUR", NO_EXPONENT),
        ("1.5e-3", "BHD", NO_EXPONENT),
        ("2e3 EUR", "EUR", NO_EXPONENT),
        # Thousands separators in the wrong place.
        ("1,20.00", "EUR", BAD_GROUPING),
        ("1,2000", "EUR", DECIMAL_COMMA),
        ("12,34,567", "INR", BAD_GROUPING),
        ("1234,567", "EUR", BAD_GROUPING),
        ("12 50", "EUR", BAD_GROUPING),
        ("1,200 000", "EUR", BAD_GROUPING),
        ("1,,200", "EUR", BAD_GROUPING),
        (",500", "EUR", BAD_GROUPING),
        # Decimal comma: refused with a hint, never guessed.
        ("12,50", "EUR", DECIMAL_COMMA),
        ("12,5", "EUR", DECIMAL_COMMA),
        ("1.200,50", "EUR", DECIMAL_COMMA),
        (",5", "EUR", DECIMAL_COMMA),
        ("12,5", "JPY", WHOLE_JPY),
        ("12,500", "BHD", "“12,500” is ambiguous in BHD: write 12500 or 12.5."),
        ("12,345", "BHD", "“12,345” is ambiguous in BHD: write 12345 or 012.345."),
        ("12,345", "CLF", "“12,345” is ambiguous in CLF: write 12345 or 12.3450."),
        # A point before three digits is a thousands separator to those who write a decimal comma: in a
        # currency with three or more decimals both readings are amounts.
        ("12.345", "BHD", "“12.345” is ambiguous in BHD: write 12345 or 012.345."),
        ("12.500", "KWD", "“12.500” is ambiguous in KWD: write 12500 or 12.5."),
        ("1.000", "TND", "“1.000” is ambiguous in TND: write 1000 or 1."),
        ("12.345", "CLF", "“12.345” is ambiguous in CLF: write 12345 or 12.3450."),
        ("BHD 12.345", "BHD", "“12.345” is ambiguous in BHD: write 12345 or 012.345."),
        # Nobody groups thousands after a leading 0: a decimal comma, or a typo, never five hundred.
        ("0,500", "EUR", "“0,500” is ambiguous in EUR: write 500 or 0.5."),
        ("0,500 €", "EUR", "“0,500” is ambiguous in EUR: write 500 or 0.5."),
        ("0,123", "JPY", "“0,123” is ambiguous in JPY: write 123."),
        ("05,206", "USD", "“05,206” is ambiguous in USD: write 5206."),
        ("00,500", "EUR", "“00,500” is ambiguous in EUR: write 500 or 0.5."),
        ("0,500", "BHD", "“0,500” is ambiguous in BHD: write 500 or 0.5."),
        ("0 500", "EUR", "“0 500” is ambiguous in EUR: write 500."),
        ("0,500.25", "EUR", "“0,500.25” is ambiguous in EUR: write 500.25."),
        ("0,500,000", "EUR", "“0,500,000” is ambiguous in EUR: write 500000."),
        (
            "1,2345",
            "CLF",
            "Use a point for decimals, as in 12.5000; commas only group thousands, as in 1,200.",
        ),
        # More than one decimal point.
        ("1.2.3", "EUR", ONE_POINT),
        ("1.200.000", "EUR", ONE_POINT),
        # Too large.
        ("1000000000000.01", "NZD", too_large("NZD")),
        ("1000000000001", "NZD", too_large("NZD")),
        ("9" * 40, "JPY", too_large("JPY")),
        ("0" * 30 + "1" * 14, "EUR", too_large("EUR")),
        ("1" * 70, "EUR", "That is too long to be an amount; type a number such as 12.50."),
        # Another currency than the expected one.
        ("12 EUR", "NZD", "The amount must be in NZD, not EUR."),
        ("eur 12", "NZD", "The amount must be in NZD, not EUR."),
        ("€12", "NZD", "The amount must be in NZD, not €."),
        ("$12", "EUR", "The amount must be in EUR, not $."),
        ("£5", "JPY", "The amount must be in JPY, not £."),
        ("NZD 12 EUR", "NZD", ONE_MARKER),
        ("$12 NZD", "NZD", ONE_MARKER),
        # Digits other than 0-9 are refused, not converted.
        ("١٢", "EUR", ASCII_DIGITS),
        ("١٢.٥٠", "EUR", ASCII_DIGITS),
        ("１２", "JPY", "Type the amount with the digits 0-9, for example 12."),
        ("१२", "EUR", ASCII_DIGITS),
        ("12²", "EUR", ASCII_DIGITS),
        # Garbage.
        ("abc", "EUR", not_an_amount("abc")),
        ("twelve", "EUR", not_an_amount("twelve")),
        ("12abc", "EUR", not_an_amount("12abc")),
        ("12 - 5", "EUR", not_an_amount("12 - 5")),
        ("--5", "EUR", not_an_amount("--5")),
        ("+-5", "EUR", not_an_amount("+-5")),
        ("5-", "EUR", not_an_amount("5-")),
        (".", "EUR", not_an_amount(".")),
        (",", "EUR", not_an_amount(",")),
        ("EUR", "EUR", not_an_amount("EUR")),
        ("$", "USD", not_an_amount("$")),
        ("12.50 0", "EUR", not_an_amount("12.50 0")),
        ("(12)", "EUR", not_an_amount("(12)")),
        ("1'200", "CHF", not_an_amount("1'200")),
        ("$NZD12", "NZD", not_an_amount("$NZD12")),
        ("0x10", "EUR", not_an_amount("0x10")),
        ("@everyone 12", "EUR", not_an_amount("@everyone 12")),
    ],
)
def test_refused_amounts(typed: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount(typed, currency)
    assert refused.value.message == message


def test_long_garbage_is_shortened_when_quoted_back() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount("this is clearly not\n an amount at all", "EUR")
    assert refused.value.message == "“this is clearly not an…” is not an amount; type a number such as 12.50."


def test_unknown_currency_is_refused_before_the_amount_is_read() -> None:
    with pytest.raises(InvalidInput, match="not an ISO 4217 currency code"):
        parse_amount("12", "XYZ")


# --- formatting -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (120050, "NZD", "1,200.50 NZD"),
        (1250, "EUR", "12.50 EUR"),
        (1, "EUR", "0.01 EUR"),
        (0, "EUR", "0.00 EUR"),
        (100000000, "USD", "1,000,000.00 USD"),
        (1200, "JPY", "1,200 JPY"),
        (7, "KRW", "7 KRW"),
        (12345, "BHD", "12.345 BHD"),
        (-3000, "BHD", "-3.000 BHD"),
        (-1, "EUR", "-0.01 EUR"),
        (1, "CLF", "0.0001 CLF"),
        (10**16, "CLF", "1,000,000,000,000.0000 CLF"),
        (1250, "eur", "12.50 EUR"),
    ],
)
def test_format_amount(minor: int, currency: str, shown: str) -> None:
    assert format_amount(minor, currency) == shown
    assert format_amount(minor, currency, with_code=False) == shown.rsplit(" ", 1)[0]


@pytest.mark.parametrize("not_an_int", [12.5, Decimal("12.50"), True, "1250"])
def test_format_amount_refuses_anything_but_int_minor_units(not_an_int: object) -> None:
    with pytest.raises(TypeError):
        format_amount(not_an_int, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_decimal(not_an_int, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [
        (1250, "EUR", Decimal("12.50")),
        (0, "EUR", Decimal("0.00")),
        (1200, "JPY", Decimal("1200")),
        (-3000, "BHD", Decimal("-3.000")),
        (1, "CLF", Decimal("0.0001")),
        # Beyond Decimal's default 28-digit precision, and still exact.
        (10**40 + 1, "EUR", Decimal("1" + "0" * 37 + "0.01")),
    ],
)
def test_to_decimal_is_exact_and_keeps_the_decimal_places(minor: int, currency: str, value: Decimal) -> None:
    result = to_decimal(minor, currency)
    assert result == value
    assert str(result) == str(value)


def test_max_minor_units_follows_the_exponent() -> None:
    assert max_minor_units("JPY") == MAX_MAJOR_UNITS
    assert max_minor_units("EUR") == MAX_MAJOR_UNITS * 100
    assert max_minor_units("BHD") == MAX_MAJOR_UNITS * 1000
    assert max_minor_units("CLF") == MAX_MAJOR_UNITS * 10_000
    assert max(max_minor_units(code) for code in currency_codes()) < 2**63  # fits a BIGINT column


# --- properties -------------------------------------------------------------------------------------------

currencies = st.sampled_from(currency_codes())


@st.composite
def currency_and_amount(draw: st.DrawFn) -> tuple[str, int]:
    currency = draw(currencies)
    minor = draw(st.integers(min_value=1, max_value=max_minor_units(currency)))
    return currency, minor


def read_back(text: str, currency: str) -> int:
    """What ``text`` is read as; when it is refused as ambiguous ("12.345 BHD"), what the refusal's
    suggested decimal spelling is read as."""
    try:
        return parse_amount(text, currency)
    except InvalidInput as refused:
        message = refused.message
    assert " is ambiguous in " in message, message
    return parse_amount(message.removesuffix(".").rsplit(" or ", 1)[-1], currency)


@given(currency_and_amount())
@example(("EUR", 1))
@example(("CLF", 10**16))
@example(("JPY", 1000))
@example(("BHD", 12345))
def test_formatted_amounts_read_back_unchanged(drawn: tuple[str, int]) -> None:
    currency, minor = drawn
    assert read_back(format_amount(minor, currency), currency) == minor
    assert read_back(format_amount(minor, currency, with_code=False), currency) == minor
    assert read_back(format_amount(minor, currency).lower(), currency) == minor


@given(currency_and_amount())
@example(("KWD", 1125))
def test_to_decimal_agrees_with_parse_amount(drawn: tuple[str, int]) -> None:
    currency, minor = drawn
    assert read_back(str(to_decimal(minor, currency)), currency) == minor


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(MAX_MAJOR_UNITS), places=2))
def test_plain_decimal_text_reads_as_its_value(value: Decimal) -> None:
    assert parse_amount(f"{value:f}", "EUR") == int(value * 100)


# Text built from the characters that matter to the parser, so that near-misses are tried often.
amount_like_text = st.lists(
    st.sampled_from(
        [*"0123456789.,+-− $€¥£eENZDUSRJPYBHnaifty", "\u2009", "\u00a0", "١", "٢", "１", "NZD", "EUR", "kr"]
    ),
    max_size=16,
).map("".join)


def check_positive_or_refused(text: str, currency: str) -> None:
    try:
        minor = parse_amount(text, currency)
    except InvalidInput as refused:
        message = refused.message
    else:
        assert 0 < minor <= max_minor_units(currency)
        return
    assert message
    assert "\n" not in message


@given(st.text(), st.sampled_from(["EUR", "JPY", "BHD", "CLF", "NZD"]))
@example("١٢", "EUR")
@example("١٢٫٥", "EUR")
def test_any_text_gives_a_positive_amount_or_invalid_input(text: str, currency: str) -> None:
    check_positive_or_refused(text, currency)


@given(amount_like_text, st.sampled_from(["EUR", "JPY", "BHD", "CLF", "NZD", "USD"]))
def test_amount_like_text_gives_a_positive_amount_or_invalid_input(text: str, currency: str) -> None:
    check_positive_or_refused(text, currency)


# --- no amount with two readings ----------------------------------------------------------------------------

_SPACES = re.compile(r"[ \u00a0\u2009\u202f]")


def read_strictly(number: str, *, decimal_mark: str, group_mark: str, exponent: int) -> Decimal | None:
    """``number`` as someone who writes ``decimal_mark`` for decimals and groups thousands with
    ``group_mark`` or spaces (one of them in a number) means it, or None when they would not write it so:
    groups of three digits after a first group of one to three that does not start with 0, and no more
    decimals than the currency has."""
    number = _SPACES.sub(" ", number.strip())
    integer, _, fraction = number.partition(decimal_mark)
    if not re.fullmatch(r"[0-9]*", fraction) or len(fraction) > exponent:
        return None
    if not re.fullmatch(r"[0-9]*", integer):
        grouped = [
            integer
            for mark in (group_mark, " ")
            if re.fullmatch(rf"[1-9][0-9]{{0,2}}(?:{re.escape(mark)}[0-9]{{3}})+", integer)
        ]
        if not grouped:
            return None
        integer = integer.replace(group_mark, "").replace(" ", "")
    if not integer and not fraction:
        return None
    return Decimal(f"{integer or 0}.{fraction or 0}")


def plausible_readings(number: str, currency: str) -> set[Decimal]:
    """Every value, in major units, that a decimal-point writer or a decimal-comma writer means by it."""
    exponent = minor_units(currency)
    readings = {
        read_strictly(number, decimal_mark=".", group_mark=",", exponent=exponent),
        read_strictly(number, decimal_mark=",", group_mark=".", exponent=exponent),
    }
    return {value for value in readings if value is not None}


# Numbers made of digit runs and the separators people use, so that grouped and decimal forms are common.
number_like_text = st.one_of(
    st.text(alphabet="0123456789.,  \u00a0\u2009", max_size=14),
    st.builds(
        lambda runs, marks: "".join(run + mark for run, mark in zip(runs, marks, strict=False)) + runs[-1],
        st.lists(st.text(alphabet="0123456789", min_size=1, max_size=4), min_size=1, max_size=4),
        st.lists(st.sampled_from([",", ".", " ", "\u2009"]), max_size=3),
    ),
)


@given(number_like_text, st.sampled_from(["EUR", "USD", "JPY", "BHD", "KWD", "CLF"]))
@example("0,500", "EUR")
@example("0,123", "JPY")
@example("05,206", "USD")
@example("0 500", "EUR")
@example("12.345", "BHD")
@example("1,200", "EUR")
def test_an_accepted_amount_has_no_other_plausible_reading(number: str, currency: str) -> None:
    """Whatever the parser accepts, people who write a decimal point and people who write a decimal comma
    read as that same amount (or would not write it); anything with two readings is refused."""
    try:
        minor = parse_amount(number, currency)
    except InvalidInput:
        return
    assert plausible_readings(number, currency) == {Decimal(minor).scaleb(-minor_units(currency))}


@given(
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=6).filter(
        lambda digits: not digits.isascii()
    ),
    st.sampled_from(["EUR", "JPY"]),
)
def test_digits_other_than_ascii_are_always_refused(digits: str, currency: str) -> None:
    with pytest.raises(InvalidInput, match="digits 0-9"):
        parse_amount(digits, currency)
