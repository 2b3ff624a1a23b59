"""Money: ISO 4217 currencies, amounts typed by members, and how amounts are shown.

An amount is an integer count of minor units (cents for EUR, yen for JPY, fils for BHD) together with an
ISO 4217 code; never a float. Text typed by members is read strictly: a form that could be read two ways is
refused with a hint instead of being guessed, because a misread decimal separator moves money by a factor of
100 or 1000.

Accepted: ``12``, ``12.5``, ``1,200.00``, ``1 200.50`` (any space, including thin and no-break spaces, as a
thousands separator), ``.5``, ``12.``, a leading ``+``, and at most one currency code or symbol before or
after the number (``$12``, ``NZD 12``, ``12 NZD``, ``12 €``) when it names the expected currency. The decimal
separator is always a point; commas and spaces only group thousands, in groups of exactly three digits.

Refused as ambiguous, with both readings spelled out: a form that people who write a decimal comma (and group
with points) read as another amount: ``12,500`` and ``12.500`` in a currency with three or more decimals
(BHD, KWD, TND, CLF...), where each is 12.5 to some and 12500 to others; and thousands separators after a
leading zero (``0,500``, ``05,206``), which nobody writes for a whole number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Final

from governance.errors import InvalidInput
from governance.i18n import N_, Translated, _, _n

# Active ISO 4217 codes with their minor-unit exponent, as in the maintenance agency's (SIX) list published
# 2026-01-01 (checked against the table.xml shipped in the PyPI package iso4217 1.16.20260101), with short
# English names for autocomplete. Fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are kept; precious
# metals, XDR and testing codes are left out because ISO gives them no minor unit. Codes withdrawn before
# coopbot had funds (HRK, SLL, ZWL, ANG, CUC...) are left out too; a code withdrawn since moves to
# _WITHDRAWN_CURRENCIES, never out of coopbot: stored funds name their currency and are read through both.
_CURRENCY_TABLE: Final[dict[str, tuple[int, str]]] = {
    "AED": (2, "UAE Dirham"),
    "AFN": (2, "Afghani"),
    "ALL": (2, "Albanian Lek"),
    "AMD": (2, "Armenian Dram"),
    "AOA": (2, "Angolan Kwanza"),
    "ARS": (2, "Argentine Peso"),
    "AUD": (2, "Australian Dollar"),
    "AWG": (2, "Aruban Florin"),
    "AZN": (2, "Azerbaijan Manat"),
    "BAM": (2, "Convertible Mark"),
    "BBD": (2, "Barbados Dollar"),
    "BDT": (2, "Bangladeshi Taka"),
    "BHD": (3, "Bahraini Dinar"),
    "BIF": (0, "Burundi Franc"),
    "BMD": (2, "Bermudian Dollar"),
    "BND": (2, "Brunei Dollar"),
    "BOB": (2, "Boliviano"),
    "BOV": (2, "Mvdol"),
    "BRL": (2, "Brazilian Real"),
    "BSD": (2, "Bahamian Dollar"),
    "BTN": (2, "Ngultrum"),
    "BWP": (2, "Pula"),
    "BYN": (2, "Belarusian Ruble"),
    "BZD": (2, "Belize Dollar"),
    "CAD": (2, "Canadian Dollar"),
    "CDF": (2, "Congolese Franc"),
    "CHE": (2, "WIR Euro"),
    "CHF": (2, "Swiss Franc"),
    "CHW": (2, "WIR Franc"),
    "CLF": (4, "Unidad de Fomento"),
    "CLP": (0, "Chilean Peso"),
    "CNY": (2, "Chinese Yuan Renminbi"),
    "COP": (2, "Colombian Peso"),
    "COU": (2, "Unidad de Valor Real"),
    "CRC": (2, "Costa Rican Colón"),
    "CUP": (2, "Cuban Peso"),
    "CVE": (2, "Cabo Verde Escudo"),
    "CZK": (2, "Czech Koruna"),
    "DJF": (0, "Djibouti Franc"),
    "DKK": (2, "Danish Krone"),
    "DOP": (2, "Dominican Peso"),
    "DZD": (2, "Algerian Dinar"),
    "EGP": (2, "Egyptian Pound"),
    "ERN": (2, "Nakfa"),
    "ETB": (2, "Ethiopian Birr"),
    "EUR": (2, "Euro"),
    "FJD": (2, "Fiji Dollar"),
    "FKP": (2, "Falkland Islands Pound"),
    "GBP": (2, "Pound Sterling"),
    "GEL": (2, "Georgian Lari"),
    "GHS": (2, "Ghana Cedi"),
    "GIP": (2, "Gibraltar Pound"),
    "GMD": (2, "Dalasi"),
    "GNF": (0, "Guinean Franc"),
    "GTQ": (2, "Quetzal"),
    "GYD": (2, "Guyana Dollar"),
    "HKD": (2, "Hong Kong Dollar"),
    "HNL": (2, "Lempira"),
    "HTG": (2, "Gourde"),
    "HUF": (2, "Hungarian Forint"),
    "IDR": (2, "Indonesian Rupiah"),
    "ILS": (2, "New Israeli Shekel"),
    "INR": (2, "Indian Rupee"),
    "IQD": (3, "Iraqi Dinar"),
    "IRR": (2, "Iranian Rial"),
    "ISK": (0, "Iceland Króna"),
    "JMD": (2, "Jamaican Dollar"),
    "JOD": (3, "Jordanian Dinar"),
    "JPY": (0, "Japanese Yen"),
    "KES": (2, "Kenyan Shilling"),
    "KGS": (2, "Kyrgyz Som"),
    "KHR": (2, "Cambodian Riel"),
    "KMF": (0, "Comorian Franc"),
    "KPW": (2, "North Korean Won"),
    "KRW": (0, "South Korean Won"),
    "KWD": (3, "Kuwaiti Dinar"),
    "KYD": (2, "Cayman Islands Dollar"),
    "KZT": (2, "Kazakhstani Tenge"),
    "LAK": (2, "Lao Kip"),
    "LBP": (2, "Lebanese Pound"),
    "LKR": (2, "Sri Lanka Rupee"),
    "LRD": (2, "Liberian Dollar"),
    "LSL": (2, "Loti"),
    "LYD": (3, "Libyan Dinar"),
    "MAD": (2, "Moroccan Dirham"),
    "MDL": (2, "Moldovan Leu"),
    "MGA": (2, "Malagasy Ariary"),
    "MKD": (2, "Macedonian Denar"),
    "MMK": (2, "Myanmar Kyat"),
    "MNT": (2, "Mongolian Tögrög"),
    "MOP": (2, "Macao Pataca"),
    "MRU": (2, "Mauritanian Ouguiya"),
    "MUR": (2, "Mauritius Rupee"),
    "MVR": (2, "Maldivian Rufiyaa"),
    "MWK": (2, "Malawi Kwacha"),
    "MXN": (2, "Mexican Peso"),
    "MXV": (2, "Mexican Unidad de Inversión"),
    "MYR": (2, "Malaysian Ringgit"),
    "MZN": (2, "Mozambique Metical"),
    "NAD": (2, "Namibia Dollar"),
    "NGN": (2, "Nigerian Naira"),
    "NIO": (2, "Córdoba Oro"),
    "NOK": (2, "Norwegian Krone"),
    "NPR": (2, "Nepalese Rupee"),
    "NZD": (2, "New Zealand Dollar"),
    "OMR": (3, "Rial Omani"),
    "PAB": (2, "Panamanian Balboa"),
    "PEN": (2, "Peruvian Sol"),
    "PGK": (2, "Papua New Guinean Kina"),
    "PHP": (2, "Philippine Peso"),
    "PKR": (2, "Pakistan Rupee"),
    "PLN": (2, "Polish Zloty"),
    "PYG": (0, "Paraguayan Guaraní"),
    "QAR": (2, "Qatari Rial"),
    "RON": (2, "Romanian Leu"),
    "RSD": (2, "Serbian Dinar"),
    "RUB": (2, "Russian Ruble"),
    "RWF": (0, "Rwanda Franc"),
    "SAR": (2, "Saudi Riyal"),
    "SBD": (2, "Solomon Islands Dollar"),
    "SCR": (2, "Seychelles Rupee"),
    "SDG": (2, "Sudanese Pound"),
    "SEK": (2, "Swedish Krona"),
    "SGD": (2, "Singapore Dollar"),
    "SHP": (2, "Saint Helena Pound"),
    "SLE": (2, "Sierra Leonean Leone"),
    "SOS": (2, "Somali Shilling"),
    "SRD": (2, "Surinam Dollar"),
    "SSP": (2, "South Sudanese Pound"),
    "STN": (2, "São Tomé and Príncipe Dobra"),
    "SVC": (2, "El Salvador Colón"),
    "SYP": (2, "Syrian Pound"),
    "SZL": (2, "Lilangeni"),
    "THB": (2, "Thai Baht"),
    "TJS": (2, "Tajikistani Somoni"),
    "TMT": (2, "Turkmenistan New Manat"),
    "TND": (3, "Tunisian Dinar"),
    "TOP": (2, "Tongan Paʻanga"),
    "TRY": (2, "Turkish Lira"),
    "TTD": (2, "Trinidad and Tobago Dollar"),
    "TWD": (2, "New Taiwan Dollar"),
    "TZS": (2, "Tanzanian Shilling"),
    "UAH": (2, "Ukrainian Hryvnia"),
    "UGX": (0, "Uganda Shilling"),
    "USD": (2, "US Dollar"),
    "USN": (2, "US Dollar (Next day)"),
    "UYI": (0, "Uruguay Peso en Unidades Indexadas"),
    "UYU": (2, "Uruguayan Peso"),
    "UYW": (4, "Unidad Previsional"),
    "UZS": (2, "Uzbekistan Sum"),
    "VED": (2, "Bolívar Digital"),
    "VES": (2, "Bolívar Soberano"),
    "VND": (0, "Vietnamese Dong"),
    "VUV": (0, "Vanuatu Vatu"),
    "WST": (2, "Samoan Tala"),
    "XAD": (2, "Arab Accounting Dinar"),
    "XAF": (0, "CFA Franc BEAC"),
    "XCD": (2, "East Caribbean Dollar"),
    "XCG": (2, "Caribbean Guilder"),
    "XOF": (0, "CFA Franc BCEAO"),
    "XPF": (0, "CFP Franc"),
    "YER": (2, "Yemeni Rial"),
    "ZAR": (2, "South African Rand"),
    "ZMW": (2, "Zambian Kwacha"),
    "ZWG": (2, "Zimbabwe Gold"),
}

CURRENCIES: Final[Mapping[str, tuple[int, str]]] = MappingProxyType(_CURRENCY_TABLE)
"""Read-only view of the currencies offered for new funds: code -> (minor-unit exponent, English name)."""

# Codes ISO has withdrawn since coopbot had funds: refused for new funds and as a cooperative's default, but
# still read, so that funds already in them keep working. Code -> (exponent, name, why it was withdrawn).
_WITHDRAWN_CURRENCIES: Final[dict[str, tuple[int, str, str]]] = {
    "BGN": (2, "Bulgarian Lev", N_("Bulgaria adopted the euro on 1 January 2026: use EUR")),
}
# Every code a stored fund may name.
_READABLE_CURRENCIES: Final[dict[str, tuple[int, str]]] = {
    **_CURRENCY_TABLE,
    **{code: (exponent, name) for code, (exponent, name, _) in _WITHDRAWN_CURRENCIES.items()},
}

# Symbols a member may type next to an amount, mapped (case-folded) to the currencies they can stand for.
# A symbol is accepted only when it can mean the expected currency, so "$12" is fine for NZD but not for EUR.
_DOLLAR_SIGN_CURRENCIES: Final = frozenset(
    {
        "USD", "AUD", "BBD", "BMD", "BND", "BSD", "BZD", "CAD", "FJD", "GYD", "HKD", "JMD", "KYD", "LRD",
        "NAD", "NZD", "SBD", "SGD", "SRD", "TTD", "TWD", "XCD",
        # Pesos written with "$" locally.
        "ARS", "CLP", "COP", "CUP", "DOP", "MXN", "UYU",
    }
)  # fmt: skip
_CURRENCY_SYMBOLS: Final[dict[str, frozenset[str]]] = {
    "$": _DOLLAR_SIGN_CURRENCIES,
    "us$": frozenset({"USD"}),
    "nz$": frozenset({"NZD"}),
    "a$": frozenset({"AUD"}),
    "au$": frozenset({"AUD"}),
    "c$": frozenset({"CAD", "NIO"}),
    "ca$": frozenset({"CAD"}),
    "hk$": frozenset({"HKD"}),
    "s$": frozenset({"SGD"}),
    "nt$": frozenset({"TWD"}),
    "mx$": frozenset({"MXN"}),
    "r$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP", "GIP", "FKP", "SHP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₩": frozenset({"KRW", "KPW"}),
    "₹": frozenset({"INR"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "₱": frozenset({"PHP"}),
    "₦": frozenset({"NGN"}),
    "₴": frozenset({"UAH"}),
    "₸": frozenset({"KZT"}),
    "₺": frozenset({"TRY"}),
    "₽": frozenset({"RUB"}),
    "₼": frozenset({"AZN"}),
    "₾": frozenset({"GEL"}),
    "₡": frozenset({"CRC", "SVC"}),
    "₲": frozenset({"PYG"}),
    "₭": frozenset({"LAK"}),
    "₮": frozenset({"MNT"}),
    "฿": frozenset({"THB"}),
    "₵": frozenset({"GHS"}),
    "৳": frozenset({"BDT"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "zł": frozenset({"PLN"}),
    "kč": frozenset({"CZK"}),
    "ft": frozenset({"HUF"}),
    "r": frozenset({"ZAR"}),
    "rm": frozenset({"MYR"}),
    "rp": frozenset({"IDR"}),
    "cfa": frozenset({"XAF", "XOF"}),
}

# Offered when the autocomplete box is still empty: the currencies cooperatives most often hold.
_COMMON_CURRENCIES: Final = ("EUR", "USD", "GBP", "NZD", "AUD", "CAD", "CHF", "JPY", "SEK", "NOK", "DKK")

MAX_MAJOR_UNITS: Final = 10**12
"""The largest amount a member may type, in major units (one trillion): 10**16 minor units for CLF (four
decimals), which fits a signed 64-bit column. Sums of amounts are bounded by :data:`MAX_BALANCE`."""

MAX_BALANCE: Final = 10**15
"""The most a fund may hold, in minor units: 10 trillion EUR, a quadrillion JPY, 100 billion CLF.

