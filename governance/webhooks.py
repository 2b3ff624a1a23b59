"""Outbound webhooks: other tools hear when a decision closes, a request is approved or paid, a member is
admitted.

The audit log is the outbox. A committed governance action is already an audit event; `fan_out` turns new
events into deliveries (one per subscribed webhook, with a deterministic id, so doing it twice changes
nothing), and `claim_due` hands them to the sender: a delivery is claimed (its attempt counted, its next
attempt pushed out by a lease) before it is sent, retried with exponential backoff on network errors,
timeouts and 5xx answers, and given up after MAX_ATTEMPTS, recorded or not. The body is JSON with a
versioned schema, signed with HMAC-SHA256 by a per-webhook secret that is shown once. Where a webhook may
point, and how it is sent, is governance/outbound.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import locked_settings, settings_in
from governance.errors import InvalidInput, NotFound
from governance.i18n import _, _n
from governance.limits import HOUR, UNLIMITED, Limits, enforce
from governance.outbound import Outbound
from governance.permissions import Actor, require_moderator
from storage.database import Database, is_postgresql
from storage.models import AuditEvent, DeliveryStatus, Webhook, WebhookDelivery
from storage.types import as_utc

SCHEMA_VERSION = 1
SIGNATURE_HEADER = "X-Coopbot-Signature"
DELIVERY_HEADER = "X-Coopbot-Delivery"
EVENT_HEADER = "X-Coopbot-Event"
# Audit actions that are published, and the event name receivers see.
EVENTS: dict[str, str] = {
    "decision.close": "decision.closed",
    "fund.request.approve": "request.approved",
    "fund.payout": "request.paid",
    # Not "member.admit" (the decision's result, recorded before Discord gives the role, which may fail):
    # the person is admitted once they are a member. See `_admission`.
    "member.promote": "member.admitted",
    "round.close": "round.closed",
    "bucket.funded": "bucket.funded",
}
MAX_WEBHOOKS = 10
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)
# An attempt in flight is not claimed again before this; longer than the longest request (Settings'
# webhook_timeout_seconds is at most 60 s), so that an attempt's outcome is recorded before its lease ends.
LEASE = timedelta(minutes=2)
# Given up after MAX_ATTEMPTS claims whose outcomes were never recorded (the bot stopped while sending).
INTERRUPTED = f"given up after {MAX_ATTEMPTS} attempts, the last one cut short"
PUBLIC_ONLY = Outbound()  # what the governance API checks URLs with unless the caller passes its own
_NAMESPACE = uuid.UUID("9d3f7c1e-5b1a-4c9e-8f57-2f7c5a1f0b6e")


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str  # shown once, to the moderator who added it
    looked_up: bool  # False: its host name could not be looked up now; it is checked at each delivery


@dataclass(frozen=True)
class WebhookStatus:
    webhook: Webhook
    delivered: int
    pending: int
    failed: int
    last_error: str


@dataclass(frozen=True)
class Attempt:
    """What `attempt_due` hands to the sender: the delivery and the exact bytes and headers to POST."""

    delivery: WebhookDelivery
    url: str
    body: bytes
    headers: dict[str, str]


def sign(secret: str, body: bytes) -> str:
    """The signature header value: sha256=<hex HMAC of the body>. Receivers compute the same and compare."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def add_webhook(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    url: str,
    events: Collection[str] | None,
    now: datetime,
    outbound: Outbound = PUBLIC_ONLY,
) -> NewWebhook:
    """A new webhook, unless its URL is one the bot would not send to (`Outbound.check`: looked up now,
    outside the transaction)."""
    looked_up = await outbound.check(url)
    cleaned = url.strip()
    chosen = sorted(set(events or EVENTS.values()))
    unknown = [name for name in chosen if name not in EVENTS.values()]
    if unknown or not chosen:
        raise InvalidInput(_("Events are: {events}.", events=", ".join(sorted(EVENTS.values()))))
    secret = secrets.token_hex(32)
    async with db.write() as session:
        settings = await locked_settings(session, guild_id, now)
        require_moderator(settings, actor)
        count = (
            await session.exec(
                select(func.count())
                .select_from(Webhook)
                .where(Webhook.guild_id == guild_id, col(Webhook.active).is_(True))
            )
        ).one()
        if count >= MAX_WEBHOOKS:
            raise InvalidInput(_("A server can have {limit} webhooks: remove one first.", limit=MAX_WEBHOOKS))
        # Start after the newest event: a new webhook hears what happens from now on, not the history.
        newest = (
            await session.exec(select(func.max(AuditEvent.id)).where(AuditEvent.guild_id == guild_id))
        ).one()
        webhook = Webhook(
            guild_id=guild_id,
            url=cleaned,
            secret=secret,
            events=chosen,
            active=True,
            last_event_id=newest or 0,
            created_by=actor.user_id,
            created_at=now,
        )
        session.add(webhook)
        await session.flush()
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="webhook.add",
            subject=f"webhook:{webhook.id}",
            details={"url": cleaned, "events": chosen},
            at=now,
        )
    return NewWebhook(webhook, secret, looked_up)


