"""Requests to addresses that people typed (webhooks), made so that they can neither reach into the
operator's network nor hold the bot up.

- Public addresses only. An address written in the URL, and every address its host name has, must be
  globally routable; the operator may allow loopback (this machine) for development, nothing else private.
  The name is looked up at every request by the bot itself, and the connection goes to an address that was
  checked (no second look-up that a changed DNS answer could redirect); TLS still checks the certificate
  for the name. Redirects are never followed.
- One deadline for the whole request: look-up, connection, sending, and the answer's status line and
  headers. The answer's body is never read.
- Every failure of a request is an Outcome, never an exception.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import re
import socket
import ssl
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpcore
import httpx
import idna

from governance.errors import InvalidInput
from governance.i18n import N_, _

log = logging.getLogger("coopbot.outbound")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host name, port) -> every address the name has; raises OSError when it has none.
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]

MAX_URL = 500
# A look-up made while a command waits for its answer: Discord wants one within 3 seconds.
LOOKUP_NOW_SECONDS = 2.0
# Refusals of a URL. A delivery's failure keeps its English (``Outcome.error``, a webhook's last error);
# those that are constants are marked, so that whoever shows one can say it in the reader's language.
UNUSABLE = _("That is not a URL I can use: give a full https:// address.")
HTTPS_ONLY = _("Webhook URLs must use https:// (http only to localhost, in development).")
CREDENTIALS = _("Put no user name or password in the URL; the signature authenticates coopbot.")
INVISIBLE = _("That URL has invisible or control characters in it: type it again without them.")
BAD_PUNYCODE = _("That host name has an xn-- part that is not valid: type the name as you would read it.")
MIXED_SCRIPTS = _("That host name mixes alphabets in one part (as a look-alike name would): check it.")
TIMED_OUT = N_("the receiver did not answer in time")
LOOPBACK = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
# One label of a host name in its ASCII form (IDNA): letters, digits, hyphens inside, underscores.
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
# Scripts that one label may mix (Unicode's "highly restrictive" profile, UTS #39): Latin with the scripts
# that Chinese, Japanese and Korean are written in together.
_SCRIPT_MIXES = ({"LATIN", "HAN", "KANA"}, {"LATIN", "HAN", "BOPOMOFO"}, {"LATIN", "HAN", "HANGUL"})
_SCRIPT_OF_WORD = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "HIRAGANA": "KANA",
    "KATAKANA": "KANA",
    "KATAKANA-HIRAGANA": "KANA",
}


class NotPublic(InvalidInput):
    """The address is this machine or a private network's, or a name has such an address."""

    def __init__(self) -> None:
        super().__init__(_("Refused: not a public address (webhooks go to servers on the internet only)."))


class LookupFailed(Exception):
    """The host name has no address now (unknown, or the resolver failed)."""


@dataclass(frozen=True)
class Destination:
    """Where a URL points, as the HTTP client reads it."""

    url: str
    host: str  # ASCII (IDNA), lower case; an IPv6 address without its brackets
    port: int
    address: Address | None  # the host, when it is an address rather than a name


@dataclass(frozen=True)
class Outcome:
    """How a request went: error None is a 2xx answer; `retry` says whether trying later may help."""

    error: str | None
    retry: bool = False


def is_public(address: Address) -> bool:
    """Globally routable: not loopback, private, shared (CGNAT), link-local, unique-local, unspecified,
    documentation, reserved or multicast, nor an IPv6 address that carries such an IPv4 address."""
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        # These reach the IPv4 address inside them (6to4 and Teredo through a relay).
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        return embedded is None or is_public(embedded)
    return True