Each amount is capped, but not how many there are: 923 of the largest CLF amounts (10**16 minor units) pass
2**63 - 1, the most a BIGINT balance holds. So a balance never passes this bound: the entry that would is
refused before anything is written, and the database refuses the UPDATE that would (a race). Why 10**15:
far above what a cooperative holds; 9,223 full funds still add up below 2**63, so a total over all the funds
of a cooperative, or of a network of them, fits a BIGINT too; and it is below 2**53, so a chart or a JSON
reader that takes numbers as doubles gets every balance exactly. Sums over a fund's rows (entries,
approved requests) are exact whatever their number: see ``governance.funds._exact_sum``."""

# Enough for "1 000 000 000 000.0000 NZD" with room to spare; longer text is not an amount and is not
# worth echoing back.
_MAX_AMOUNT_TEXT_LENGTH: Final = 64
_MAX_ECHO_LENGTH: Final = 24

_ASCII_DIGITS: Final = frozenset("0123456789")
_MINUS_SIGNS: Final = frozenset("-−–")
_SIGNS: Final = _MINUS_SIGNS | {"+"}
# A run of anything that cannot belong to the number itself: a currency code, a symbol, or junk.
_MARKER_CHARS: Final = r"[^0-9\s.,+\-−–]+"
_LEADING_MARKER: Final = re.compile(_MARKER_CHARS)
_TRAILING_MARKER: Final = re.compile(_MARKER_CHARS + r"\Z")
_EXPONENT_NOTATION: Final = re.compile(r"[0-9.][eE][+\-−]?[0-9]")
_NUMBER_CHARS: Final = re.compile(r"[0-9., ]+")
_WHITESPACE: Final = re.compile(r"\s")
# What comes before a point that could be a thousands separator: one to three digits, not starting with 0.
_THOUSANDS_HEAD: Final = re.compile(r"[1-9][0-9]{0,2}")


def _fold(text: str) -> str:
    """Lower-case and drop accents, so that "bolivar" finds "Bolívar"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


