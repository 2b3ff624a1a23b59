"""The sandbox end to end: started as a person starts it, used in a real browser (Debian's Chromium, driven by
Playwright), stopped with Ctrl-C, and started again on the same files.

Screenshots go to test-artifacts/sandbox/ (kept after the run, for a look at what the page showed).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox import GUILD_ID, Options, Paths, Sandbox, SandboxError, State, parse_advance, world_ids

PROJECT = Path(__file__).resolve().parents[1]
ARTIFACTS = PROJECT / "test-artifacts" / "sandbox"
CHROMIUM = os.environ.get("COOPBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/#[A-Za-z0-9_-]+")
START_TIMEOUT = 30.0
UI_TIMEOUT = 15_000  # ms, for anything the page shows after an action

TITLE = "Buy a shared 3D printer"
DETAILS = "For prototypes and repairs; it would live at the workshop."


def _require_browser() -> Any:
    """The browser test needs Chromium and Playwright. Without them it is skipped with what to install, except
    where COOPBOT_REQUIRE_BROWSER=1 (CI sets it): there a missing browser fails, so the test never silently
    does not run."""
    required = os.environ.get("COOPBOT_REQUIRE_BROWSER") == "1"
    missing: str | None = None
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing = (
            f"the sandbox's browser test needs Chromium at {CHROMIUM} "
            "(Debian: `apt-get install -y chromium`, or COOPBOT_CHROMIUM=/path/to/chromium)"
        )
    try:
        from playwright import sync_api
    except ImportError:
        missing = missing or "the sandbox's browser test needs Playwright (`make test` installs it)"
    if missing is None:
        return sync_api
    if required:
        pytest.fail(f"{missing}; COOPBOT_REQUIRE_BROWSER=1 makes it mandatory here.")
    pytest.skip(missing)


class SandboxProcess:
    """`python -m sandbox ...` in the project folder, its output read as it comes."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
        env.pop("DATABASE_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", "0", "--data-dir", str(data_dir), *args],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.errors: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._pump, args=(self.process.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    @staticmethod
    def _pump(stream: Any, lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line)

    def _drain(self, stream: Any) -> None:
        for line in stream:
            self.errors.append(line)

    def wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            found = URL.search(line)
            if found:
                self._collect(until="Stop with Ctrl-C")
                return found.group(0)
        self.stop()
        pytest.fail(f"the sandbox printed no URL:\n{self.text()}\nstderr:\n{''.join(self.errors)[-4000:]}")

    def _collect(self, until: str) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(until in line for line in self.output):
            try:
                self.output.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                continue

    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> int:
        """Ctrl-C, as a person stops it; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail("the sandbox did not stop within 20 s of Ctrl-C")
        self._collect(until="sandbox stopped")
        return self.process.returncode


@contextmanager
def sandbox(data_dir: Path, *args: str) -> Iterator[SandboxProcess]:
    process = SandboxProcess(data_dir, *args)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = _require_browser()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


class Page:
    """The sandbox's page as a person uses it."""

    def __init__(self, browser: Any, url: str, artifacts: Path) -> None:
        from playwright.sync_api import expect

        expect.set_options(timeout=UI_TIMEOUT)
        self.expect = expect
        # bypass_csp: wait_for_function evaluates script, which the page's CSP forbids.
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(UI_TIMEOUT)
        self.artifacts = artifacts
        self.page.goto(url)
        self.wait_ready()
        self.timeline = self.page.locator("#channel-message-list")

    def close(self) -> None:
        self.context.close()

    def wait_ready(self) -> None:
        self.page.wait_for_function("window.simcordPreview && window.simcordPreview.ready")

    def act_as(self, name: str) -> None:
        picker = self.page.locator("#viewer-picker")
        viewer_id = picker.locator("option", has_text=name).get_attribute("value")
        picker.select_option(viewer_id)
        self.page.wait_for_function(
            "id => window.simcordPreview.ready && window.simcordPreview.viewerId === id", arg=viewer_id
        )

    def run_command(self, name: str, **options: str) -> None:
        """Type the command in the composer, pick it, fill its options and send it."""
        box = self.page.locator("#channel-composer-input")
        box.click()
        box.fill(name)
        self.page.locator("[role=option]", has_text=name).first.click()
        self.expect(self.page.locator(".command-chip")).to_have_text(name)
        for option, value in options.items():
            field = self.page.locator(f"input.command-option-input[data-option={option}]")
            if not field.count():  # a required option is there already; an optional one is picked first
                self.page.locator(f"[role=option][data-value={option}]").click()
            field.fill(value)
        self.page.keyboard.press("Enter")

    def proposal(self, title: str) -> Any:
        """The proposal message itself (not the thread notice or a reply that names it)."""
        return (
            self.timeline.locator("article.channel-message")
            .filter(has_text=title)
            .filter(has=self.page.locator(".message-components"))
            .last
        )

    def shot(self, name: str, target: Any = None) -> Path:
        path = self.artifacts / name
        (target or self.page).screenshot(path=path)
        return path


@pytest.mark.long
def test_sandbox_in_a_browser(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    started = time.monotonic()
    data_dir = tmp_path / "data"

    # --- first start: the demo cooperative, a new proposal, a vote, time moved from the page ---------------
    with sandbox(data_dir, "--fresh") as first:
        url = first.wait_for_url()
        banner = first.text()
        assert url.startswith("http://127.0.0.1:"), banner
        assert "Ana (moderator)" in banner
        assert "Farah (member)" in banner
        assert "NOT seeded" not in banner, banner
        assert (data_dir / "sandbox.db").exists()
        assert url not in "".join(first.errors), "the capability URL must go to stdout only"

        page = Page(browser, url, artifacts)
        expect = page.expect
        seeded = page.proposal("Meet in person on the first Thursday")
        expect(seeded).to_contain_text("4 of 7 eligible")
        expect(page.timeline).to_contain_text("Welcome to the coopbot sandbox")
        page.timeline.locator("article.channel-message").first.scroll_into_view_if_needed()
        page.shot("01-demo-cooperative.png")

        # Ana (the moderator, viewing first) proposes, through the command picker and the bot's modal.
        page.run_command("/proposal new", closes="2d")
        modal = page.page.locator("#modal-root form[role=dialog]")
        expect(modal).to_contain_text("New proposal")
        modal.locator("input[name=title]").fill(TITLE)
        modal.locator("textarea[name=details]").fill(DETAILS)
        page.shot("02-new-proposal-modal.png")
        modal.get_by_role("button", name="Submit").click()
        proposal = page.proposal(TITLE)
        expect(proposal).to_contain_text("Consent")
        expect(proposal).to_contain_text("0 of 7 eligible")
        page.wait_ready()

        # Bea votes with the button; the message's tally follows.
        page.act_as("Bea")
        proposal.get_by_role("button", name="No objection").click()
        expect(page.timeline.get_by_text("Your vote on")).to_be_visible()
        expect(proposal).to_contain_text("1 of 7 eligible")
        expect(proposal).to_contain_text("No objection: 1")
        expect(proposal).to_contain_text("Passes")
        page.wait_ready()
        page.shot("03-voted.png")
        page.shot("03-voted-proposal.png", proposal)

        # The demo round is open for funding: Bea funds a bucket with the button under its post.
        bucket = (
            page.timeline.locator("article.channel-message")
            .filter(has_text="A tool wall")
            .filter(has=page.page.locator(".message-components"))
            .last
        )
        bucket.get_by_role("button", name="Fund 10.00 NZD").click()
        expect(page.timeline.get_by_text("You put 10.00 NZD into bucket #1")).to_be_visible()
        expect(bucket).to_contain_text("35.00 NZD of 100.00 NZD minimum")
        page.wait_ready()
        bucket.scroll_into_view_if_needed()
        page.shot("03-round-bucket.png", bucket)

        # Time moves from the page: the proposal closes, its message shows the result.
        page.run_command("/sandbox advance", duration="3d")
        expect(page.timeline.get_by_text("moves the sandbox's time forward 3 days")).to_be_visible()
        expect(proposal).to_contain_text("(closed)")
        expect(proposal).to_contain_text("Result")
        expect(proposal.get_by_role("button", name="No objection")).to_be_disabled()
        expect(page.timeline.get_by_text("meanwhile, in threads and DMs")).to_be_visible()
        page.wait_ready()
        proposal.scroll_into_view_if_needed()
        page.shot("04-closed-after-advance.png")
        page.timeline.locator("article.channel-message").last.scroll_into_view_if_needed()
        page.shot("04-meanwhile-in-threads.png")
        page.close()

        assert first.stop() == 0, "".join(first.errors)[-4000:]
        assert "sandbox stopped" in first.text()

    saved = json.loads((data_dir / "sandbox.json").read_text())
    assert saved["world"] == world_ids()
    assert len(saved["roles_held"]) == 8, "everyone, Gus included, is remembered with their roles"

    # --- second start on the same files: same world, same database, time moved from the command line -----
    with sandbox(data_dir, "--advance", "1w") as second:
        url2 = second.wait_for_url()
        assert url2 != url, "a new process must give a new capability"
        assert "Resumed from" in second.text()
        assert "Set up:" not in second.text(), "a reused sandbox is not seeded again"

        page = Page(browser, url2, artifacts)
        expect = page.expect
        # The seeded consensus proposal was posted again, then closed by the advance: it passed.
        seeded = page.proposal("Meet in person on the first Thursday")
        expect(seeded).to_contain_text("(closed)")
        expect(seeded).to_contain_text("Final count")
        page.shot("05-restarted-and-advanced.png")
        page.close()
        assert second.stop() == 0, "".join(second.errors)[-4000:]

    assert time.monotonic() - started < 90


# --- without a browser: what makes a saved sandbox resumable ----------------------------------------------


def test_the_demo_world_gets_the_same_ids_every_time() -> None:
    first, second = world_ids(), world_ids()
    assert first == second
    assert first["guild"] == GUILD_ID
    assert len(set(first["people"].values())) == 8


def test_the_world_is_rebuilt_with_who_was_there_and_their_roles() -> None:
    import discord
    import simcord

    from bot import INTENTS
    from sandbox import build_world

    ids = world_ids()
    member_role, contributor_role = ids["roles"]["member"], ids["roles"]["contributor"]
    people = ids["people"]
    held = {str(people["moderator"]): [member_role], str(people["newcomer"]): [contributor_role]}
    world = build_world(simcord.Env(discord.Client(intents=INTENTS)), held, newcomer_later=False)
    assert world.ids() == ids
    assert set(world.members) == {"moderator", "newcomer"}, "the others had left the server"


def _saved(data_dir: Path, world: dict[str, object]) -> Paths:
    paths = Paths(data_dir)
    data_dir.mkdir()
    paths.database.write_bytes(b"a database")
    State(now=datetime(2026, 12, 1, 9, tzinfo=UTC), world=world, roles_held={}).save(paths.state)
    return paths


def test_a_saved_sandbox_whose_ids_match_is_resumed(tmp_path: Path) -> None:
    paths = _saved(tmp_path / "data", world_ids())
    state, fresh = Sandbox(Options(data_dir=paths.data_dir))._prepare_files()
    assert not fresh
    assert state is not None and state.now == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert paths.database.read_bytes() == b"a database"


def test_a_saved_sandbox_with_other_ids_starts_afresh_keeping_the_old_database(tmp_path: Path) -> None:
    world = {**world_ids(), "channel": 42}
    paths = _saved(tmp_path / "data", world)
    sandbox = Sandbox(Options(data_dir=paths.data_dir))
    state, fresh = sandbox._prepare_files()
    assert fresh and state is None
    assert "other ids" in " ".join(sandbox.notes)
    assert not paths.database.exists()
    assert (paths.data_dir / "sandbox.db.old").read_bytes() == b"a database"


def test_a_database_without_its_state_file_starts_afresh(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "data")
    paths.data_dir.mkdir()
    paths.database.write_bytes(b"a database")
    sandbox = Sandbox(Options(data_dir=paths.data_dir))
    assert sandbox._prepare_files() == (None, True)
    assert "without its state file" in " ".join(sandbox.notes)


def test_fresh_forgets_the_saved_sandbox(tmp_path: Path) -> None:
    paths = _saved(tmp_path / "data", world_ids())
    assert Sandbox(Options(fresh=True, data_dir=paths.data_dir))._prepare_files() == (None, True)
    assert not paths.database.exists() and not paths.state.exists()
    assert not (paths.data_dir / "sandbox.db.old").exists()


def test_advance_durations() -> None:
    assert parse_advance("1d") == timedelta(days=1)
    assert parse_advance("36h") == timedelta(hours=36)
    assert parse_advance(None) is None
    for wrong in ("soon", "-1d", "2y"):
        with pytest.raises(SandboxError, match="--advance"):
            parse_advance(wrong)
