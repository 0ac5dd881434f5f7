"""The audit log's hash chain: appends in order under concurrency, and any edit, removal or
reordering is found, by the service and by `hcp audit verify` as an operator runs it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from hcp.auth import audit
from hcp.auth.service import record_audit, verify_audit_chain
from hcp.core.db import Database
from hcp.core.security import Principal

ALICE = Principal(id="u1", email="alice@example.com", role="admin", tenant_id=None,
                  scopes=frozenset({"read", "write", "admin"}), address="10.0.0.7")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
contents = st.fixed_dictionaries({
    "id": st.text("0123456789abcdef", min_size=32, max_size=32),
    "ts": st.datetimes(timezones=st.just(UTC)),
    "actor_id": st.none() | st.text(max_size=8), "actor_email": st.none() | st.text(max_size=12),
    "api_key_id": st.none() | st.text(max_size=8), "action": st.text(min_size=1, max_size=12),
    "object_type": st.text(min_size=1, max_size=8), "object_id": st.none() | st.text(max_size=8),
    "tenant_id": st.none() | st.text(max_size=8), "address": st.none() | st.text(max_size=8),
    "details": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
})


def chain(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows, prev = [], audit.GENESIS_HASH
    for seq, entry in enumerate(entries, start=1):
        row = {**entry, "seq": seq, "prev_hash": prev, "hash": audit.entry_hash(prev, entry)}
        rows.append(row)
        prev = row["hash"]
    return rows


@given(st.lists(contents, min_size=1, max_size=12), st.data())
def test_any_single_tampering_is_found_at_the_first_entry_it_touches(
    entries: list[dict[str, Any]], data: st.DataObject
) -> None:
    rows = chain(entries)
    assert audit.verify_entries(rows) is None
    victim = data.draw(st.integers(0, len(rows) - 1))
    how = data.draw(st.sampled_from(["edit", "remove", "swap", "rehash_alone"]))
    tampered = [dict(r) for r in rows]
    if how == "edit":
        field = data.draw(st.sampled_from(["action", "actor_email", "details", "object_id", "ts"]))
        new_value = data.draw(contents)[field]
        if new_value == tampered[victim][field]:
            return
        tampered[victim][field] = new_value
        expected = victim
    elif how == "remove":
        del tampered[victim]
        expected = victim
        if victim == len(rows) - 1:
            # Cutting off the newest entries leaves a valid, shorter chain: the one thing a hash
            # chain cannot show by itself.
            assert audit.verify_entries(tampered) is None
            return
    elif how == "swap":
        if victim == len(rows) - 1 or canonical_equal(rows[victim], rows[victim + 1]):
            return
        tampered[victim], tampered[victim + 1] = tampered[victim + 1], tampered[victim]
        expected = victim
    else:  # edited, and its own hash recomputed to match: the next entry no longer follows it
        tampered[victim]["action"] += "!"
        tampered[victim]["hash"] = audit.entry_hash(tampered[victim]["prev_hash"], tampered[victim])
        if victim == len(rows) - 1:
            assert audit.verify_entries(tampered) is None
            return
        expected = victim + 1
    broken = audit.verify_entries(tampered)
    assert broken is not None and broken.seq == tampered[expected]["seq"]


def canonical_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return audit.canonical_content(a) == audit.canonical_content(b)



async def test_entries_chain_and_verify_on_the_database(db: Database) -> None:
    async with db.transaction() as session:
        first = await record_audit(session, actor=ALICE, action="user.created", object_type="user",
                                   object_id="u2", details={"email": "bob@example.com", "n": 1.5})
        second = await record_audit(session, actor=None, action="auth.login_failed", object_type="user",
                                    details={"email": "x@example.com"}, address="10.0.0.9")
    assert first.prev_hash == audit.GENESIS_HASH and second.prev_hash == first.hash
    assert first.address == "10.0.0.7" and first.actor_email == "alice@example.com"
    async with db.transaction() as session:
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await record_audit(session, actor=ALICE, action="rolled.back", object_type="x")
                raise RuntimeError("the change failed, so its audit entry goes too")
    async with db.session() as session:
        report = await verify_audit_chain(session=session, batch=1)
    assert report.ok and report.checked == 2 and report.head == second.hash

    async with db.transaction() as session:
        await session.execute(text("UPDATE audit_log SET action = 'user.deleted' WHERE seq = :s"),
                              {"s": first.seq})
    async with db.session() as session:
        report = await verify_audit_chain(session=session)
    assert not report.ok and report.broken is not None and report.broken.seq == first.seq
    assert "edited" in report.broken.reason


async def test_concurrent_appends_keep_one_unbroken_chain(db: Database) -> None:
    async def append(i: int) -> None:
        async with db.transaction() as session:
            await record_audit(session, actor=ALICE, action="payment.recorded", object_type="invoice",
                               object_id=f"inv-{i}", details={"i": i})
            await asyncio.sleep(0)  # let the others try to append meanwhile

    await asyncio.gather(*(append(i) for i in range(25)))
    async with db.session() as session:
        report = await verify_audit_chain(session=session)
        hashes = (await session.execute(text("SELECT prev_hash FROM audit_log"))).scalars().all()
    assert report.ok and report.checked == 25
    assert len(set(hashes)) == 25  # no two entries claim the same predecessor


def hcp(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env["HCP_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "hcp", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.slow
async def test_hcp_audit_verify_finds_an_edited_row(db: Database, database_url: str) -> None:
    seqs = []
    for i in range(3):
        async with db.transaction() as session:
            entry = await record_audit(session, actor=ALICE, action="api_key.created",
                                       object_type="api_key", object_id=f"k{i}")
            seqs.append(entry.seq)
    ok = await asyncio.to_thread(hcp, "audit", "verify", database_url=database_url)
    assert ok.returncode == 0, ok.stderr
    assert "audit log intact: 3 entries" in ok.stdout

    # Someone with database access rewrites who created the second key.
    async with db.transaction() as session:
        await session.execute(text("UPDATE audit_log SET actor_email = 'mallory@example.com' WHERE seq = :s"),
                              {"s": seqs[1]})
    bad = await asyncio.to_thread(hcp, "audit", "verify", database_url=database_url)
    assert bad.returncode == 1
    assert f"seq={seqs[1]}" in bad.stderr and "edited" in bad.stderr


@pytest.mark.slow
def test_hcp_audit_verify_on_a_database_without_the_log(tmp_path: Path) -> None:
    done = hcp("audit", "verify", database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 2 and "hcp migrate" in done.stderr