_FOLDED_NAMES: Final = {code: _fold(name) for code, (_, name) in _CURRENCY_TABLE.items()}


def _echo(text: str) -> str:
    """The user's text, shortened and on one line, to quote back in an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_ECHO_LENGTH else flat[: _MAX_ECHO_LENGTH - 1].rstrip() + "…"


def _minor_per_major(exponent: int) -> int:
    # Typeshed types int ** int as Any, because a negative exponent gives a float; ours never is negative.
    return int(10**exponent)


# --- currencies -------------------------------------------------------------------------------------------


def _readable_currency(code: str) -> str:
    """The canonical code for ``code`` (any case, spaces ignored) if a fund may be in it, withdrawn or not."""
    cleaned = "".join(code.split()).upper()
    if not cleaned:
        raise InvalidInput(_("Type a currency code (for example NZD, EUR, USD)."))
    if cleaned not in _READABLE_CURRENCIES:
        raise InvalidInput(
            _("“{text}” is not an ISO 4217 currency code (for example NZD, EUR, USD).", text=_echo(code))
        )
    return cleaned


def parse_currency(code: str) -> str:
    """The canonical ISO 4217 code for ``code`` (any case, spaces ignored), to choose for a new fund or as a
    cooperative's default: unknown and withdrawn codes are refused."""
    cleaned = _readable_currency(code)
    if cleaned in _WITHDRAWN_CURRENCIES:
        raise InvalidInput(
            _(
                "{currency} is no longer an ISO 4217 currency ({reason}).",
                currency=cleaned,
                reason=Translated(_WITHDRAWN_CURRENCIES[cleaned][2]),
            )
        )
    return cleaned