async def resolve(host: str, port: int) -> list[Address]:
    """Every address of `host`, from the system's resolver (in a thread: the event loop never waits)."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = (
        ipaddress.ip_address(sockaddr[0])
        for family, _, _, _, sockaddr in answers
        if family in (socket.AF_INET, socket.AF_INET6)
    )
    return list(dict.fromkeys(found))


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # The CA certificates httpx uses (certifi, or SSL_CERT_FILE), loaded once.
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Outbound:
    """The bot's way of making requests to addresses that people gave it (see the module's docstring)."""

    timeout: float = 10.0  # seconds for a whole request
    allow_loopback: bool = False  # development only: this machine (http or https)
    resolver: Resolver = resolve
    ssl_context: ssl.SSLContext | None = None  # None: the usual CA certificates

    def destination(self, url: str) -> Destination:
        """Refuse (InvalidInput) a URL that is no usable webhook address, whatever its host resolves to."""
        text = url.strip()
        if len(text) > MAX_URL:
            raise InvalidInput(_("A webhook URL is at most {limit} characters.", limit=MAX_URL))
        if any(_invisible(character) for character in text):
            raise InvalidInput(INVISIBLE)
        try:
            # httpx's reading of the URL, because httpx builds the request: the host checked is the one used.
            parsed = httpx.URL(text)
            host = parsed.raw_host.decode("ascii")
            port = (443 if parsed.scheme == "https" else 80) if parsed.port is None else parsed.port
        except (httpx.InvalidURL, ValueError, UnicodeError):  # InvalidURL is neither
            raise InvalidInput(UNUSABLE) from None
        if parsed.scheme not in {"http", "https"} or not host or not 0 < port < 65536:
            raise InvalidInput(UNUSABLE)
        if parsed.userinfo:
            raise InvalidInput(CREDENTIALS)
        address = _address(host)
        if address is None:
            _check_name(host)
        loopback = address.is_loopback if address is not None else _is_localhost(host)
        if parsed.scheme == "http" and not (self.allow_loopback and loopback):
            raise InvalidInput(HTTPS_ONLY)
        return Destination(text, host, port, address)

    async def addresses(self, destination: Destination) -> Sequence[Address]:
        """The addresses to connect to: NotPublic unless every one is allowed; LookupFailed when the name
        has none now."""
        if destination.address is not None:
            found: Sequence[Address] = [destination.address]
        elif _is_localhost(destination.host):
            found = LOOPBACK  # localhost names are this machine by definition (RFC 6761), never looked up
        else:
            try:
                found = await self.resolver(destination.host, destination.port)
            except (OSError, UnicodeError, ValueError) as error:
                raise LookupFailed from error
            if not found:
                raise LookupFailed
        if not all(is_public(address) or (self.allow_loopback and address.is_loopback) for address in found):
            raise NotPublic
        return found

    async def check(self, url: str) -> bool:
        """For a command (adding a webhook, testing it): refuse what the bot would not send to. True when
        the name was looked up now; False when it could not be, and will be checked at each request."""
        destination = self.destination(url)
        try:
            async with asyncio.timeout(min(self.timeout, LOOKUP_NOW_SECONDS)):
                await self.addresses(destination)
        except (LookupFailed, TimeoutError):
            return False
        return True

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """POST `body` to `url` within the deadline; only the answer's status is read."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._post(url, body, headers)
        except TimeoutError:
            return Outcome(TIMED_OUT, retry=True)
        except Exception as error:  # a failure of one request must not stop the bot's others
            log.exception("A webhook request failed unexpectedly")  # not its URL: it may hold a secret
            return Outcome(f"failed ({type(error).__name__})", retry=True)

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        try:
            destination = self.destination(url)
            request = httpx.Request("POST", destination.url, headers=headers, content=body)
            addresses = await self.addresses(destination)
        except InvalidInput as refused:  # NotPublic too: the same answer every time, so not retried
            return Outcome(refused.message)
        except (httpx.InvalidURL, UnicodeError):
            return Outcome(str(UNUSABLE))
        except LookupFailed:
            return Outcome(N_("could not look up the host name"), retry=True)
        try:
            status = await self._send(request, destination, addresses)
        except (
            httpcore.NetworkError,
            httpcore.TimeoutException,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            OSError,
        ) as failure:
            return Outcome(f"could not connect ({type(failure).__name__})", retry=True)
        if 300 <= status < 400:
            return Outcome(f"HTTP {status} (redirects are not followed)")
        if not 200 <= status < 300:
            return Outcome(f"HTTP {status}", retry=status >= 500 or status in (408, 429))
        return Outcome(None)

    async def _send(
        self, request: httpx.Request, destination: Destination, addresses: Sequence[Address]
    ) -> int:
        # A connection pool for this one request: its connection goes only to the addresses checked.
        async with httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context or _default_ssl_context(),
            network_backend=_Pinned(destination.host, addresses),
            max_connections=1,
            retries=0,
        ) as pool:
            target = httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            )
            # Leaving the block unread closes the connection: a receiver that sends much, or slowly, is cut.
            async with pool.stream(
                "POST", target, headers=request.headers.raw, content=request.content
            ) as response:
                return response.status


