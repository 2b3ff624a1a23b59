"""Webhooks reach public addresses only, and one cooperative's receiver cannot hold up another's: against
real receivers on 127.0.0.1, host names answered by a stub resolver (the bot's resolver seam)."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import Queue
from typing import Any
from urllib.parse import urlsplit

import pytest
import simcord
from sqlmodel import select

from bot import CoopBot
from config import Settings
from governance import webhooks
from governance.clock import ManualClock
from governance.outbound import TIMED_OUT, Address
from storage.database import Database
from storage.models import Webhook, WebhookDelivery
from tests.cogs.helpers import deliver, refusal, serve_receiver
from tests.conftest import Coop, build_coop, configure

PUBLIC = "93.184.216.34"  # a global address; nothing here connects to it
NOT_PUBLIC = "not a public address"
TIMEOUT = 0.5  # seconds for a whole delivery, in these tests


@pytest.fixture
def allow_loopback() -> bool:
    """WEBHOOKS_ALLOW_HTTP_LOCALHOST; a test that needs the development setting parametrizes this True."""
    return False


@pytest.fixture
def settings(database_url: str, allow_loopback: bool) -> Settings:
    return Settings(
        database_url=database_url,
        discord_token=None,
        webhooks_allow_http_localhost=allow_loopback,
        webhook_timeout_seconds=TIMEOUT,
        shard_count=1,
        _env_file=None,
    )


loopback_allowed = pytest.mark.parametrize("allow_loopback", [True])


@dataclass
class StubResolver:
    """Host names' addresses, answer after answer (the last one repeats); other names are unknown."""

    answers: dict[str, list[list[str]]]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[Address]:
        self.asked.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = turns.pop(0) if len(turns) > 1 else turns[0]
        return [ipaddress.ip_address(address) for address in answer]


def _use(bot: CoopBot, **changes: Any) -> None:
    """Give the bot's outbound requests a stub resolver or a TLS context of the test's."""
    admin: Any = bot.get_cog("CoopAdmin")  # an extension's own copy of cogs.admin: no isinstance
    admin.outbound = replace(admin.outbound, **changes)


async def _add(coop: Coop, url: str) -> str:
    return (await coop.admin.slash(coop.governance, "coop webhooks add", url=url)).response.content


async def _legacy_webhook(db: Database, coop: Coop, clock: ManualClock, url: str) -> int:
    """A webhook stored before URLs were checked as they are now (the database holds it as it is)."""
    async with db.write() as session:
        webhook = Webhook(
            guild_id=coop.guild.id,
            url=url,
            secret="s" * 64,
            events=sorted(webhooks.EVENTS.values()),
            created_by=coop.admin.id,
            created_at=clock.now(),
        )
        session.add(webhook)
        await session.flush()
        assert webhook.id is not None
        return webhook.id


async def _pending(
    db: Database, coop: Coop, clock: ManualClock, webhook_id: int, *, attempts: int = 0
) -> None:
    """A ping due now for `webhook_id`, as /coop webhooks test queues it."""
    delivery_id = f"00000000-0000-4000-8000-{webhook_id:012d}"
    async with db.write() as session:
        session.add(
            WebhookDelivery(
                guild_id=coop.guild.id,
                webhook_id=webhook_id,
                delivery_id=delivery_id,
                event="ping",
                payload={"event": "ping", "delivery_id": delivery_id},
                attempts=attempts,
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )


async def _delivery(db: Database, webhook_id: int) -> WebhookDelivery:
    """The one delivery of `webhook_id`."""
    async with db.read() as session:
        return (
            await session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
        ).one()


async def _recorded(db: Database, webhook_id: int) -> bool:
    """The latest attempt of the webhook's delivery has its outcome recorded."""
    delivery = await _delivery(db, webhook_id)
    return delivery.status != "pending" or bool(delivery.last_error)


async def _until(check: Callable[[], bool | Awaitable[bool]], within: float = 10.0) -> None:
    """Wait until `check` holds (polling; `within` only bounds a test that would otherwise hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        assert loop.time() < deadline, "the condition did not come true"
        await asyncio.sleep(0.02)


# --- raw TCP receivers -------------------------------------------------------------------------------

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def raw_server(answer: Answer) -> Iterator[int]:
    """A TCP server on 127.0.0.1 (its port is yielded) answering each connection with `answer`, on an
    event loop of its own in a thread, so that its timing is real whatever SimCord does with the bot's."""
    started: Queue[tuple[int, asyncio.AbstractEventLoop, asyncio.Event]] = Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        started.put((server.sockets[0].getsockname()[1], asyncio.get_running_loop(), stop))
        async with server:
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    port, loop, stop = started.get(timeout=5)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=5)


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)


