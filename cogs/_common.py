"""What every cog shares: the one error path, ephemeral replies, whom a message may ping, turning a Discord
user into an Actor, and the short-lived views of ephemeral answers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from governance import coop
from governance.errors import DomainError, NotAllowed
from governance.i18n import SOURCE, Text, _, language_of
from governance.money import normalise_amount
from governance.permissions import Actor
from governance.records import CoopSettings

if TYPE_CHECKING:
    from bot import CoopBot

log = logging.getLogger("coopbot.errors")

# Echoed user text must never ping anyone, whatever the bot's defaults are.
NO_MENTIONS = discord.AllowedMentions.none()
GENERIC_APOLOGY = _("Sorry, something went wrong on my side. It has been logged; nothing was changed.")
MAX_ERROR_LENGTH = 1_900


def pinging_only(*user_ids: int) -> discord.AllowedMentions:
    """Ping exactly these people (a person who must be told), never anyone else, @everyone or a role."""
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(id=user_id) for user_id in user_ids],
        replied_user=False,
    )


def actor_from(member: discord.Member) -> Actor:
    """A guild member as governance sees them (also for people other than the one interacting)."""
    return Actor(
        user_id=member.id,
        role_ids=frozenset(role.id for role in member.roles),
        manages_guild=member.guild_permissions.manage_guild,
    )


def actor_of(interaction: discord.Interaction[Any]) -> Actor:
    """The acting user as governance sees them. Interactions carry the member's roles, no fetch needed."""
    user = interaction.user
    if isinstance(user, discord.Member):
        return actor_from(user)
    return Actor(user_id=user.id)


def guild_id_of(interaction: discord.Interaction[Any]) -> int:
    """The server an interaction comes from. Every command is guild-only, so outside a server (a DM, a
    user-installed app) the member gets a refusal, never a traceback."""
    if interaction.guild_id is None:
        raise NotAllowed(_("This works only in a server where I am a member, not in direct messages."))
    return interaction.guild_id


def bot_of(interaction: discord.Interaction[Any]) -> CoopBot:
    from bot import CoopBot

    client = interaction.client
    assert isinstance(client, CoopBot)
    return client


T = TypeVar("T")


def requires(rule: Callable[[CoopSettings, Actor], None]) -> Callable[[T], T]:
    """A command check made by the bot itself: `rule` (from governance.permissions) against the guild's
    settings and the member's roles. Discord's default permissions are only a hint admins can change."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        bot = bot_of(interaction)
        settings = await coop.get_settings(bot.database, interaction.guild_id, bot.clock.now())
        try:
            rule(settings, actor_of(interaction))
        except DomainError as refusal:
            raise app_commands.CheckFailure(refusal.message) from refusal
        return True

    return app_commands.check(predicate)


async def send_ephemeral(
    interaction: discord.Interaction[Any], content: str | Text | None = None, **kwargs: Any
) -> None:
    """Answer privately, whether or not the interaction was already acknowledged (a Text in the member's
    language)."""
    kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    if isinstance(content, Text):
        content = content.render(language_for(interaction))
    if interaction.response.is_done():
        await interaction.followup.send(content or discord.utils.MISSING, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)


def user_message_for(error: BaseException, language: str = SOURCE) -> str | None:
    """The short text a user sees for an expected error, in their language, or None for a bug (which gets
    the apology)."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure) and isinstance(
        error.__cause__, DomainError
    ):
        error = error.__cause__
    if isinstance(error, DomainError):
        return error.localized(language)
    text: Text | None = None
    if isinstance(error, app_commands.CommandOnCooldown):
        text = _("Slow down a little: try again in {seconds} s.", seconds=f"{error.retry_after:.0f}")
    elif isinstance(error, app_commands.NoPrivateMessage):
        text = _("This command only works in a server.")
    elif isinstance(error, app_commands.MissingPermissions | app_commands.MissingRole):
        text = _("You don't have permission to use this command.")
    elif isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        text = _("I need these permissions here first: {permissions}.", permissions=missing)
    elif isinstance(error, app_commands.CheckFailure):
        return str(error) or _("You can't use this command.").render(language)
    elif isinstance(error, app_commands.TransformerError):
        if error.type is discord.AppCommandOptionType.channel:
            text = _("That kind of channel can't be used here: choose a text channel.")
        else:
            text = _("I couldn't use “{value}” for this option.", value=str(error.value)[:100])
    return text.render(language) if text is not None else None


def language_for(interaction: discord.Interaction[Any]) -> str:
    """The language of the member who clicked or typed (Discord tells the bot their client's locale)."""
    return language_of(interaction.locale)