async def _active_webhook(session: AsyncSession, guild_id: int, webhook_id: int) -> Webhook:
    """The guild's webhook `webhook_id`, unless it was removed; NotFound otherwise."""
    webhook = (
        await session.exec(
            select(Webhook).where(
                Webhook.id == webhook_id, Webhook.guild_id == guild_id, col(Webhook.active).is_(True)
            )
        )
    ).first()
    if webhook is None:
        raise NotFound(_("There is no webhook #{number} in this server.", number=webhook_id))
    return webhook


async def remove_webhook(
    db: Database, *, guild_id: int, webhook_id: int, actor: Actor, now: datetime
) -> Webhook:
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        require_moderator(settings, actor)
        webhook = await _active_webhook(session, guild_id, webhook_id)
        webhook.active = False
        session.add(webhook)
        await session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.webhook_id) == webhook_id,
                col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.FAILED.value, last_error="webhook removed")
        )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="webhook.remove",
            subject=f"webhook:{webhook_id}",
            at=now,
        )
    return webhook


async def list_webhooks(db: Database, guild_id: int) -> list[WebhookStatus]:
    async with db.read() as session:
        hooks = (
            await session.exec(
                select(Webhook)
                .where(Webhook.guild_id == guild_id, col(Webhook.active).is_(True))
                .order_by(col(Webhook.id))
            )
        ).all()
        counts = (
            await session.exec(
                select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count())
                .where(WebhookDelivery.guild_id == guild_id)
                .group_by(col(WebhookDelivery.webhook_id), col(WebhookDelivery.status))
            )
        ).all()
        statuses = []
        for webhook in hooks:
            per_status = {status: count for hook_id, status, count in counts if hook_id == webhook.id}
            last_failure = (
                await session.exec(
                    select(WebhookDelivery.last_error)
                    .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.last_error != "")
                    .order_by(col(WebhookDelivery.id).desc())
                    .limit(1)
                )
            ).first()
            statuses.append(
                WebhookStatus(
                    webhook,
                    delivered=per_status.get(DeliveryStatus.DELIVERED.value, 0),
                    pending=per_status.get(DeliveryStatus.PENDING.value, 0),
                    failed=per_status.get(DeliveryStatus.FAILED.value, 0),
                    last_error=last_failure or "",
                )
            )
    return statuses


def _payload(
    *,
    event: str,
    delivery_id: str,
    guild_id: int,
    occurred_at: datetime,
    actor_id: int | None,
    subject: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The JSON body receivers get (schema version 1). Ids are strings: they exceed JavaScript's integers."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event": event,
        "delivery_id": delivery_id,
        "guild_id": str(guild_id),
        "occurred_at": occurred_at.isoformat(),
        "actor_id": str(actor_id) if actor_id is not None else None,
        "subject": subject,
        "data": data,
    }


