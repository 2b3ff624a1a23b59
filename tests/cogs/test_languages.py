"""coopbot in its members' languages, through SimCord: a member whose Discord client is in Spanish and one
in Greek propose, vote, ask a fund for money (typing the amount their way) and set a reminder, each seeing
their own language; the proposal's public post follows the cooperative's language; the commands are synced
with their names in every language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import simcord
import simcord.interactions
from babel.messages.pofile import read_po
from sqlmodel import select

from bot import CoopBot
from governance.clock import ManualClock
from governance.i18n import COMMANDS_DOMAIN, DISCORD_LOCALES, LOCALES, _, _n, translate
from storage.database import Database
from storage.models import Decision, FundingRequest
from tests.cogs.helpers import close_due, create_fund, fields, refusal, reply
from tests.conftest import Coop, configure


@pytest.fixture
def client_locales(monkeypatch: pytest.MonkeyPatch) -> dict[int, str]:
    """Each person's Discord client language (by user id). SimCord sends every interaction as en-US; this
    sets the `locale` Discord sends for a member whose client speaks another language, as Discord does."""
    locales: dict[int, str] = {}
    original = simcord.interactions.base_payload

    def with_locale(*args: Any, **kwargs: Any) -> Any:
        record, payload = original(*args, **kwargs)
        payload["locale"] = locales.get(kwargs["user_id"], "en-US")
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", with_locale)
    return locales


def said_in(language: str, message: str, **values: Any) -> str:
    """What the catalogue says for `message` in `language` (and that it is not the English: translated)."""
    text = _(message, **values).render(language)
    assert text != _(message, **values).render("en"), f"{message!r} is not translated into {language}"
    return text


CUT = "\x00"


def opening(language: str, message: str, **values: Any) -> str:
    """The words of a message up to its first placeholder given CUT (a timestamp or a link the test does
    not predict)."""
    return said_in(language, message, **values).split(CUT)[0]


async def test_a_spanish_and_a_greek_member_each_read_their_language_and_posts_follow_the_cooperative(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    db: Database,
    clock: ManualClock,
    client_locales: dict[int, str],
) -> None:
    coop = configured
    alice, bob = coop.alice, coop.members[1]
    client_locales[alice.id] = "es-ES"
    client_locales[bob.id] = "el"
    await configure(coop, db, clock, language="es")  # the cooperative posts in Spanish

    # Alicia proposes: the form and the answer are in Spanish.
    shown = await alice.slash(coop.governance, "proposal new", type="consent", closes="3d")
    assert shown.modal is not None, shown
    assert shown.modal["title"] == said_in("es", "New proposal")
    done = await alice.submit_modal(shown, {"title": "Comprar una furgoneta", "details": ""})
    assert reply(done).startswith(
        opening(
            "es", "Proposal {proposal} is open until {closes}: {where}", proposal="#1", closes=CUT, where=CUT
        )
    )

    # The public post is in the cooperative's language, its buttons too.
    post = next(
        m
        for m in coop.governance.history()
        if m.embeds and "Comprar una furgoneta" in (m.embeds[0].title or "")
    )
    shown_fields = fields(post)
    assert said_in("es", "Decision type") in shown_fields
    assert said_in("es", "Participation") in shown_fields
    labels = [c.label for row in post.components for c in row.children]
    no_objection_es = translate("No objection", "es")
    assert no_objection_es != "No objection" and no_objection_es in labels

    # Βασίλης votes from his Greek client: the answer names his vote in Greek.
    voted = reply(await bob.click(post, label=no_objection_es))
    assert translate("No objection", "el") in voted and "Your vote" not in voted
    # A refusal is in his language too.
    assert await refusal(
        await bob.slash(coop.governance, "proposal vote", proposal=99, choice="no_objection")
    ) == (said_in("el", "There is no proposal #{number} in this server.", number=99))

    # Alicia asks a fund for money, typing the amount with a decimal comma.
    await create_fund(coop, "Commons")
    shown = await alice.slash(coop.governance, "fund request new", fund="Commons", amount="1.200,50")
    assert shown.modal is not None, await refusal(shown)
    asked = reply(await alice.submit_modal(shown, {"purpose": "Furgoneta"}))
    assert "1.200,50" in asked and "Request #" not in asked
    # "12.50" reads two ways where a comma marks decimals: refused, in her language, and nothing is asked.
    assert "12,50" in await refusal(
        await alice.slash(coop.governance, "fund request new", fund="Commons", amount="12.50")
    )

    # Βασίλης sets himself a reminder (typed in English, as every schedule is), answered in Greek.
    reminded = reply(await bob.slash(coop.governance, "remind me", when="in 2h", what="Ψηφοφορία"))
    expected = said_in(
        "el", "I'll remind you {when} ({moment}). Reminder #{number}.", when=CUT, moment=CUT, number=1
    )
    assert all(part in reminded for part in expected.split(CUT) if part.strip())

    # Only the request typed one way was made (the ambiguous one changed nothing).
    async with db.read() as session:
        assert len((await session.exec(select(FundingRequest))).all()) == 1
        decision = (await session.exec(select(Decision).where(Decision.id == 1))).one()

    # The close is said in the proposal's thread in the cooperative's language, its counts with the
    # language's plural forms ("1 voto", not "1 votos").
    await close_due(simcord_env, simcord_bot, clock, timedelta(days=4))
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    closing = "\n".join(m.content for m in thread.history())
    assert said_in("es", "**{proposal} has closed.**", proposal="#1") in closing
    assert said_in("es", "Passes: no objection stands.") in closing  # the outcome, in words
    assert (
        said_in(
            "es",
            "Participation: {voters} of {eligible} eligible ({share}).",
            voters=1,
            eligible=5,
            share="20%",
        )
        in closing
    )

    # The weekly digest and a newcomer's welcome are public posts: in the cooperative's language.
    from cogs.reminders._cog import GovernanceReminders

    reminders_cog = simcord_bot.get_cog(GovernanceReminders.__cog_name__)
    assert isinstance(reminders_cog, GovernanceReminders)
    digest = await reminders_cog.digest_embed(coop.guild.id, clock.now())
    assert digest.title == said_in("es", "Weekly governance digest")
    coop.guild.add_member(simcord_env.create_user("nuevo"))
    await simcord_env.settle()
    welcome = coop.welcome.last_message
    assert welcome is not None and welcome.embeds
    assert welcome.embeds[0].title == said_in("es", "Welcome to {server}!", server=coop.guild.name)


def test_counts_take_each_languages_plural_forms() -> None:
    """One form for one, another for several, and the languages' own rules (French and Brazilian
    Portuguese say 0 as 1; Spanish, French and Portuguese have a form for millions)."""
    forms = {
        language: [_n("**{count}** vote", "**{count}** votes", n).render(language) for n in (0, 1, 2, 10**6)]
        for language in ("es", "fr", "pt_BR", "de", "el")
    }
    for language, (_none, one, two, _million) in forms.items():
        assert one != two, f"{language}: 1 and 2 votes read alike: {forms[language]}"
    assert forms["fr"][0] == forms["fr"][1].replace("1", "0") and forms["es"][0] == forms["es"][2].replace(
        "2", "0"
    )
    assert forms["fr"][3] != forms["fr"][2].replace("2", "1000000")


async def test_the_commands_are_synced_with_their_names_in_every_language(
    configured: Coop, simcord_bot: CoopBot
) -> None:
    synced = {command.name: command for command in await simcord_bot.tree.fetch_commands()}
    proposal = synced["proposal"]
    localized = {str(locale.value): name for locale, name in proposal.name_localizations.items()}
    for language, locales in DISCORD_LOCALES.items():
        if language == "en":
            continue
        for locale in locales:
            assert localized.get(locale), f"/proposal has no name in {locale}"
    assert localized["es-ES"] == localized["es-419"] != "proposal"
    assert localized["el"] != localized["de"]


async def test_the_commands_template_holds_every_commands_strings(
    simcord_env: simcord.Env, simcord_bot: CoopBot
) -> None:
    """A command, option or choice added without `make catalogues` would show in English only."""
    from cogs._translator import template

    with (LOCALES / f"{COMMANDS_DOMAIN}.pot").open("rb") as source:
        kept = {(message.context, message.id) for message in read_po(source) if message.id}
    now = {(message.context, message.id) for message in template(simcord_bot.tree) if message.id}
    assert now - kept == set(), "run `make catalogues`: these command strings are not in the template"
    assert kept - now == set(), "run `make catalogues`: the template holds strings no command uses"


async def test_the_register_says_each_outcome_in_the_readers_language(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    db: Database,
    clock: ManualClock,
    client_locales: dict[int, str],
) -> None:
    """The outcome is kept as said (besides its English): /decisions says it in each reader's language; a
    decision closed before outcomes were kept so is said in its English."""
    coop = configured
    alice, bob, carol = coop.alice, coop.members[1], coop.members[2]
    client_locales[alice.id] = "es-ES"
    client_locales[bob.id] = "el"
    shown = await alice.slash(coop.governance, "proposal new", type="consent", closes="3d")
    assert shown.modal is not None, shown
    await alice.submit_modal(shown, {"title": "Comprar una furgoneta", "details": ""})
    await close_due(simcord_env, simcord_bot, clock, timedelta(days=4))
    async with db.read() as session:
        decision = (await session.exec(select(Decision).where(Decision.id == 1))).one()
    assert decision.outcome == "Passes: no objection stands."  # the English stays what it was
    assert decision.outcome_said is not None

    async def register_entry(member: Any) -> str:
        listed = await member.slash(coop.governance, "decisions")
        assert listed.ephemeral, listed
        [entry] = listed.response.embeds[0].fields
        return str(entry.value)

    assert said_in("es", "Passes: no objection stands.") in await register_entry(alice)
    assert said_in("el", "Passes: no objection stands.") in await register_entry(bob)
    assert "Passes: no objection stands." in await register_entry(carol)

    async with db.write() as session:  # as a decision closed before 0018 is kept
        decision = (await session.exec(select(Decision).where(Decision.id == 1))).one()
        decision.outcome_said = None
        session.add(decision)
    assert "Passes: no objection stands." in await register_entry(alice)
