"""Fair use (issue 16): how often one member, or one cooperative, may do what pings others or costs the bot a
lot, counted in the database; and exports kept on the bot's disk within their days and size."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from governance import decisions, export, funds, proposing, webhooks
from governance.clock import ManualClock
from governance.errors import NotAllowed
from governance.limits import Limits, TooSoon
from governance.outbound import Outbound
from governance.proposing import ProposalDraft
from storage.database import Database
from tests.governance.helpers import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    GUILD,
    MO,
    coop_db,
    deposit,
    make_fund,
    snapshot,
)

__all__ = ["coop_db"]

TIGHT = Limits(
    remind_every=timedelta(hours=6),
    proposals_per_hour=2,
    requests_per_hour=2,
    exports_per_hour=2,
    webhook_tests_per_hour=2,
)


async def _open(db: Database, clock: ManualClock, who=ALICE, title: str = "Paint the door") -> int:
    decision = await proposing.open_decision(
        db,
        guild_id=GUILD,
        actor=who,
        draft=ProposalDraft(title=title, kind="consent", closes="3d"),
        now=clock.now(),
        limits=TIGHT,
    )
    assert decision.id is not None
    return decision.id


async def test_a_member_opens_so_many_proposals_an_hour_a_moderator_any(
    coop_db: Database, clock: ManualClock
) -> None:
    await _open(coop_db, clock)
    clock.advance(timedelta(minutes=20))
    await _open(coop_db, clock)
    before = await snapshot(coop_db)
    with pytest.raises(
        TooSoon, match=r"^You have opened 2 proposals in the last hour\. Try again <t:\d+:R>\.$"
    ):
        await _open(coop_db, clock)
    assert await snapshot(coop_db) == before
    await _open(coop_db, clock, who=BOB)  # counted per member
    for _ in range(3):
        await _open(coop_db, clock, who=MO)  # moderators are not counted
    clock.advance(timedelta(minutes=41))  # the first one is more than an hour old now
    await _open(coop_db, clock)


async def test_the_voters_of_a_proposal_are_reminded_once_per_interval(
    coop_db: Database, clock: ManualClock
) -> None:
    decision_id = await _open(coop_db, clock)

    async def remind(who=ALICE) -> None:
        await decisions.authorise_remind(
            coop_db, guild_id=GUILD, decision_id=decision_id, actor=who, now=clock.now(), limits=TIGHT
        )

    await remind()
    clock.advance(timedelta(hours=1))
    with pytest.raises(TooSoon) as refused:
        await remind(MO)  # whoever asks: it is the voters who are pinged
    assert refused.value.message.startswith(
        f"The voters of #{decision_id} were reminded less than 6 hours ago."
    )
    other = await _open(coop_db, clock, who=BOB)
    await decisions.authorise_remind(
        coop_db, guild_id=GUILD, decision_id=other, actor=BOB, now=clock.now(), limits=TIGHT
    )
    clock.advance(timedelta(hours=5, minutes=1))
    await remind()


async def test_a_member_makes_so_many_funding_requests_an_hour(coop_db: Database, clock: ManualClock) -> None:
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "500")

    async def ask(who=CAROL) -> None:
        await funds.request_funds(
            coop_db,
            guild_id=GUILD,
            fund=fund.name,
            actor=who,
            amount_min="10",
            purpose="Tea",
            now=clock.now(),
            limits=TIGHT,
        )

    await ask()
    await ask()
    before = await snapshot(coop_db)
    with pytest.raises(TooSoon, match="You have made 2 funding requests in the last hour"):
        await ask()
    assert await snapshot(coop_db) == before
    await ask(ALICE)


async def test_exports_per_cooperative_an_hour_are_counted_and_recorded(
    coop_db: Database, clock: ManualClock
) -> None:
    for who in (MO, ADMIN):
        await export.authorise_export(coop_db, guild_id=GUILD, actor=who, now=clock.now(), limits=TIGHT)
    with pytest.raises(TooSoon, match="exported 2 times in the last hour"):
        await export.authorise_export(coop_db, guild_id=GUILD, actor=MO, now=clock.now(), limits=TIGHT)
    with pytest.raises(NotAllowed):
        await export.authorise_export(coop_db, guild_id=GUILD, actor=ALICE, now=clock.now(), limits=TIGHT)
    clock.advance(timedelta(hours=1, seconds=1))
    await export.authorise_export(coop_db, guild_id=GUILD, actor=MO, now=clock.now(), limits=TIGHT)


def _export_folder(tmp_path: Path, name: str, size: int) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    # Random bytes do not compress: the archive is about `size` bytes.
    (folder / "record.json").write_bytes(__import__("os").urandom(size))
    return folder


def test_kept_exports_stay_within_their_days_and_size_newest_kept(tmp_path: Path, clock: ManualClock) -> None:
    root = tmp_path / "exports"
    names = []
    for day in range(4):
        kept = export.keep_export(
            _export_folder(tmp_path, f"e{day}", 400_000),
            root,
            GUILD,
            clock.now() + timedelta(days=day),
            keep_days=30,
            keep_mb=1,
        )
        names.append(kept.name)
        assert "/" not in kept.name and kept.name.endswith(".zip")
    shelf = sorted(path.name for path in (root / str(GUILD)).iterdir())
    assert shelf == names[-2:]  # 2 × 0.4 MB fit in 1 MB, a third would not: the oldest went first
    with zipfile.ZipFile(root / str(GUILD) / names[-1]) as archive:
        assert archive.namelist() == ["record.json"]

    # Days: a week later, only the newest is left, whatever the room.
    later = export.keep_export(
        _export_folder(tmp_path, "late", 1_000),
        root,
        GUILD,
        clock.now() + timedelta(days=20),
        keep_days=7,
        keep_mb=1,
    )
    assert sorted(path.name for path in (root / str(GUILD)).iterdir()) == [later.name]
    assert later.removed == 2
    # One export bigger than the room is still kept (it is the newest); another cooperative's are apart.
    big = export.keep_export(
        _export_folder(tmp_path, "big", 1_500_000), root, GUILD + 1, clock.now(), keep_days=7, keep_mb=1
    )
    assert [path.name for path in (root / str(GUILD + 1)).iterdir()] == [big.name]


async def test_webhook_tests_per_cooperative_an_hour(coop_db: Database, clock: ManualClock) -> None:
    outbound = Outbound(allow_loopback=True)  # a receiver on this machine, as in development
    added = await webhooks.add_webhook(
        coop_db,
        guild_id=GUILD,
        actor=MO,
        url="https://127.0.0.1/hook",
        events=None,
        now=clock.now(),
        outbound=outbound,
    )
    assert added.webhook.id is not None

    async def test(who=MO) -> str:
        return await webhooks.queue_test_event(
            coop_db,
            guild_id=GUILD,
            webhook_id=added.webhook.id or 0,
            actor=who,
            now=clock.now(),
            outbound=outbound,
            limits=TIGHT,
        )

    await test()
    await test(ADMIN)
    before = await snapshot(coop_db)
    with pytest.raises(TooSoon, match="Webhooks were tested 2 times in the last hour"):
        await test()
    assert await snapshot(coop_db) == before
    clock.advance(timedelta(hours=1, seconds=1))
    await test()