def minor_units(currency: str) -> int:
    """How many decimal places the currency has: 2 for EUR, 0 for JPY, 3 for BHD, 4 for CLF."""
    return _READABLE_CURRENCIES[_readable_currency(currency)][0]


def currency_name(currency: str, language: str = "en") -> str:
    """The currency's name in ``language``, for example "New Zealand Dollar", "Neuseeland-Dollar" (CLDR's,
    with Babel; the English name where CLDR has none)."""
    code = _readable_currency(currency)
    return _localized_names(language).get(code) or _READABLE_CURRENCIES[code][1]


@cache
def _localized_names(language: str) -> Mapping[str, str]:
    """Every offered currency's CLDR name in ``language`` (empty for English: the table's names are ISO's)."""
    from babel.numbers import get_currency_name

    from governance.i18n import babel_locale, language_of

    if language_of(language) == "en":
        return {}
    locale = babel_locale(language)
    names = {code: get_currency_name(code, locale=locale) for code in _CURRENCY_TABLE}
    return {code: name for code, name in names.items() if name and name != code}


@cache
def _folded_names(language: str) -> Mapping[str, str]:
    """The names to match a typed query against: the English and, in another language, its own."""
    local = _localized_names(language)
    return {
        code: f"{_FOLDED_NAMES[code]} | {_fold(local[code])}" if code in local else _FOLDED_NAMES[code]
        for code in _CURRENCY_TABLE
    }


