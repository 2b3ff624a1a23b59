"""The demo cooperative's contents, made the first time through the governance layer and the bot's own
posting code (a charter, a fund, a proposal, a request, a funding round, a newcomer), and posted again after
a restart. A part of the Sandbox (a mixin), kept apart because it is long and only runs at the start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot import CoopBot
from governance import coop, decisions, proposing, voting
from governance.clock import ManualClock
from governance.decision_types import get_type
from governance.i18n import N_, Lowered, Text, Translated, _, _n, babel_locale, translate
from governance.money import Money
from governance.permissions import Actor
from governance.timeparse import Duration

if TYPE_CHECKING:
    import simcord
from sandbox.state import Paths, SandboxError
from sandbox.world import (
    CHANNEL_NAME,
    CURRENCY,
    FUND,
    GUILD_NAME,
    NEIGHBOUR_NAME,
    NETWORK_NAME,
    NEWCOMER,
    PEOPLE,
    ROLES,
    TIMEZONE,
    World,
    charter,
)

log = logging.getLogger("coopbot.sandbox")


class Seeding:
    """The demo's contents: a mixin of Sandbox, which gives it the bot, the world, the clock and its notes.
    The contents are made in the sandbox's language (``language``), as a cooperative that speaks it would
    write them; people's names and the cooperatives' and network's names stay as they are."""

    language: str
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

    def _say(self, text: Text) -> str:
        raise NotImplementedError

    def _fund_name(self) -> str:
        return translate(FUND, self.language)

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
        member, contributor, steward, treasurer = (Translated(spec.name) for spec in ROLES)
        self.seeded.append(
            self._say(
                _(
                    "the cooperative {cooperative}: #{channel} as governance, welcome and funds channel; "
                    "roles {member}, {contributor}, {steward} (moderators), {treasurer}; {timezone}, "
                    "{currency}",
                    cooperative=GUILD_NAME,
                    channel=CHANNEL_NAME,
                    member=member,
                    contributor=contributor,
                    steward=steward,
                    treasurer=treasurer,
                    timezone=TIMEZONE,
                    currency=CURRENCY,
                )
            )
        )
        await self._seed_step(N_("charter"), self._seed_charter)
        await self._seed_step(N_("fund"), self._seed_fund)
        await self._seed_step(N_("proposal"), self._seed_proposal)
        await self._seed_step(N_("funding request"), self._seed_request)
        await self._seed_step(N_("funding round"), self._seed_round)
        await self._seed_step(N_("network"), self._seed_network)
        await self._seed_step(N_("newcomer"), self._seed_newcomer)

    async def _seed_step(self, name: str, step: Callable[[], Awaitable[Text | None]]) -> None:
        """One part of the demo (`name` marked with N_). A part whose feature is not there (yet) is left out
        and said so."""
        try:
            done = await step()
        except Exception as error:
            log.warning("Sandbox demo: could not seed the %s", name, exc_info=True)
            why = f"{error.__class__.__name__}: {error}"  # for whoever develops coopbot: as it is
            self.seeded.append(self._say(_("{part}: NOT seeded ({error})", part=Translated(name), error=why)))
            return
        if done:
            self.seeded.append(self._say(done))

    async def _seed_charter(self) -> Text:
        try:
            from governance import membership
        except ImportError:
            return _(
                "{part}: not seeded ({module} is not there)",
                part=Translated(N_("charter")),
                module="governance.membership",
            )
        if not hasattr(membership, "set_charter"):
            return _(
                "{part}: not seeded ({module} has no {function})",
                part=Translated(N_("charter")),
                module="governance.membership",
                function="set_charter",
            )
        now = self.clock.now()
        database = self.bot.database
        await membership.set_charter(
            database,
            guild_id=self.world.guild.id,
            actor=self.world.actor("moderator"),
            text=self._say(charter()),
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
                        display_name=spec.name,
                        what_they_do=translate(spec.does, self.language),
                        skills=translate(spec.skills, self.language),
                        timezone=TIMEZONE,
                    ),
                    standing=MemberStatus.MEMBER,
                    now=now,
                )
        if hasattr(membership, "save_profile"):
            return _n(
                "a charter (version {version}), agreed by the {count} member with their profiles",
                "a charter (version {version}), agreed by the {count} members with their profiles",
                agreed,
                version=1,
            )
        return _n(
            "a charter (version {version}), agreed by the {count} member",
            "a charter (version {version}), agreed by the {count} members",
            agreed,
            version=1,
        )

    async def _seed_fund(self) -> Text:
        try:
            from governance import funds
        except ImportError:
            return _(
                "{part}: not seeded ({module} is not there)",
                part=Translated(N_("fund")),
                module="governance.funds",
            )
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        fund = await funds.create_fund(
            database,
            guild_id=guild_id,
            actor=self.world.actor("treasurer"),
            draft=funds.FundDraft(
                name=self._fund_name(),
                description=self._say(
                    _("Our shared pot: tools, workshops and gatherings. Members put in monthly.")
                ),
            ),
            now=now,
        )
        assert fund.id is not None
        confirmed = {"treasurer": "250", "bea": "200", "caleb": "150", "dina": "120", "emeka": "80"}
        from babel.dates import format_date

        month = format_date(now, "MMMM", locale=babel_locale(self.language))
        note = self._say(_("{month} contribution", month=month))
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
                note=note,
            )
        total = sum(int(amount) for amount in confirmed.values())
        text = _n(
            "the fund {fund}: {count} contribution confirmed by the treasurer ({total})",
            "the fund {fund}: {count} contributions confirmed by the treasurer ({total})",
            len(confirmed),
            fund=Translated(FUND),
            total=Money(total * 100, CURRENCY),
        )
        # One contribution waits for the treasurer: made through /fund contribute itself, so that its
        # notice with the treasurer's buttons is in the channel.
        farah = self.world.person("farah")
        if "fund contribute" in farah.available_commands(self.world.channel):
            posted = len(self.world.channel.history())
            await farah.slash(
                self.world.channel,
                "fund contribute",
                fund=self._fund_name(),
                amount="60",
                note=self._say(_("Bank transfer")),
            )
            if len(self.world.channel.history()) == posted:
                raise SandboxError("/fund contribute posted no notice for the treasurer")
            text = _(
                "{contributions}, and 1 of {amount} by {person} waiting for the treasurer (/fund contribute)",
                contributions=text,
                amount=Money(6000, CURRENCY),
                person="Farah",
            )
        return text

    def _proposals(self) -> Any:
        from cogs.proposals import Proposals

        cog = self.bot.get_cog(Proposals.__cog_name__)
        if not isinstance(cog, Proposals):
            raise SandboxError("the proposals extension did not load")
        return cog

    async def _seed_proposal(self) -> Text:
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        decision = await proposing.open_decision(
            database,
            guild_id=guild_id,
            actor=self.world.actor("moderator"),
            draft=proposing.ProposalDraft(
                title=self._say(_("Meet in person on the first Thursday of every month")),
                details=self._say(
                    _(
                        "Our online calls work, but we miss each other. Proposal: a shared dinner and work "
                        "session on the first Thursday of each month, at the Harbour Street workshop, "
                        "from 5 pm. Costs come out of the {fund} fund (about NZD 120 a month).",
                        fund=Translated(FUND),
                    )
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
        return _n(
            "proposal #{number} ({type}, open {duration}) with {count} vote",
            "proposal #{number} ({type}, open {duration}) with {count} votes",
            len(votes),
            number=decision.id,
            type=Lowered(get_type("consensus").label),
            duration=_("a week"),
        )

    async def _seed_request(self) -> Text:
        try:
            from governance import funds
        except ImportError:
            return _(
                "{part}: not seeded ({module} is not there)",
                part=Translated(N_("funding request")),
                module="governance.funds",
            )
        now = self.clock.now()
        receipt = await funds.request_funds(
            self.bot.database,
            guild_id=self.world.guild.id,
            fund=self._fund_name(),
            actor=self.world.actor("emeka"),
            amount_min="300",
            purpose=self._say(_("A laptop for the newcomers' workshops")),
            details=self._say(
                _("A second-hand laptop that stays at the workshop, for people who join without one.")
            ),
            now=now,
        )
        text = _(
            "funding request #{number} from {person} for {amount}",
            number=receipt.request.id,
            person="Emeka",
            amount=Money(30000, CURRENCY),
        )
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
            text = _n(
                "{request}, decided by proposal #{number} ({type}, {count} vote)",
                "{request}, decided by proposal #{number} ({type}, {count} votes)",
                1,
                request=text,
                number=receipt.decision.id,
                type=Lowered(get_type(receipt.decision.kind).label),
            )
        return text

    async def _seed_round(self) -> Text:
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
                title=self._say(_("Workshop round")),
                description=self._say(
                    _(
                        "Share NZD 350 from the {fund} among the workshop's projects.",
                        fund=Translated(FUND),
                    )
                ),
                guidelines=(
                    self._say(_("Useful to everyone at the workshop")),
                    self._say(_("Done before the summer")),
                ),
                fund=self._fund_name(),
                pot="350",
                ideas="0",
                funding="5d",
            ),
            now=now,
        )
        round_id = receipt.round.id or 0
        # A budget's lines are "item: amount" or "item: low to high" (governance.rounds.parse_budget): the
        # items are said in the sandbox's language, the syntax stays.
        say = self._say
        ideas = {
            "caleb": (say(_("A tool wall")), f"{say(_('Pegboard'))}: 80 to 120\n{say(_('Hooks'))}: 20"),
            "dina": (say(_("Gathering kit")), f"{say(_('Urn'))}: 60\n{say(_('Mugs'))}: 40 to 60"),
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
            await cog.post_bucket(
                bucket, round_, _("A bucket in round #{number}.", number=round_id), emoji="💡"
            )
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
        return _n(
            "funding round #{number} ({pot}, funding open {duration}) with {count} bucket, "
            "{person}'s {amount} in the first (/round show, the buttons under each bucket)",
            "funding round #{number} ({pot}, funding open {duration}) with {count} buckets, "
            "{person}'s {amount} in the first (/round show, the buttons under each bucket)",
            len(ideas),
            number=round_id,
            pot=Money(35000, CURRENCY),
            duration=Duration(timedelta(days=5)),
            amount=Money(2500, CURRENCY),
            person="Bea",
        )

    async def _seed_network(self) -> Text:
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
            description=self._say(_("Cooperatives along the coast that share a market stall and a van.")),
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
                title=self._say(_("Share a stall at the Saturday market")),
                details=self._say(_("One stall for both cooperatives, NZD 40 a week, staffed in turns.")),
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
        return _(
            "the network {network} with {cooperative}, another server (its posts are summed up in "
            "#{channel}); network proposal {proposal} ({type}, counted by person) is #{number} here, with "
            "{person}'s vote from {other}",
            network=NETWORK_NAME,
            cooperative=NEIGHBOUR_NAME,
            channel=CHANNEL_NAME,
            proposal=networks.label(opened.proposal),
            type=Lowered(get_type("consent").label),
            number=held[self.world.guild.id],
            person="Tui",
            other="Riverside",
        )

    async def _seed_newcomer(self) -> Text:
        """Gus joins now that the bot runs, so the bot sees the join (the welcome, when onboarding is on)."""
        spec = next(spec for spec in PEOPLE if spec.key == NEWCOMER)
        self.world.members[NEWCOMER] = self.world.guild.add_member(
            self.world.users[NEWCOMER], nick=spec.nick(self.language)
        )
        self._newcomer_to_join = False
        await self.env.settle()
        return _("{person}, a newcomer, joined the server (no role yet)", person=spec.name)

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
        resumed = _n(
            "Resumed from {path}: {count} open proposal and {buckets} posted again (the channel's history "
            "is not kept between runs).",
            "Resumed from {path}: {count} open proposals and {buckets} posted again (the channel's history "
            "is not kept between runs).",
            posted,
            path=str(self.paths.database),
            buckets=_n("{count} bucket", "{count} buckets", buckets),
        )
        self.notes.append(self._say(resumed))

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
            if bucket.status in ("idea", "open") and await cog.post_bucket(
                bucket, round_, _("A bucket."), emoji="🪣"
            ):
                posted += 1
        return posted
