"""The audit log: who did what to which object, and when, in a hash chain.

Each entry stores SHA-256(previous entry's hash + its own canonical content), so editing,
removing or reordering an entry breaks the chain at that point (`hcp audit verify`). Appends
are serialised: SQLite transactions take the write lock at BEGIN; on PostgreSQL the appending
transaction holds an advisory lock until it commits. Call `record_audit` late in a transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth.models import AuditEntry
from hcp.core.bus import json_default
from hcp.core.db import Database, lock_until_commit, new_id, utcnow
from hcp.core.paging import page
from hcp.core.security import Principal

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 0x4843_5041  # "HCPA"
_CONTENT_FIELDS = ("id", "ts", "actor_id", "actor_email", "api_key_id", "action", "object_type",
                   "object_id", "tenant_id", "address", "details")


def canonical_content(entry: dict[str, Any]) -> str:
    """The bytes an entry's hash covers: its fields as sorted, compact JSON."""
    content = {k: entry[k] for k in _CONTENT_FIELDS}
    ts = content["ts"]
    if isinstance(ts, datetime):
        content["ts"] = ts.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_content(entry)}".encode()).hexdigest()


def _as_dict(row: AuditEntry) -> dict[str, Any]:
    return {k: getattr(row, k) for k in (*_CONTENT_FIELDS, "seq", "prev_hash", "hash")}


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    id: str
    reason: str


class ChainVerifier:
    """Checks entries in `seq` order, one at a time, so a long log streams through."""

    def __init__(self) -> None:
        self.prev_hash = GENESIS_HASH
        self.checked = 0

    def check(self, entry: dict[str, Any]) -> ChainBreak | None:
        if entry["prev_hash"] != self.prev_hash:
            return ChainBreak(entry["seq"], entry["id"],
                              "does not follow the entry before it (an entry was removed, inserted or reordered)")
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            return ChainBreak(entry["seq"], entry["id"], "content does not match its hash (the entry was edited)")
        self.prev_hash = entry["hash"]
        self.checked += 1
        return None


def verify_entries(entries: Iterable[dict[str, Any]]) -> ChainBreak | None:
    verifier = ChainVerifier()
    for entry in entries:
        if (broken := verifier.check(entry)) is not None:
            return broken
    return None


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def verify_audit_chain(*, session: AsyncSession, batch: int = 1000) -> ChainReport:
    verifier = ChainVerifier()
    after = -1
    while True:
        stmt = select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        rows = (await session.execute(stmt)).scalars().all()
        for row in rows:
            if (broken := verifier.check(_as_dict(row))) is not None:
                return ChainReport(verifier.checked, verifier.prev_hash, broken)
        if len(rows) < batch:
            return ChainReport(verifier.checked, verifier.prev_hash, None)
        after = rows[-1].seq
        session.expunge_all()


async def record_audit(
    session: AsyncSession, *, actor: Principal | None, action: str, object_type: str,
    object_id: str | None = None, details: dict[str, Any] | None = None,
    tenant_id: str | None = None, address: str | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction: it commits with the change it records.

    `actor` None is the system (or an anonymous caller, e.g. a failed login). The tenant and
    address default to the actor's.
    """
    await lock_until_commit(session, AUDIT_LOCK_KEY)
    prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))
    # Through JSON now, so that what is hashed is exactly what the database gives back.
    payload = json.loads(json.dumps(details or {}, default=json_default, allow_nan=False))
    values: dict[str, Any] = {
        "id": new_id(), "ts": utcnow(),
        "actor_id": actor.id if actor else None, "actor_email": actor.email if actor else None,
        "api_key_id": actor.api_key_id if actor else None, "action": action,
        "object_type": object_type, "object_id": object_id,
        "tenant_id": tenant_id if tenant_id is not None else (actor.tenant_id if actor else None),
        "address": address if address is not None else (actor.address if actor else None),
        "details": payload,
    }
    prev_hash = prev or GENESIS_HASH
    entry = AuditEntry(**values, prev_hash=prev_hash, hash=entry_hash(prev_hash, values))
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """Which entries a list or an export covers: fields by equality, `since` <= ts < `until`."""

    action: str | None = None
    actor_id: str | None = None
    actor_email: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    tenant_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        for name in ("action", "actor_id", "actor_email", "object_type", "object_id", "tenant_id"):
            value = getattr(self, name)
            if value is not None:
                stmt = stmt.where(getattr(AuditEntry, name) == value)
        if self.since is not None:
            stmt = stmt.where(AuditEntry.ts >= self.since)
        if self.until is not None:
            stmt = stmt.where(AuditEntry.ts < self.until)
        return stmt


async def list_audit(
    *, session: AsyncSession, where: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """Newest first."""
    return await page(session, where.apply(select(AuditEntry)).order_by(AuditEntry.seq.desc()),
                      limit=limit, offset=offset)


async def iter_audit(
    *, db: Database, where: AuditFilter, batch: int = 1000
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every entry `where` selects, newest first, in batches (one short read session each, so a
    long export holds no lock). Entries appended meanwhile are newer than the first: left out."""
    before: int | None = None
    while True:
        stmt = where.apply(select(AuditEntry)).order_by(AuditEntry.seq.desc()).limit(batch)
        if before is not None:
            stmt = stmt.where(AuditEntry.seq < before)
        async with db.read() as session:
            rows = [_as_dict(row) for row in (await session.execute(stmt)).scalars().all()]
        if rows:
            yield rows
        if len(rows) < batch:
            return
        before = rows[-1]["seq"]