def currency_label(currency: str, language: str = "en") -> str:
    """Code and name as shown in pickers, for example "NZD — New Zealand Dollar" (under 100 characters), the
    name in ``language``."""
    code = _readable_currency(currency)
    return f"{code} — {currency_name(code, language)}"[:100]


def currency_codes() -> list[str]:
    """Every ISO 4217 code offered for new funds, sorted."""
    return sorted(_CURRENCY_TABLE)


def suggest_currencies(query: str, limit: int = 25, language: str = "en") -> list[str]:
    """Codes for an autocomplete box: codes starting with ``query`` first, then codes whose name matches.

    Names match when one of their words starts with the query, then when they contain it anywhere. An empty
    query offers the most common currencies first. ``limit`` defaults to Discord's 25 choices. Names are
    matched in English and in ``language`` ("franken" finds CHF for a German reader).
    """
    if limit <= 0:
        return []
    needle = " ".join(_fold(query).split())
    codes = currency_codes()
    if not needle:
        ranked = [*_COMMON_CURRENCIES, *codes]
    else:
        by_code = [code for code in codes if code.casefold().startswith(needle)]
        # A word of the name starting with the query: "zeal" finds New Zealand Dollar before "real" does.
        names = _folded_names(language)
        by_name_word = [code for code in codes if f" {needle}" in f" {names[code]}"]
        by_name = [code for code in codes if needle in names[code]]
        ranked = [*by_code, *by_name_word, *by_name]
    return list(dict.fromkeys(ranked))[:limit]


def max_minor_units(currency: str) -> int:
    """The largest amount accepted by :func:`parse_amount`, in minor units of ``currency``."""
    return MAX_MAJOR_UNITS * _minor_per_major(minor_units(currency))


# --- amounts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WholeNumber:
    """A whole number to show in each reader's way: "1,000,000" in English, "1.000.000" in German."""

    value: int

    def render(self, language: str) -> str:
        from governance.i18n import babel_locale, language_of

        language = language_of(language)
        if language == "en":
            return f"{self.value:,}"
        from babel.numbers import format_decimal

        return str(format_decimal(self.value, locale=babel_locale(language)))

    def __str__(self) -> str:
        return self.render("en")


def _example(exponent: int) -> str:
    """A sample amount written with the currency's decimals, for hints: 12, 12.50, 12.500, 12.5000."""
    return "12" if exponent == 0 else "12." + "5".ljust(exponent, "0")


