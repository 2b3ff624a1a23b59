"""The demo cooperative's contents, made the first time through the governance layer and the bot's own
posting code (a charter, a fund, a proposal, a request, a funding round, a newcomer), and posted again after
a restart. A part of the Sandbox (a mixin), kept apart because it is long and only runs at the start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot import CoopBot
from governance import coop, decisions, proposing, voting
from governance.clock import ManualClock
from governance.permissions import Actor

if TYPE_CHECKING:
    import simcord
from sandbox.state import Paths, SandboxError
from sandbox.world import (
    CHANNEL_NAME,
    CHARTER,
    CURRENCY,
    GUILD_NAME,
    NEIGHBOUR_NAME,
    NETWORK_NAME,
    NEWCOMER,
    PEOPLE,
    TIMEZONE,
    World,
)

log = logging.getLogger("coopbot.sandbox")


class Seeding:
    """The demo's contents: a mixin of Sandbox, which gives it the bot, the world, the clock and its notes."""

    bot: CoopBot
    env: simcord.Env
    world: World
    clock: ManualClock
    paths: Paths
    seeded: list[str]
    notes: list[str]
    _newcomer_to_join: bool

    async def _run_due(self) -> None:
        raise NotImplementedError

    async def _seed(self) -> None:
        """The demo cooperative, through the governance layer and the bot's own posting code."""
        now = self.clock.now()
        database = self.bot.database
        world = self.world
        owner = Actor(user_id=world.guild.owner.id, manages_guild=True)
        await coop.configure_guild(
            database,
            guild_id=world.guild.id,
            actor=owner,
            changes=coop.SetupChanges(
                governance_channel_id=world.channel.id,
                welcome_channel_id=world.channel.id,
                member_role_id=world.roles["member"].id,
                contributor_role_id=world.roles["contributor"].id,
                moderator_role_id=world.roles["moderator"].id,
                treasurer_role_id=world.roles["treasurer"].id,
                timezone=TIMEZONE,
                currency=CURRENCY,
                default_decision_type="consent",
                default_duration="3d",
            ),
            now=now,
        )
        self.seeded.append(
            f"the cooperative {GUILD_NAME}: #{CHANNEL_NAME} as governance, welcome and funds channel; roles "
            f"Member, Contributor, Steward (moderators), Treasurer; {TIMEZONE}, {CURRENCY}"
        )
        await self._seed_step("charter", self._seed_charter)
        await self._seed_step("fund", self._seed_fund)
        await self._seed_step("proposal", self._seed_proposal)
        await self._seed_step("funding request", self._seed_request)
        await self._seed_step("funding round", self._seed_round)
        await self._seed_step("network", self._seed_network)
        await self._seed_step("newcomer", self._seed_newcomer)

    async def _seed_step(self, name: str, step: Callable[[], Awaitable[str | None]]) -> None:
        """One part of the demo. A part whose feature is not there (yet) is left out and said so."""
        try:
            done = await step()
        except Exception as error:
            log.warning("Sandbox demo: could not seed the %s", name, exc_info=True)
            self.seeded.append(f"{name}: NOT seeded ({error.__class__.__name__}: {error})")
            return
        if done:
            self.seeded.append(done)

    async def _seed_charter(self) -> str:
        try:
            from governance import membership
        except ImportError:
            return "charter: not seeded (governance.membership is not there)"
        if not hasattr(membership, "set_charter"):
            return "charter: not seeded (governance.membership has no set_charter)"
        now = self.clock.now()
        database = self.bot.database
        await membership.set_charter(
            database,
            guild_id=self.world.guild.id,
            actor=self.world.actor("moderator"),
            text=CHARTER,
            version=1,
            now=now,
        )
        agreed = 0
        from storage.models import MemberStatus

        members = [spec for spec in PEOPLE if "member" in spec.roles]
        for spec in members:
            user_id = self.world.users[spec.key].id
            if hasattr(membership, "accept_charter"):
                await membership.accept_charter(
                    database,
                    guild_id=self.world.guild.id,
                    user_id=user_id,
                    version=1,
                    standing=MemberStatus.MEMBER,
                    now=now,
                )
                agreed += 1
            if hasattr(membership, "save_profile") and hasattr(membership, "ProfileDraft"):
                await membership.save_profile(
                    database,
                    guild_id=self.world.guild.id,
                    user_id=user_id,
                    draft=membership.ProfileDraft(
                        display_name=spec.name, what_they_do=spec.does, skills=spec.skills, timezone=TIMEZONE
                    ),
                    standing=MemberStatus.MEMBER,
                    now=now,
                )
        profiles = " with their profiles" if hasattr(membership, "save_profile") else ""
        return f"a charter (version 1), agreed by the {agreed} members{profiles}"

    async def _seed_fund(self) -> str:
        try:
            from governance import funds
        except ImportError:
            return "fund: not seeded (governance.funds is not there)"
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        fund = await funds.create_fund(
            database,
            guild_id=guild_id,
            actor=self.world.actor("treasurer"),
            draft=funds.FundDraft(
                name="Commons",
                description="Our shared pot: tools, workshops and gatherings. Members put in monthly.",
            ),
            now=now,
        )
        assert fund.id is not None
        confirmed = {"treasurer": "250", "bea": "200", "caleb": "150", "dina": "120", "emeka": "80"}
        for number, (key, amount) in enumerate(confirmed.items(), start=1):
            await funds.record_contribution(
                database,
                guild_id=guild_id,
                fund=fund.id,
                actor=self.world.actor("treasurer"),
                amount=amount,
                idempotency_key=f"sandbox-seed-{number}",
                now=now,
                member_id=self.world.users[key].id,
                note=f"{now:%B} contribution",
            )
        total = sum(int(amount) for amount in confirmed.values())
        text = (
            f"the fund Commons: {len(confirmed)} contributions confirmed by the treasurer "
            f"({CURRENCY} {total}.00)"
        )
        # One contribution waits for the treasurer: made through /fund contribute itself, so that its
        # notice with the treasurer's buttons is in the channel.
        farah = self.world.person("farah")
        if "fund contribute" in farah.available_commands(self.world.channel):
            posted = len(self.world.channel.history())
            await farah.slash(
                self.world.channel, "fund contribute", fund="Commons", amount="60", note="Bank transfer"
            )
            if len(self.world.channel.history()) == posted:
                raise SandboxError("/fund contribute posted no notice for the treasurer")
            text += f", and 1 of {CURRENCY} 60.00 by Farah waiting for the treasurer (/fund contribute)"
        return text

    def _proposals(self) -> Any:
        from cogs.proposals import Proposals

        cog = self.bot.get_cog(Proposals.__cog_name__)
        if not isinstance(cog, Proposals):
            raise SandboxError("the proposals extension did not load")
        return cog

    async def _seed_proposal(self) -> str:
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        decision = await proposing.open_decision(
            database,
            guild_id=guild_id,
            actor=self.world.actor("moderator"),
            draft=proposing.ProposalDraft(
                title="Meet in person on the first Thursday of every month",
                details=(
                    "Our online calls work, but we miss each other. Proposal: a shared dinner and work "
                    "session on the first Thursday of each month, at the Harbour Street workshop, "
                    "from 5 pm. Costs come out of the Commons fund (about NZD 120 a month)."
                ),
                kind="consensus",
                closes="1w",
            ),
            now=now,
        )
        assert decision.id is not None
        votes = {"bea": "agree", "caleb": "agree", "treasurer": "agree", "dina": "abstain"}
        for key, choice in votes.items():
            await voting.cast_vote(
                database,
                guild_id=guild_id,
                decision_id=decision.id,
                actor=self.world.actor(key),
                now=now,
                choice=choice,
            )
        if await self._proposals().post_decision(decision) is None:
            raise SandboxError("the proposal could not be posted")
        return f"proposal #{decision.id} (consensus, open a week) with {len(votes)} votes"

    async def _seed_request(self) -> str:
        try:
            from governance import funds
        except ImportError:
            return "funding request: not seeded (governance.funds is not there)"
        now = self.clock.now()
        receipt = await funds.request_funds(
            self.bot.database,
            guild_id=self.world.guild.id,
            fund="Commons",
            actor=self.world.actor("emeka"),
            amount_min="300",
            purpose="A laptop for the newcomers' workshops",
            details="A second-hand laptop that stays at the workshop, for people who join without one.",
            now=now,
        )
        text = f"funding request #{receipt.request.id} from Emeka for {CURRENCY} 300.00"
        if receipt.decision is not None:
            assert receipt.decision.id is not None
            await voting.cast_vote(
                self.bot.database,
                guild_id=self.world.guild.id,
                decision_id=receipt.decision.id,
                actor=self.world.actor("bea"),
                now=now,
                choice="no_objection" if receipt.decision.kind == "consent" else "agree",
            )
            if await self._proposals().post_decision(receipt.decision) is None:
                raise SandboxError("the request's proposal could not be posted")
            text += f", decided by proposal #{receipt.decision.id} ({receipt.decision.kind}, 1 vote)"
        return text

    async def _seed_round(self) -> str:
        """A funding round in its funding phase, with two buckets posted and some money in one, so that a
        visitor can fund a bucket with its buttons."""
        from cogs.rounds import Rounds
        from governance import rounds

        cog = self.bot.get_cog(Rounds.__cog_name__)
        if not isinstance(cog, Rounds):
            raise SandboxError("the rounds extension did not load")
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        receipt = await rounds.create_round(
            database,
            guild_id=guild_id,
            actor=self.world.actor("treasurer"),
            draft=rounds.RoundDraft(
                title="Workshop round",
                description="Share NZD 350 from the Commons among the workshop's projects.",
                guidelines=("Useful to everyone at the workshop", "Done before the summer"),
                fund="Commons",
                pot="350",
                ideas="0",
                funding="5d",
            ),
            now=now,
        )
        round_id = receipt.round.id or 0
        ideas = {
            "caleb": ("A tool wall", "Pegboard: 80 to 120\nHooks: 20"),
            "dina": ("Gathering kit", "Urn: 60\nMugs: 40 to 60"),
        }
        for key, (title, budget) in ideas.items():
            bucket = await rounds.propose_bucket(
                database,
                guild_id=guild_id,
                round_id=round_id,
                actor=self.world.actor(key),
                title=title,
                description="",
                budget=budget,
                now=now,
            )
            bucket = await rounds.open_bucket(
                database,
                guild_id=guild_id,
                bucket_id=bucket.id or 0,
                actor=self.world.actor("moderator"),
                now=now,
            )
            round_ = await rounds.get_round(database, guild_id, round_id)
            await cog.post_bucket(bucket, round_, f"💡 A bucket in round #{round_id}.")
        await self._run_due()  # funding opens now: everyone with the member role gets a share
        first = (await rounds.list_buckets(database, guild_id, round_id))[0]
        funded = await rounds.fund_bucket(
            database,
            guild_id=guild_id,
            bucket_id=first.id or 0,
            actor=self.world.actor("bea"),
            amount="25",
            idempotency_key="sandbox-seed-round",
            now=now,
        )
        await cog.refresh_bucket_post(
            funded.bucket, await rounds.get_round(database, guild_id, round_id), guild_id
        )
        return (
            f"funding round #{round_id} (NZD 350, funding open 5 days) with 2 buckets, Bea's 25.00 in the "
            "first (/round show, the buttons under each bucket)"
        )

    async def _seed_network(self) -> str:
        """A network of the demo cooperative and its neighbour (another server): the neighbour joined by its
        members' decision, and a network proposal, counted by person, posted in both."""
        from governance import networks

        neighbour = self.world.neighbour
        assert neighbour is not None
        now = self.clock.now()
        database = self.bot.database
        await coop.configure_guild(
            database,
            guild_id=neighbour.guild.id,
            actor=Actor(user_id=neighbour.guild.owner.id, manages_guild=True),
            changes=coop.SetupChanges(
                governance_channel_id=neighbour.channel.id,
                member_role_id=neighbour.roles["member"].id,
                moderator_role_id=neighbour.roles["moderator"].id,
                timezone=TIMEZONE,
                currency=CURRENCY,
            ),
            now=now,
        )
        ana, rangi = self.world.actor("moderator"), neighbour.actor("rangi")
        await networks.create_network(
            database,
            guild_id=self.world.guild.id,
            coop_name=GUILD_NAME,
            actor=ana,
            name=NETWORK_NAME,
            description="Cooperatives along the coast that share a market stall and a van.",
            now=now,
        )
        invitation = await networks.invite(
            database, guild_id=self.world.guild.id, actor=ana, network_name=None, valid_for=None, now=now
        )
        joining = await networks.join(
            database,
            guild_id=neighbour.guild.id,
            coop_name=NEIGHBOUR_NAME,
            actor=rangi,
            code=invitation.code,
            decision_type=None,
            now=now,
        )
        join_id = joining.decision.id or 0
        if await self._proposals().post_decision(joining.decision) is None:
            raise SandboxError("Riverside's decision to join could not be posted")
        for key in ("sol", "tui"):
            await voting.cast_vote(
                database,
                guild_id=neighbour.guild.id,
                decision_id=join_id,
                actor=neighbour.actor(key),
                now=now,
                choice="no_objection",
            )
        # Its moderator closes it once everyone agreed (a consent decision may close early).
        await decisions.close_decision(
            database, guild_id=neighbour.guild.id, decision_id=join_id, eligible=3, now=now, actor=rangi
        )
        opened = await networks.propose(
            database,
            guild_id=neighbour.guild.id,
            actor=neighbour.actor("sol"),
            network_name=None,
            draft=networks.NetworkDraft(
                title="Share a stall at the Saturday market",
                details="One stall for both cooperatives, NZD 40 a week, staffed in turns.",
                kind="consent",
                closes="1w",
            ),
            now=now,
        )
        held = {copy.guild_id: copy.id or 0 for copy in opened.copies}
        await voting.cast_vote(
            database,
            guild_id=neighbour.guild.id,
            decision_id=held[neighbour.guild.id],
            actor=neighbour.actor("tui"),
            now=now,
            choice="no_objection",
        )
        await self._run_due()  # each cooperative's copy is posted (the outbox), with the network's tally
        return (
            f"the network {NETWORK_NAME} with {NEIGHBOUR_NAME}, another server (its posts are summed up in "
            f"#{CHANNEL_NAME}); network proposal {networks.label(opened.proposal)} (consent, counted by "
            f"person) is #{held[self.world.guild.id]} here, with Tui's vote from Riverside"
        )

    async def _seed_newcomer(self) -> str:
        """Gus joins now that the bot runs, so the bot sees the join (the welcome, when onboarding is on)."""
        spec = next(spec for spec in PEOPLE if spec.key == NEWCOMER)
        self.world.members[NEWCOMER] = self.world.guild.add_member(self.world.users[NEWCOMER], nick=spec.nick)
        self._newcomer_to_join = False
        await self.env.settle()
        return "Gus, a newcomer, joined the server (no role yet)"

    async def _repost_open_decisions(self) -> None:
        """The simulated Discord starts empty: post the open proposals again, with their buttons (the
        neighbour cooperative's too)."""
        guild_ids = [self.world.guild.id]
        if self.world.neighbour is not None:
            guild_ids.append(self.world.neighbour.guild.id)
        open_decisions = [
            decision
            for guild_id in guild_ids
            for decision in await decisions.list_open(self.bot.database, guild_id, limit=100)
        ]
        posted = 0
        for decision in sorted(open_decisions, key=lambda d: d.id or 0):
            if await self._proposals().post_decision(decision) is not None:
                posted += 1
        buckets = await self._repost_open_buckets()
        self.notes.append(
            f"Resumed from {self.paths.database}: {posted} open proposal{'s' if posted != 1 else ''} and "
            f"{buckets} bucket{'s' if buckets != 1 else ''} posted again (the channel's history is not kept "
            "between runs)."
        )

    async def _repost_open_buckets(self) -> int:
        """The buckets of the open rounds, posted again with their buttons."""
        from cogs.rounds import Rounds
        from governance import rounds

        cog = self.bot.get_cog(Rounds.__cog_name__)
        if not isinstance(cog, Rounds):
            return 0
        posted = 0
        for bucket in await rounds.list_buckets(self.bot.database, self.world.guild.id):
            round_ = await rounds.get_round(self.bot.database, bucket.guild_id, bucket.round_id)
            if bucket.status in ("idea", "open") and await cog.post_bucket(bucket, round_, "🪣 A bucket."):
                posted += 1
        return posted