class _Pinned(httpcore.AsyncNetworkBackend):
    """Connects to the addresses that were checked for `host`, and for no other host: no look-up here."""

    def __init__(self, host: str, addresses: Sequence[Address]) -> None:
        self._host = host
        self._addresses = addresses
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != self._host:
            raise httpcore.ConnectError(f"{host} is not the host that was checked")
        failure = httpcore.ConnectError("no address")
        for address in self._addresses:
            try:
                return await self._network.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                failure = error
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("not a network address")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


def _invisible(character: str) -> bool:
    """Control, format (zero-width, bidi), private-use, unassigned and odd space characters."""
    category = unicodedata.category(character)
    return category in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"} or (category == "Zs" and character != " ")


def _address(host: str) -> Address | None:
    """The address that `host` is, when it is one rather than a name."""
    if ":" in host:  # httpx gives an IPv6 address without its brackets
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidInput(UNUSABLE) from None
    labels = host.removesuffix(".").split(".")
    if not labels[-1].isdigit() and _number(labels[-1]) is None:
        return None
    # A host ending in a number is an IPv4 address as resolvers and browsers read it: 127.1, 2130706433,
    # 0x7f000001 and 0177.0.0.1 all are 127.0.0.1 (WHATWG URL standard, inet_aton).
    numbers = [number for number in map(_number, labels) if number is not None]
    if len(numbers) != len(labels) or len(numbers) > 4:
        raise InvalidInput(UNUSABLE)
    *high, low = numbers
    if any(number > 255 for number in high) or low >= 256 ** (5 - len(numbers)):
        raise InvalidInput(UNUSABLE)
    return ipaddress.IPv4Address(sum(number << 8 * (3 - i) for i, number in enumerate(high)) + low)


def _number(label: str) -> int | None:
    """A label as a number: 0x… hexadecimal, 0… octal, else decimal; None when it is none of these."""
    if label[:2] == "0x":
        digits, base = label[2:], 16
    elif len(label) > 1 and label[0] == "0":
        digits, base = label[1:], 8
    else:
        digits, base = label, 10
    if not label or any(digit not in "0123456789abcdef"[:base] for digit in digits):
        return None
    return int(digits or "0", base)


def _is_localhost(host: str) -> bool:
    name = host.removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def _check_name(host: str) -> None:
    """Refuse a host name that DNS could not hold, an xn-- label that is no valid IDNA, or a label that
    mixes scripts as look-alike names do (a Cyrillic "а" among Latin letters)."""
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(UNUSABLE)
    for label in labels:
        if not label.startswith("xn--"):
            continue
        try:
            readable = idna.decode(label)
        except (idna.IDNAError, UnicodeError, ValueError):
            raise InvalidInput(BAD_PUNYCODE) from None
        scripts = {_script(character) for character in readable if unicodedata.category(character)[0] == "L"}
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_MIXES):
            raise InvalidInput(MIXED_SCRIPTS)


def _script(letter: str) -> str:
    # Python's unicodedata has no Script property; a letter's name starts with its script's name
    # ("LATIN SMALL LETTER A", "CYRILLIC SMALL LETTER A", "CJK UNIFIED IDEOGRAPH-4E00"), close enough here.
    word = unicodedata.name(letter, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_OF_WORD.get(word, word)