def _not_an_amount(text: str, exponent: int) -> InvalidInput:
    return InvalidInput(
        _(
            "“{text}” is not an amount; type a number such as {example}.",
            text=_echo(text),
            example=_example(exponent),
        )
    )


def _split_markers(text: str, exponent: int) -> tuple[str | None, list[str], str]:
    """Split ``text`` into its sign (if any), its currency markers and the number that remains.

    Signs and markers may come in either order before the number ("-$5", "$-5", "NZD -5"); markers may also
    follow it ("12 NZD"). Anything left in the middle is the number, checked later.
    """
    signs: list[str] = []
    markers: list[str] = []
    rest = text
    while True:
        rest = rest.lstrip()
        if rest[:1] in _SIGNS:
            signs.append(rest[0])
            rest = rest[1:]
            continue
        leading = _LEADING_MARKER.match(rest)
        if leading is None:
            break
        markers.append(leading.group())
        rest = rest[leading.end() :]
    while True:
        rest = rest.rstrip()
        trailing = _TRAILING_MARKER.search(rest)
        if trailing is None:
            break
        markers.append(trailing.group())
        rest = rest[: trailing.start()]
    if len(signs) > 1:
        raise _not_an_amount(text, exponent)
    return (signs[0] if signs else None), markers, rest


def _marker_currencies(marker: str) -> frozenset[str]:
    """The currencies a code or symbol typed next to an amount can stand for (empty if none)."""
    if marker.upper() in _READABLE_CURRENCIES:
        return frozenset({marker.upper()})
    return _CURRENCY_SYMBOLS.get(marker.casefold(), frozenset())


def _check_markers(markers: list[str], code: str, text: str, exponent: int) -> None:
    if any(not _marker_currencies(marker) for marker in markers):
        # Also catches words such as "NaN", "inf", "Infinity" and "twelve".
        raise _not_an_amount(text, exponent)
    if len(markers) > 1:
        raise InvalidInput(_("Type at most one currency code or symbol with the amount."))
    if markers and code not in _marker_currencies(markers[0]):
        shown = markers[0].upper() if markers[0].upper() in _READABLE_CURRENCIES else markers[0]
        raise InvalidInput(_("The amount must be in {currency}, not {typed}.", currency=code, typed=shown))


def _groups(integer_part: str) -> list[str]:
    """The integer part's thousands groups (one group when it has no separator), which must be of exactly
    three digits after the first."""
    separators = {ch for ch in integer_part if ch in ", "}
    if not separators:
        return [integer_part]
    groups = integer_part.split(separators.pop())
    if separators or not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
        # Also refuses a mix of commas and spaces and the Indian lakh grouping (1,00,000): both are rare
        # in typed amounts and easy to mistype.
        raise InvalidInput(
            _("Thousands separators must group three digits, as in {example}.", example="1,200,000.50")
        )
    return groups


def _units(digits: str) -> str:
    return digits.lstrip("0") or "0"


def _as_decimal(head: str, tail: str, exponent: int) -> str | None:
    """``head`` and ``tail`` read as units and decimals, written so that nobody can read the point as a
    thousands separator; None when the currency has too few decimals for it."""
    units = _units(head)
    digits = tail.rstrip("0")
    if len(digits) > exponent:
        return None
    if not digits:
        return units
    if len(digits) < 3 or units == "0" or len(units) > 3:
        return f"{units}.{digits}"
    # Three decimals look like a thousands group: a fourth one (a zero) or a leading 0 says they are not.
    return f"{units}.{digits}0" if exponent > 3 else f"0{units}.{digits}"


def _ambiguous(number: str, code: str, readings: list[str | None]) -> InvalidInput:
    """The refusal of a number that can be read two ways, with each reading written unambiguously."""
    shown = list(dict.fromkeys(reading for reading in readings if reading is not None))
    if len(shown) == 1:
        return InvalidInput(
            _(
                "“{text}” is ambiguous in {currency}: write {reading}.",
                text=_echo(number),
                currency=code,
                reading=shown[0],
            )
        )
    first, second = shown
    return InvalidInput(
        _(
            "“{text}” is ambiguous in {currency}: write {first} or {second}.",
            text=_echo(number),
            currency=code,
            first=first,
            second=second,
        )
    )