@dataclass
class Sending:
    """What a raw receiver did: connections taken, bytes of its answer sent, whether it sent all."""

    connections: int = 0
    sent: int = 0
    finished: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


def _answering(state: Sending, head: bytes, pieces: list[bytes], pause: float = 0.0) -> Answer:
    """Read the request, answer `head`, then each piece (after `pause`); stop when the bot hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            await _read_request(reader)
            writer.write(head)
            await writer.drain()
            for piece in pieces:
                await asyncio.sleep(pause)
                writer.write(piece)
                await writer.drain()
                state.sent += len(piece)
            state.finished.set()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the bot hung up
        finally:
            state.ended.set()
            writer.close()

    return answer


# --- where a webhook may point ----------------------------------------------------------------------

NOT_PUBLIC_URLS = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://app.localhost/hook",
    "https://[::1]/hook",
    "https://10.0.0.5/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://100.64.0.1/hook",  # shared (carrier-grade NAT)
    "https://224.0.0.1/hook",  # multicast
    "https://240.0.0.1/hook",  # reserved
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://[::ffff:a00:5]/hook",
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://2130706433/hook",  # 127.0.0.1 as resolvers read these
    "https://0x7f000001/hook",
    "https://127.1/hook",
    "https://0x0a.0.0.5/hook",
]


async def _answers(coop: Coop, urls: list[str]) -> dict[str, str]:
    """What /coop webhooks add answers for each URL."""
    return {url: await _add(coop, url) for url in urls}


async def test_an_address_that_is_not_public_is_refused(configured: Coop, simcord_env: simcord.Env) -> None:
    answers = await _answers(configured, NOT_PUBLIC_URLS)
    assert {url: answer for url, answer in answers.items() if NOT_PUBLIC not in answer} == {}
    # 0177.0.0.1 is 127.0.0.1 to the system's resolver; the HTTP client cannot send to it at all.
    assert "not a URL I can use" in await _add(configured, "https://0177.0.0.1/")
    listed = await configured.admin.slash(configured.governance, "coop webhooks list")
    assert "No webhooks yet" in listed.response.content


@loopback_allowed
async def test_in_development_loopback_is_allowed_and_nothing_else_private(
    configured: Coop, simcord_env: simcord.Env
) -> None:
    loopback = ["http://127.0.0.1:8080/hook", "https://localhost/hook", "http://[::1]:8080/hook"]
    private = ["https://10.0.0.5/hook", "https://169.254.169.254/latest/", "https://[fd00::1]/hook"]
    answers = await _answers(configured, [*loopback, *private, "https://[::ffff:127.0.0.1]/hook"])
    assert [url for url, answer in answers.items() if "added" in answer] == loopback
    assert all(NOT_PUBLIC in answer for url, answer in answers.items() if url not in loopback)


async def test_a_host_name_is_looked_up_when_the_webhook_is_added(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot
) -> None:
    resolver = StubResolver(
        {
            "internal.example.org": [["10.0.0.5"]],
            "partly.example.org": [[PUBLIC, "10.0.0.5"]],
            "hooks.example.org": [[PUBLIC, "2606:2800:220:1::1"]],
        }
    )
    _use(simcord_bot, resolver=resolver)

    for name in ("internal", "partly"):
        refused = await refusal(
            await configured.admin.slash(
                configured.governance, "coop webhooks add", url=f"https://{name}.example.org/hook"
            )
        )
        assert NOT_PUBLIC in refused
    added = await _add(configured, "https://hooks.example.org/hook")
    assert "Webhook #1 added" in added and "could not look" not in added
    # A name without an address now may be a receiver still being set up: it is checked at each delivery.
    unknown = await _add(configured, "https://soon.example.org/hook")
    assert "Webhook #2 added" in unknown and "checked before each delivery" in unknown
    assert resolver.asked == [f"{name}.example.org" for name in ("internal", "partly", "hooks", "soon")]


LOOK_ALIKES = {
    "https://hooks\u200b.example.org/hook": "invisible",  # zero-width space
    "https://hooks.exa\u202emple.org/hook": "invisible",  # right-to-left override
    "https://hooks\u00ad.example.org/hook": "invisible",  # soft hyphen
    "https://hooks.example.org/\x07": "invisible",
    "https://xn--a.example.org/hook": "xn--",
    "https://xn--ls8h.example.org/hook": "xn--",  # an emoji: valid punycode, no valid name
    "https://xn--zz.example.org/hook": "xn--",  # not even punycode
    "https://p\u0430ypal.example.org/hook": "mixes alphabets",  # a Cyrillic а among Latin letters
    "https://xn--pypal-4ve.example.org/hook": "mixes alphabets",  # the same, as punycode
}


async def test_invisible_and_look_alike_host_names_are_refused(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot
) -> None:
    _use(simcord_bot, resolver=StubResolver({}))
    answers = await _answers(configured, list(LOOK_ALIKES))
    assert {url: answer for url, answer in answers.items() if LOOK_ALIKES[url] not in answer} == {}


async def test_an_international_host_name_in_one_script_is_accepted(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot
) -> None:
    resolver = StubResolver({"xn--bcher-kva.example": [[PUBLIC]], "xn--wgv71a119e.jp": [[PUBLIC]]})
    _use(simcord_bot, resolver=resolver)
    assert "Webhook #1 added" in await _add(configured, "https://bücher.example/hook")
    assert "Webhook #2 added" in await _add(configured, "https://日本語.jp/hook")


# --- at each delivery --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for hooks.receiver.test."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    make = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    name = "-subj /CN=hooks.receiver.test -addext subjectAltName=DNS:hooks.receiver.test"
    subprocess.run(
        [*make.split(), *name.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@loopback_allowed
async def test_each_delivery_looks_the_name_up_and_connects_to_the_address_it_checked(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    db: Database,
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    # Names only the stub knows: a look-up of its own by the HTTP client would find nothing.
    resolver = StubResolver({"hooks.receiver.test": [["127.0.0.1"]], "other.receiver.test": [["127.0.0.1"]]})
    _use(simcord_bot, resolver=resolver, ssl_context=ssl.create_default_context(cafile=str(cert)))
    simcord_bot.webhooks.stop()  # deliveries go when the test says (deliver)

    with serve_receiver(served, host="hooks.receiver.test") as receiver:
        port = urlsplit(receiver.url).port
        assert "Webhook #1 added" in await _add(configured, receiver.url)
        # The same server under another name: its certificate is not for that name.
        assert "Webhook #2 added" in await _add(configured, f"https://other.receiver.test:{port}/hooks")
        for webhook in (1, 2):
            await configured.admin.slash(configured.governance, "coop webhooks test", webhook=webhook)
        await deliver(simcord_bot)

    [(headers, _)] = receiver.received
    assert headers["host"] == f"hooks.receiver.test:{port}"  # the name, sent to the address checked
    assert (await _delivery(db, 1)).status == "delivered"
    other = await _delivery(db, 2)
    assert other.status == "pending" and other.last_error == "could not connect (ConnectError)"
    # Looked up when added, when tested, and once for the delivery.
    assert resolver.asked.count("hooks.receiver.test") == resolver.asked.count("other.receiver.test") == 3


async def test_a_name_that_points_inside_at_delivery_is_refused_and_never_connected(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    state = Sending()
    with raw_server(_answering(state, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", [])) as port:
        # Public when added and tested; then its DNS answer changes to this machine (DNS rebinding).
        resolver = StubResolver({"hooks.example.org": [[PUBLIC], [PUBLIC], ["127.0.0.1"]]})
        _use(simcord_bot, resolver=resolver)
        simcord_bot.webhooks.stop()
        assert "Webhook #1 added" in await _add(configured, f"https://hooks.example.org:{port}/hook")
        tested = await configured.admin.slash(configured.governance, "coop webhooks test", webhook=1)
        assert "on its way" in tested.response.content
        await deliver(simcord_bot)

        delivery = await _delivery(db, 1)
        assert delivery.status == "failed" and NOT_PUBLIC in delivery.last_error
        assert state.connections == 0
        listed = await configured.admin.slash(configured.governance, "coop webhooks list")
        assert "failed 1" in listed.response.content and NOT_PUBLIC in listed.response.content
        again = await refusal(
            await configured.admin.slash(configured.governance, "coop webhooks test", webhook=1)
        )
        assert NOT_PUBLIC in again


async def test_a_webhook_kept_from_before_at_a_private_address_is_neither_tested_nor_sent(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    state = Sending()
    with raw_server(_answering(state, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", [])) as port:
        simcord_bot.webhooks.stop()
        webhook_id = await _legacy_webhook(db, configured, clock, f"https://127.0.0.1:{port}/hook")
        # The test's answer is the same whatever listens there (here something does): nothing is mapped.
        tested = await configured.admin.slash(configured.governance, "coop webhooks test", webhook=webhook_id)
        assert NOT_PUBLIC in await refusal(tested)

        await _pending(db, configured, clock, webhook_id)
        await simcord_bot.webhooks.run_now()
        await _until(lambda: _recorded(db, webhook_id))

        delivery = await _delivery(db, webhook_id)
        assert delivery.status == "failed" and NOT_PUBLIC in delivery.last_error
        assert state.connections == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks\u200b.example.org/hook", "invisible"),
        ("https://xn--a.example.org/hook", "xn--"),
    ],
)
async def test_a_url_the_http_client_cannot_use_is_a_failed_delivery(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    url: str,
    expected: str,
) -> None:
    simcord_bot.webhooks.stop()
    webhook_id = await _legacy_webhook(db, configured, clock, url)
    await _pending(db, configured, clock, webhook_id)
    await simcord_bot.webhooks.run_now()
    await _until(lambda: _recorded(db, webhook_id))

    delivery = await _delivery(db, webhook_id)
    # Failed for good (trying again cannot help), not left pending to fail every two minutes.
    assert delivery.status == "failed" and expected in delivery.last_error


# --- one receiver cannot hold up the others ----------------------------------------------------------

DRIP = [b"."] * 15  # one byte every 0.2 s: 3 s in all, far beyond the deadline, each read quick


@loopback_allowed
@pytest.mark.parametrize("where", ["headers", "body"])
async def test_a_dripping_receiver_holds_up_no_other_cooperative(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    where: str,
) -> None:
    other = build_coop(simcord_env, name="Other Collective")
    await simcord_env.settle()
    await configure(other, db, clock)
    simcord_bot.webhooks.stop()
    head = (
        b"HTTP/1.1 200 OK\r\nX-Drip: "  # the header never ends while it drips
        if where == "headers"
        else b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(DRIP)
    )
    pieces = [*DRIP, b"\r\nContent-Length: 0\r\n\r\n"] if where == "headers" else DRIP
    drip = Sending()
    with raw_server(_answering(drip, head, pieces, pause=0.2)) as port, serve_receiver() as receiver:
        assert "Webhook #1 added" in await _add(configured, f"http://127.0.0.1:{port}/hook")
        assert "Webhook #2 added" in await _add(other, receiver.url)

        await configured.admin.slash(configured.governance, "coop webhooks test", webhook=1)
        first = asyncio.create_task(simcord_bot.webhooks.run_now())
        await _until(lambda: drip.connections == 1)
        # While the drip goes on, the other cooperative's ping is queued and the alarm rings again.
        await other.admin.slash(other.governance, "coop webhooks test", webhook=2)
        second = asyncio.create_task(simcord_bot.webhooks.run_now())
        await _until(lambda: _recorded(db, 2))
        assert not drip.finished.is_set()
        assert (await _delivery(db, 2)).status == "delivered" and len(receiver.received) == 1

        await _until(lambda: _recorded(db, 1))
        dripping = await _delivery(db, 1)
        assert not drip.finished.is_set()  # the drip's delivery ended before the drip did
        if where == "headers":
            assert (dripping.status, dripping.last_error) == ("pending", TIMED_OUT)  # tried again later
        else:
            assert dripping.status == "delivered"  # the status is all that counts; the body is not read
        await asyncio.gather(first, second)


@loopback_allowed
async def test_an_answer_body_is_not_read(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    size = 48 * 1024 * 1024
    chunk = b"x" * 65536
    flood = Sending()
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
    with raw_server(_answering(flood, head, [chunk] * (size // len(chunk)))) as port:
        simcord_bot.webhooks.stop()
        assert "Webhook #1 added" in await _add(configured, f"http://127.0.0.1:{port}/hook")
        await configured.admin.slash(configured.governance, "coop webhooks test", webhook=1)
        await simcord_bot.webhooks.run_now()
        await _until(lambda: _recorded(db, 1))
        await _until(flood.ended.is_set)

    assert (await _delivery(db, 1)).status == "delivered"
    assert not flood.finished.is_set() and flood.sent < size  # the bot hung up after the status line


@loopback_allowed
async def test_a_delivery_whose_attempts_were_all_cut_short_is_given_up(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    """Every attempt was claimed and then lost (the bot stopped while sending): the last claim's lease has
    ended, and the delivery is given up rather than claimed a seventh time."""
    simcord_bot.webhooks.stop()
    with serve_receiver() as receiver:
        assert "Webhook #1 added" in await _add(configured, receiver.url)
        await _pending(db, configured, clock, 1, attempts=webhooks.MAX_ATTEMPTS)
        await simcord_bot.webhooks.run_now()
        await _until(lambda: _recorded(db, 1))

    delivery = await _delivery(db, 1)
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert receiver.received == []
    listed = await configured.admin.slash(configured.governance, "coop webhooks list")
    assert "pending 0 · failed 1" in listed.response.content


@loopback_allowed
async def test_a_redirect_is_not_followed(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    simcord_bot.webhooks.stop()
    with serve_receiver() as receiver:
        receiver.answers = [302]
        assert "Webhook #1 added" in await _add(configured, receiver.url)
        await configured.admin.slash(configured.governance, "coop webhooks test", webhook=1)
        await deliver(simcord_bot)

    assert len(receiver.received) == 1  # not again at the Location it named
    delivery = await _delivery(db, 1)
    assert delivery.status == "failed" and delivery.last_error.startswith("HTTP 302")