def _admission(details: dict[str, Any]) -> dict[str, Any] | None:
    """A promotion is an admission when it ends an application: the member role given after an admission
    decision passed (`confirm_admission`), or a moderator promoting someone whose application moderators
    decide (`record_change`); both name the application. A promotion without one (someone demoted and
    promoted again, a contributor made a member without applying) is no admission."""
    if details.get("application_id") is None:
        return None
    decision_id = details.get("decision_id")
    return {
        "application_id": details["application_id"],
        "decision_id": decision_id,
        "by": "decision" if decision_id is not None else "moderator",
    }


# The data receivers get for an event, from its audit details; None: this one is not published. An action
# missing here publishes its details as they are.
_DATA: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {"member.promote": _admission}


def published(event: AuditEvent) -> tuple[str, dict[str, Any]] | None:
    """The event name and data receivers get for an audit event, or None when it is not published."""
    name = EVENTS.get(event.action)
    if name is None:
        return None
    data = _DATA.get(event.action, dict)(event.details)
    return None if data is None else (name, data)


async def queue_test_event(
    db: Database,
    *,
    guild_id: int,
    webhook_id: int,
    actor: Actor,
    now: datetime,
    outbound: Outbound = PUBLIC_ONLY,
    limits: Limits = UNLIMITED,
) -> str:
    """/coop webhooks test: a `ping` delivery to one webhook, sent like any other (at most
    `limits.webhook_tests_per_hour` per cooperative, recorded in the audit log). A webhook at an address the
    bot does not send to is refused here, with the same answer whatever listens there."""
    async with db.read() as session:
        settings = await settings_in(session, guild_id, now)
        require_moderator(settings, actor)
        webhook = await _active_webhook(session, guild_id, webhook_id)  # a removed webhook gets no test
    await outbound.check(webhook.url)  # not inside the transaction: it may look the name up
    async with db.write() as session:
        await _active_webhook(session, guild_id, webhook_id)  # removed meanwhile: no test either
        await enforce(
            session,
            guild_id=guild_id,
            action="webhook.test",
            allowed=limits.webhook_tests_per_hour,
            window=HOUR,
            now=now,
            refusal=_n(
                "Webhooks were tested {count} time in the last hour.",
                "Webhooks were tested {count} times in the last hour.",
                limits.webhook_tests_per_hour,
            ),
        )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="webhook.test",
            subject=f"webhook:{webhook_id}",
            at=now,
        )
        delivery_id = str(uuid.uuid4())
        session.add(
            WebhookDelivery(
                guild_id=guild_id,
                webhook_id=webhook_id,
                delivery_id=delivery_id,
                event="ping",
                payload=_payload(
                    event="ping",
                    delivery_id=delivery_id,
                    guild_id=guild_id,
                    occurred_at=now,
                    actor_id=actor.user_id,
                    subject=f"webhook:{webhook_id}",
                    data={},
                ),
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return delivery_id


async def fan_out(db: Database, now: datetime, guild_ids: Collection[int] | None = None) -> int:
    """Turn audit events newer than each webhook's cursor into deliveries. Idempotent: the delivery id is
    derived from (webhook, event), so a second run or a second process inserts nothing new."""
    created = 0
    async with db.read() as session:
        query = select(Webhook).where(col(Webhook.active).is_(True))
        if guild_ids is not None:
            query = query.where(col(Webhook.guild_id).in_(guild_ids))
        hooks = list((await session.exec(query)).all())
    for webhook in hooks:
        async with db.write() as session:
            events = (
                await session.exec(
                    select(AuditEvent)
                    .where(
                        AuditEvent.guild_id == webhook.guild_id,
                        col(AuditEvent.id) > webhook.last_event_id,
                        col(AuditEvent.action).in_(list(EVENTS)),
                    )
                    .order_by(col(AuditEvent.id))
                    .limit(500)
                )
            ).all()
            newest = (
                await session.exec(
                    select(func.max(AuditEvent.id)).where(
                        AuditEvent.guild_id == webhook.guild_id, col(AuditEvent.id) > webhook.last_event_id
                    )
                )
            ).one()
            if newest is None:
                continue
            if len(events) == 500:
                newest = events[-1].id
            insert = pg_insert if is_postgresql(session) else sqlite_insert
            for audit_event in events:
                publication = published(audit_event)
                if publication is None or publication[0] not in webhook.events:
                    continue
                name, data = publication
                delivery_id = str(uuid.uuid5(_NAMESPACE, f"{webhook.id}:{audit_event.id}"))
                result = await session.exec(
                    insert(WebhookDelivery)
                    .values(
                        guild_id=webhook.guild_id,
                        webhook_id=webhook.id,
                        delivery_id=delivery_id,
                        event=name,
                        payload=_payload(
                            event=name,
                            delivery_id=delivery_id,
                            guild_id=webhook.guild_id,
                            occurred_at=audit_event.created_at,
                            actor_id=audit_event.actor_id,
                            subject=audit_event.subject,
                            data=data,
                        ),
                        status=DeliveryStatus.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                        last_error="",
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["delivery_id"])
                )
                created += result.rowcount or 0
            await session.exec(
                update(Webhook)
                .where(col(Webhook.id) == webhook.id, col(Webhook.last_event_id) == webhook.last_event_id)
                .values(last_event_id=newest)
            )
    return created


async def claim_due(db: Database, now: datetime, guild_ids: Collection[int] | None = None) -> list[Attempt]:
    """Claim the deliveries due now: each gets an attempt counted and a lease, so no other run sends it. One
    due again after MAX_ATTEMPTS claims (its last outcome never recorded) is given up instead."""
    async with db.read() as session:
        query = (
            select(WebhookDelivery, Webhook)
            .join(Webhook, col(Webhook.id) == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                col(WebhookDelivery.next_attempt_at) <= now,
                col(Webhook.active).is_(True),
            )
            .order_by(col(WebhookDelivery.id))
            .limit(100)
        )
        if guild_ids is not None:
            query = query.where(col(WebhookDelivery.guild_id).in_(guild_ids))
        rows = (await session.exec(query)).all()
    attempts = []
    for delivery, webhook in rows:
        spent = delivery.attempts >= MAX_ATTEMPTS
        claim: dict[str, Any] = (
            {"status": DeliveryStatus.FAILED.value, "last_error": INTERRUPTED}
            if spent
            else {"attempts": WebhookDelivery.attempts + 1, "next_attempt_at": now + LEASE}
        )
        async with db.write() as session:
            won = await session.exec(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery.id,
                    col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
                    col(WebhookDelivery.next_attempt_at) == delivery.next_attempt_at,
                )
                .values(**claim)
            )
        if spent or not won.rowcount:
            continue
        delivery.attempts += 1
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "coopbot-webhooks/1",
            SIGNATURE_HEADER: sign(webhook.secret, body),
            DELIVERY_HEADER: delivery.delivery_id,
            EVENT_HEADER: delivery.event,
        }
        attempts.append(Attempt(delivery, webhook.url, body, headers))
    return attempts


def backoff(attempts: int) -> timedelta:
    """30 s, 1.5 min, 4.5 min, 13.5 min, 40 min: three times longer each try."""
    return FIRST_RETRY * int(3 ** max(0, attempts - 1))


async def record_outcome(
    db: Database, attempt: Attempt, now: datetime, *, error: str | None, retry: bool
) -> datetime | None:
    """After an attempt: delivered, or scheduled again with backoff (returns when), or given up."""
    delivery = attempt.delivery
    retry_at = None
    if error is None:
        values: dict[str, Any] = {
            "status": DeliveryStatus.DELIVERED.value,
            "delivered_at": now,
            "last_error": "",
        }
    elif retry and delivery.attempts < MAX_ATTEMPTS:
        retry_at = now + backoff(delivery.attempts)
        values = {"next_attempt_at": retry_at, "last_error": error[:500]}
    else:
        values = {"status": DeliveryStatus.FAILED.value, "last_error": error[:500]}
    async with db.write() as session:
        await session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery.id,
                col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
            )
            .values(**values)
        )
    return retry_at


async def next_due(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value
        )
        if guild_ids is not None:
            query = query.where(col(WebhookDelivery.guild_id).in_(guild_ids))
        return as_utc((await session.exec(query)).one())