def _split_number(number: str, text: str, code: str, exponent: int) -> tuple[str, str]:
    """Read the number part into (integer digits, fraction digits), refusing every ambiguous form.

    A form is ambiguous when people who write a decimal comma (and group thousands with points or spaces)
    would read it as another amount than people who write a decimal point (and group with commas or
    spaces) do, or when it only makes sense as a number no one would write.
    """
    if not _NUMBER_CHARS.fullmatch(number) or not any(ch in _ASCII_DIGITS for ch in number):
        raise _not_an_amount(text, exponent)
    if number.count(".") > 1:
        raise InvalidInput(
            _(
                "An amount has at most one decimal point; group thousands with commas, as in {example}.",
                example="1,200.50",
            )
        )
    integer_part, point, fraction = number.partition(".")
    decimal_comma_hint = (
        _("{currency} has no minor units; use a whole number.", currency=code)
        if exponent == 0
        else _(
            "Use a point for decimals, as in {example}; commas only group thousands, as in {grouped}.",
            example=_example(exponent),
            grouped="1,200",
        )
    )
    if "," in fraction:  # "1.200,50": a comma after the point can only be a decimal comma.
        raise InvalidInput(decimal_comma_hint)
    if " " in fraction:
        raise _not_an_amount(text, exponent)
    if not point and integer_part.count(",") == 1 and " " not in integer_part:
        head, tail = integer_part.split(",")
        if len(tail) != 3:  # "12,50" or "12,5": a decimal comma, not thousands.
            raise InvalidInput(decimal_comma_hint)
        # "12,500 BHD" is 12500 to some and 12.5 to others. Nobody groups thousands after a leading 0, so
        # "0,500" is a decimal comma (half a euro), not five hundred.
        if (head + tail).strip("0") and (exponent >= 3 or head.startswith("0")):
            raise _ambiguous(number, code, [_units(head + tail), _as_decimal(head, tail, exponent)])
    groups = _groups(integer_part)
    if len(groups) > 1 and groups[0].startswith("0") and "".join(groups).strip("0"):
        # "05,206" or "0 500.25": a leading 0 before thousands separators is a typo or a decimal comma.
        raise _ambiguous(number, code, [_units("".join(groups)) + (f".{fraction}" if fraction else "")])
    if exponent >= 3 and len(fraction) == 3 and _THOUSANDS_HEAD.fullmatch(integer_part):
        # "12.345 BHD": twelve dinars to those who write a decimal point, twelve thousand to those who
        # group thousands with points.
        raise _ambiguous(
            number, code, [integer_part + fraction, _as_decimal(integer_part, fraction, exponent)]
        )
    return "".join(groups), fraction


def parse_amount(text: str, currency: str) -> int:
    """Read an amount typed by a member into positive minor units of ``currency``.

    Raises :class:`InvalidInput` with a short message naming the problem for anything else: empty text,
    zero or negative amounts, too many decimals, exponent notation, NaN or infinity, misplaced thousands
    separators, a decimal comma, digits other than 0-9, another currency, or more than
    :data:`MAX_MAJOR_UNITS`.
    """
    code = _readable_currency(currency)
    exponent = _READABLE_CURRENCIES[code][0]
    text = text.strip()
    if not text:
        raise InvalidInput(
            _("Type an amount, for example {example} {currency}.", example=_example(exponent), currency=code)
        )
    if len(text) > _MAX_AMOUNT_TEXT_LENGTH:
        raise InvalidInput(
            _(
                "That is too long to be an amount; type a number such as {example}.",
                example=_example(exponent),
            )
        )
    if any(ch.isdigit() and ch not in _ASCII_DIGITS for ch in text):
        # Other scripts' digits (Arabic-Indic, full-width...) are refused rather than converted, so that what
        # the treasurer reads on the ledger is what the member typed.
        raise InvalidInput(
            _("Type the amount with the digits 0-9, for example {example}.", example=_example(exponent))
        )
    if _EXPONENT_NOTATION.search(text):
        raise InvalidInput(
            _("Write the amount in full, without exponent notation such as {example}.", example="1e5")
        )

    sign, markers, number = _split_markers(text, exponent)
    _check_markers(markers, code, text, exponent)
    if sign in _MINUS_SIGNS:
        raise InvalidInput(_("The amount must be positive; type it without a minus sign."))
    integer_digits, fraction_digits = _split_number(_WHITESPACE.sub(" ", number), text, code, exponent)
    if len(fraction_digits) > exponent:
        if exponent == 0:
            raise InvalidInput(_("{currency} has no minor units; use a whole number.", currency=code))
        raise InvalidInput(
            _n(
                "{currency} amounts have at most {count} decimal place.",
                "{currency} amounts have at most {count} decimal places.",
                exponent,
                currency=code,
            )
        )

    too_large = InvalidInput(
        _(
            "That is more than the largest amount coopbot handles ({largest} {currency}).",
            largest=_WholeNumber(MAX_MAJOR_UNITS),
            currency=code,
        )
    )
    # Checked on the digits first so that Decimal never sees more digits than its 28-digit precision.
    if len(integer_digits.lstrip("0")) > len(str(MAX_MAJOR_UNITS)):
        raise too_large
    major = Decimal(f"{integer_digits or '0'}.{fraction_digits or '0'}")
    minor = int(major.scaleb(exponent))
    if minor == 0:
        raise InvalidInput(_("The amount must be more than zero."))
    if minor > MAX_MAJOR_UNITS * _minor_per_major(exponent):
        raise too_large
    return minor