async def answer_refusal(interaction: discord.Interaction[Any], error: BaseException) -> bool:
    """Give a refusal (a rule said no, a check failed, an option could not be read) its short private answer;
    False when `error` is not a refusal but a bug."""
    message = user_message_for(error, language_for(interaction))
    if message is None:
        return False
    # Heard by whoever wants to know what was refused (tests, a future metrics cog); refusals are not errors.
    interaction.client.dispatch("refusal", interaction, message)
    await _tell(interaction, message)
    return True


@contextlib.asynccontextmanager
async def refusals_answered(interaction: discord.Interaction[Any]) -> AsyncIterator[None]:
    """Around a command, a form or a button: a refusal raised inside is answered here, so the interaction
    ends as an ordinary answer (discord.py would hand it to the error path like a crash). Bugs go on up."""
    try:
        yield
    except Exception as error:
        if not await answer_refusal(interaction, error):
            raise


CogT = TypeVar("CogT", bound=commands.Cog)


class RoutesToCog(Generic[CogT]):
    """A persistent item's click handed to its cog, and any error to the one error path. The cog is looked
    up when clicked (so the item survives a reload of the cog); ``cog_type`` names it, imported lazily
    because the cog's module imports its items."""

    def cog_type(self) -> type[CogT]:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            cog_type = self.cog_type()
            cog = interaction.client.get_cog(cog_type.__cog_name__)
            assert isinstance(cog, cog_type)
            await self.handle(cog, interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def handle(self, cog: CogT, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """The one error path for commands, buttons and modals: short ephemeral text, bugs logged."""
    if await answer_refusal(interaction, error):
        return
    original = getattr(error, "original", error)
    log.error(
        "Unexpected error in %s by user %s in guild %s",
        interaction.command.qualified_name if interaction.command else interaction.data,
        interaction.user.id,
        interaction.guild_id,
        exc_info=original,
    )
    await _tell(interaction, GENERIC_APOLOGY)


async def _tell(interaction: discord.Interaction[Any], message: str | Text) -> None:
    if isinstance(message, Text):
        message = message.render(language_for(interaction))
    try:
        await send_ephemeral(interaction, message[:MAX_ERROR_LENGTH])
    except discord.HTTPException:
        log.warning("Could not tell user %s about an error", interaction.user.id, exc_info=True)


class AnsweringCommand(app_commands.Command[Any, ..., Any]):
    """A slash command whose refusals are answers (see `refusals_answered`), and whose autocomplete obeys
    the command's own checks. CoopTree makes every command it is given one of these, so no command can
    forget either."""

    async def _invoke_with_namespace(self, interaction: discord.Interaction[Any], namespace: Any) -> Any:
        # discord.py's one call that runs the checks, reads the options and runs the callback.
        async with refusals_answered(interaction):
            return await super()._invoke_with_namespace(interaction, namespace)
        return None  # a refusal was answered

    async def _invoke_autocomplete(
        self, interaction: discord.Interaction[Any], name: str, namespace: Any
    ) -> None:
        # discord.py runs no command check before an autocomplete: whoever may not run the command would
        # otherwise browse what it lists (titles, amounts, who gave what).
        try:
            allowed = await self._check_can_run(interaction)
        except app_commands.AppCommandError:
            allowed = False
        if not allowed:
            await interaction.response.autocomplete([])
            return
        await super()._invoke_autocomplete(interaction, name, namespace)


class CoopTree(app_commands.CommandTree["CoopBot"]):
    def add_command(self, command: Any, /, **options: Any) -> None:
        commands = command.walk_commands() if isinstance(command, app_commands.Group) else [command]
        for leaf in commands:
            if type(leaf) is app_commands.Command:
                # The same command with refusals answered: AnsweringCommand adds behaviour, no state.
                leaf.__class__ = AnsweringCommand
        super().add_command(command, **options)

    async def on_error(
        self, interaction: discord.Interaction[CoopBot], error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


def _answering_refusals(item: discord.ui.Item[Any]) -> None:
    callback = item.callback
    if getattr(callback, "answers_refusals", False):
        return

    async def answering(interaction: discord.Interaction[Any]) -> None:
        async with refusals_answered(interaction):
            await callback(interaction)

    answering.answers_refusals = True  # type: ignore[attr-defined]
    item.callback = answering  # type: ignore[method-assign]


class CoopView(discord.ui.View):
    """A View whose buttons and selects answer refusals (see `refusals_answered`); other errors take the
    same path as commands'."""

    def __init__(self, *, timeout: float | None = 180.0) -> None:
        super().__init__(timeout=timeout)
        for item in self.children:  # the decorated buttons; add_item covers the rest
            _answering_refusals(item)

    def add_item(self, item: discord.ui.Item[Any]) -> CoopView:
        _answering_refusals(item)
        return super().add_item(item)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error)


class CoopModal(discord.ui.Modal):
    """A Modal whose refusals are answers; a subclass says what a submission does in `submitted`."""

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        async with refusals_answered(interaction):
            await self.submitted(interaction)

    async def on_error(  # type: ignore[override]  # Modal's hook has no item, unlike View's
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report_error(interaction, error)


class ExpiringView(CoopView):
    """An ephemeral view whose buttons are taken away when it stops listening (instead of failing). Whoever
    sends it says which answer carries it: `origin` when it is the interaction's response, `message` when it
    is a followup."""

    origin: discord.Interaction[Any] | None = None
    message: discord.WebhookMessage | None = None

    async def on_timeout(self) -> None:
        # The message may be dismissed or the token expired: then there is nothing left to tidy.
        with contextlib.suppress(discord.HTTPException):
            if self.message is not None:
                await self.message.edit(view=None)
            elif self.origin is not None:
                await self.origin.edit_original_response(view=None)


class PagedView(ExpiringView):
    """Previous and Next over `pages` pages, labelled in the reader's `language`; a subclass draws the page
    shown (`page`) in `render_page`."""

    def __init__(self, *, pages: int, timeout: float, language: str = SOURCE) -> None:
        super().__init__(timeout=timeout)
        self.page = 0
        self.pages = max(1, pages)
        self.label_buttons(language)

    def label_buttons(self, language: str) -> None:
        self.previous_page.label = _("Previous").render(language)
        self.next_page.label = _("Next").render(language)

    async def render_page(self) -> discord.Embed:
        raise NotImplementedError

    async def render(self) -> discord.Embed:
        """The page shown, with the buttons that lead nowhere disabled."""
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= self.pages - 1
        return await self.render_page()

    async def _turn(self, interaction: discord.Interaction[Any], step: int) -> None:
        self.page = min(max(0, self.page + step), self.pages - 1)
        await interaction.response.edit_message(embed=await self.render(), view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, emoji="◀️")
    async def previous_page(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, emoji="▶️")
    async def next_page(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, 1)


PageRenderer = Callable[[int], Awaitable[tuple[discord.Embed, int]]]


class QueryPagedView(PagedView):
    """Previous / Next over pages read when turned to: ``render(page)`` gives the page's embed and how many
    pages there are now (a search, the audit log, the register)."""

    def __init__(self, render: PageRenderer, *, page: int, timeout: float = 600) -> None:
        super().__init__(pages=page + 1, timeout=timeout)
        self._render = render
        self.page = page

    async def render_page(self) -> discord.Embed:
        embed, self.pages = await self._render(self.page)
        return embed

    async def render(self) -> discord.Embed:
        # The count of pages comes with the page: read it first, then set the buttons.
        embed = await self.render_page()
        self.page = min(self.page, self.pages - 1)
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= self.pages - 1
        return embed

    async def send(self, interaction: discord.Interaction[Any]) -> None:
        """Answer with the first page, with the buttons (in the member's language) only when there is more
        than one page."""
        self.label_buttons(language_for(interaction))
        embed = await self.render()
        if self.pages > 1:
            self.origin = interaction
            await interaction.response.send_message(embed=embed, view=self, ephemeral=True)
        else:
            await send_ephemeral(interaction, embed=embed)


async def network_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """The networks this cooperative is in whose names hold what was typed (an autocomplete's choices)."""
    from cogs._text import AUTOCOMPLETE_LIMIT
    from governance import networks

    if interaction.guild_id is None:
        return []
    names = await networks.network_names(interaction.client.database, interaction.guild_id)
    typed = current.casefold()
    return [app_commands.Choice(name=name, value=name) for name in names if typed in name.casefold()][
        :AUTOCOMPLETE_LIMIT
    ]


class TypedAmount(app_commands.Transformer):
    """An amount option, read the member's way: where their language writes a decimal comma, "12,50" is
    twelve fifty (governance.money.normalise_amount); governance then reads it as any amount is."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return 64

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> str:
        return normalise_amount(str(value), language_for(interaction))


# An amount as typed ("1,200.50", or "1.200,50" where the member's language writes a decimal comma).
AMOUNT = app_commands.Transform[str, TypedAmount]
