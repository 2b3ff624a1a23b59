"""The live tally is edited at most once per interval per proposal, and always ends on the latest state."""

from __future__ import annotations

import asyncio

from cogs.proposals._cog import TallyRefresher


async def test_a_burst_of_votes_gives_one_edit_now_and_one_at_the_end_of_the_interval() -> None:
    refreshed: list[tuple[int, int]] = []
    state = {"votes": 0}
    seen: list[int] = []

    async def refresh(guild_id: int, decision_id: int) -> None:
        refreshed.append((guild_id, decision_id))
        seen.append(state["votes"])

    refresher = TallyRefresher(refresh, interval=0.2)
    for _ in range(100):
        state["votes"] += 1
        refresher.request(1, 7)
        await asyncio.sleep(0)  # the first edit goes out at once, the rest wait for the interval
    await asyncio.sleep(0.5)

    assert refreshed == [(1, 7), (1, 7)]
    assert seen[-1] == 100  # the last edit shows every vote


async def test_separate_proposals_are_refreshed_independently() -> None:
    refreshed: list[int] = []

    async def refresh(guild_id: int, decision_id: int) -> None:
        refreshed.append(decision_id)

    refresher = TallyRefresher(refresh, interval=0.2)
    refresher.request(1, 1)
    refresher.request(1, 2)
    await asyncio.sleep(0.05)

    assert sorted(refreshed) == [1, 2]