def format_amount(minor: int, currency: str, *, with_code: bool = True) -> str:
    """Show minor units as "1,200.50 NZD", "1,200 JPY" or "-3.000 BHD" (negatives are reversals).

    Exact integer arithmetic; the output is read back unchanged by :func:`parse_amount` when positive, except
    where it is ambiguous ("12.345 BHD" is also twelve thousand to some): then the refusal spells it out.
    """
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be an int, not {type(minor).__name__}")
    code = _readable_currency(currency)
    exponent = _READABLE_CURRENCIES[code][0]
    major, fraction = divmod(abs(minor), _minor_per_major(exponent))
    shown = f"{'-' if minor < 0 else ''}{major:,}"
    if exponent:
        shown += f".{fraction:0{exponent}d}"
    return f"{shown} {code}" if with_code else shown


def to_decimal(minor: int, currency: str) -> Decimal:
    """The exact value in major units, with the currency's decimal places: 1250 EUR -> Decimal("12.50")."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be an int, not {type(minor).__name__}")
    sign, digits, _ = Decimal(minor).as_tuple()
    # Built from the digits rather than by division so that no context precision or rounding applies.
    return Decimal((sign, digits, -minor_units(currency)))


def format_signed_amount(minor: int, currency: str) -> str:
    """Like :func:`format_amount`, with "+" before a positive amount: a movement in or out of a fund."""
    return ("+" if minor > 0 else "") + format_amount(minor, currency)


# --- the reader's way of writing numbers (languages) ------------------------------------------------

# Languages whose readers write a decimal comma and group thousands with points or spaces (1.200,50).
DECIMAL_COMMA_LANGUAGES: Final = frozenset({"es", "pt_BR", "fr", "de", "el"})
_POINT_GROUPS = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d*)?$")


@dataclass(frozen=True)
class Money:
    """An amount to show, in each reader's way (``render(language)``): "1,200.50 NZD" in English,
    "1.200,50 €" in German, "R$ 1.200,50" in Brazil. ``str()`` is the English."""

    minor: int
    currency: str

    def render(self, language: str) -> str:
        from governance.i18n import babel_locale, language_of

        language = language_of(language)
        if language == "en":
            return format_amount(self.minor, self.currency)
        from babel.numbers import format_currency

        return format_currency(
            to_decimal(self.minor, self.currency),
            self.currency,
            locale=babel_locale(language),
            currency_digits=True,
        )

    def __str__(self) -> str:
        return self.render("en")


def amount_figure(minor: int, currency: str, language: str) -> str:
    """The amount's number alone, with the currency's decimals, the reader's way ("1.234,50" in German): for
    a chart's axis, whose title names the currency."""
    from babel.numbers import format_currency

    from governance.i18n import babel_locale

    return format_currency(
        to_decimal(minor, currency),
        currency,
        format="#,##0.00",
        currency_digits=True,
        locale=babel_locale(language),
    )


def normalise_amount(text: str, language: str) -> str:
    """An amount as a reader of ``language`` typed it, rewritten the way :func:`parse_amount` reads it.

    Where the language writes a decimal comma, "12,50" is twelve fifty and "1.200,50" twelve hundred; a point
    that does not group three digits ("12.50") reads two ways there, and is refused."""
    from governance.i18n import _, language_of

    if language_of(language) not in DECIMAL_COMMA_LANGUAGES:
        return text
    number = _WHITESPACE.sub("", text)
    digits = "".join(ch for ch in number if ch.isdigit() or ch in ".,")
    if "." in digits and not _POINT_GROUPS.match(digits):
        raise InvalidInput(
            _(
                "Write decimals with a comma, as in {example}; a point only groups thousands, as in "
                "{grouped}.",
                example="12,50",
                grouped="1.200",
            )
        )
    return text.translate(str.maketrans(",.", ".,"))
