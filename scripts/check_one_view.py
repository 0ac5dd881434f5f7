#!/usr/bin/env python3
"""Watch a running HCP through its public API and check that the plan, /resources and /workloads
tell one story about every GPU (issue W2-1):

- no GPU that serves a workload (an allocation in /resources) appears as `spot` or `idle` in
  `GET /economics/plan`, nor was taken while the plan rented it out;
- /workloads and /resources agree on which GPUs a running workload holds (two samples in a row);
- no queued workload waits longer than `--cycles` orchestrator cycles beside idle GPUs that fit it
  (its model and count, free in one facility) without a stated `wait_reason`.

    scripts/check_one_view.py --url http://127.0.0.1:8080 --minutes 10

Samples once per `--every` seconds; prints a line per minute and a summary; exits 1 on a breach.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

API = "/api/v1"


@dataclass
class Findings:
    samples: int = 0
    plans_seen: set[str] = field(default_factory=set)
    served_as_spot_or_idle: list[str] = field(default_factory=list)
    running_not_held: list[str] = field(default_factory=list)
    unexplained_waits: list[str] = field(default_factory=list)
    waits_with_reason: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    queued_max: int = 0
    running_max: int = 0

    @property
    def ok(self) -> bool:
        return not self.served_as_spot_or_idle and not self.unexplained_waits and not self.running_not_held


@dataclass
class Snapshot:
    """What the API says at one moment: the GPUs just before and just after the plan was read, so
    that an allocation seen in both held while the plan was read (requests are not one instant)."""

    plan: dict[str, Any]
    gpus: list[dict[str, Any]]
    running: list[dict[str, Any]]
    queued: list[dict[str, Any]]
    gpus_before: list[dict[str, Any]] = field(default_factory=list)


async def snapshot(client: httpx.AsyncClient, headers: dict[str, str]) -> Snapshot | None:
    params = {"kind": "gpu", "limit": 1000}
    before = await client.get(f"{API}/resources", params=params, headers=headers)
    plan = await client.get(f"{API}/economics/plan", headers=headers)
    if plan.status_code == 404:
        return None  # no market tick planned yet
    plan.raise_for_status()
    gpus = await client.get(f"{API}/resources", params=params, headers=headers)
    running = await client.get(f"{API}/workloads", params={"status": "running", "limit": 1000}, headers=headers)
    queued = await client.get(f"{API}/workloads", params={"status": "queued", "limit": 1000}, headers=headers)
    for r in (before, gpus, running, queued):
        r.raise_for_status()
    return Snapshot(plan.json(), gpus.json()["items"], running.json()["items"], queued.json()["items"],
                    before.json()["items"])


def served_but_not_in_plan(snap: Snapshot) -> list[str]:
    """GPUs serving a workload (one allocation before and after the plan was read) that the plan
    shows as spot or idle, or that were taken while the plan rented them out."""
    decided = {d["unit_id"]: d for d in snap.plan["decisions"]}
    held_before = {g["id"]: g["allocation"]["id"] for g in snap.gpus_before if g["allocation"] is not None}
    serving: dict[str, str] = {}
    for g in snap.gpus:
        a = g["allocation"]
        if a is not None and held_before.get(g["id"]) == a["id"]:
            serving[g["id"]] = a["workload_id"]
    plan_at = snap.plan["ts"]
    taken_at = {g["id"]: g["allocation"]["allocated_at"] for g in snap.gpus if g["allocation"] is not None}
    out = []
    for uid, workload_id in serving.items():
        d = decided.get(uid)
        if d is None:
            continue  # registered after the plan: the next plan has it
        if d["mode"] in ("spot", "idle"):
            out.append(f"{uid} serves {workload_id} but the plan shows it {d['mode']}")
        # Taken after the plan rented it out: the workload loop placed work on a spot rental.
        if d.get("planned_mode") == "spot" and uid in taken_at and _instant(taken_at[uid]) > _instant(plan_at):
            out.append(f"{uid} was taken for {workload_id} at {taken_at[uid]} while the plan of {plan_at} rents it")
    return out


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def running_not_held(snap: Snapshot) -> set[tuple[str, str]]:
    """(workload, GPU) where /workloads says the workload runs on the GPU and /resources says no
    allocation of that workload holds it. A pair seen in two samples in a row is a disagreement;
    in one, it may be the moment between the two requests."""
    holder = {g["id"]: (g["allocation"] or {}).get("workload_id") for g in snap.gpus}
    return {(w["id"], uid) for w in snap.running for uid in w["units"] if holder.get(uid) != w["id"]}


def idle_fits(snap: Snapshot) -> dict[str, list[str]]:
    """Queued workload -> facilities where idle, unheld, online GPUs of its model are enough."""
    decided = {d["unit_id"]: d for d in snap.plan["decisions"]}
    free: dict[tuple[str, str], int] = defaultdict(int)
    for g in snap.gpus:
        d = decided.get(g["id"])
        if (g["allocation"] is None and g["status"] == "online" and g["health"] != "critical"
                and d is not None and d["mode"] == "idle" and g["facility_id"]):
            free[(g["facility_id"], g["model"])] += 1
    out = {}
    for w in snap.queued:
        models = {"H100", "A100"} if w["gpu_model"] == "any" else {w["gpu_model"]}
        fits = sorted(f for (f, m), n in free.items() if m in models and n >= w["gpu_count"])
        if fits:
            out[w["id"]] = fits
    return out


async def watch(url: str, *, email: str, password: str, minutes: float, every: float, cycles: int,
                cycle_s: float) -> Findings:
    found = Findings()
    first_seen: dict[str, float] = {}  # queued workload -> when it was first seen beside an idle fit
    unheld: set[tuple[str, str]] = set()  # running workloads' GPUs no allocation held, last sample
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        token = (await client.post(f"{API}/auth/login", json={"email": email, "password": password})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        end = time.monotonic() + minutes * 60
        next_report = time.monotonic() + 60
        while time.monotonic() < end:
            started = time.monotonic()
            snap = await snapshot(client, headers)
            if snap is not None:
                found.samples += 1
                found.plans_seen.add(snap.plan["id"])
                found.queued_max = max(found.queued_max, len(snap.queued))
                found.running_max = max(found.running_max, len(snap.running))
                found.served_as_spot_or_idle += served_but_not_in_plan(snap)
                now_unheld = running_not_held(snap)
                found.running_not_held += [f"{w} runs on {u} by /workloads; /resources shows no allocation of it "
                                           "for two samples" for w, u in sorted(now_unheld & unheld)]
                unheld = now_unheld
                fits = idle_fits(snap)
                now = time.monotonic()
                queued = {w["id"]: w for w in snap.queued}
                for wid in list(first_seen):
                    if wid not in fits:
                        del first_seen[wid]
                for wid, facilities in fits.items():
                    since = first_seen.setdefault(wid, now)
                    reason = queued[wid].get("wait_reason")
                    if now - since <= cycles * cycle_s + every:
                        continue
                    if reason:
                        found.waits_with_reason[reason.split(":", 1)[0]] += 1
                    else:
                        found.unexplained_waits.append(
                            f"{wid} waited {now - since:.1f} s beside idle GPUs at {', '.join(facilities)} "
                            "with no reason given")
            if time.monotonic() >= next_report:
                next_report += 60
                print(f"{found.samples} samples, {len(found.plans_seen)} plans, "
                      f"{len(found.served_as_spot_or_idle)} served-as-spot/idle, "
                      f"{len(found.running_not_held)} running-not-held, "
                      f"{len(found.unexplained_waits)} unexplained waits", flush=True)
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--email", default="admin@mara.com")
    parser.add_argument("--password", default="admin123")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples (a market tick at 60x)")
    parser.add_argument("--cycles", type=int, default=1, help="orchestrator cycles a fitting workload may wait")
    parser.add_argument("--cycle-s", type=float, default=1.0, help="the orchestrator's tick (HCP_ORCHESTRATOR__TICK_S)")
    args = parser.parse_args()
    found = asyncio.run(watch(args.url, email=args.email, password=args.password, minutes=args.minutes,
                              every=args.every, cycles=args.cycles, cycle_s=args.cycle_s))
    print(f"samples: {found.samples}; plans: {len(found.plans_seen)}; most queued at once: {found.queued_max}; "
          f"most running at once: {found.running_max}")
    print(f"GPUs serving a workload shown as spot or idle in the plan: {len(found.served_as_spot_or_idle)}")
    for line in found.served_as_spot_or_idle[:20]:
        print("  " + line)
    print(f"running workloads on GPUs /resources does not show them holding: {len(found.running_not_held)}")
    for line in found.running_not_held[:20]:
        print("  " + line)
    print(f"queued work waiting > {args.cycles} cycle(s) beside fitting idle GPUs without a reason: "
          f"{len(found.unexplained_waits)}")
    for line in found.unexplained_waits[:20]:
        print("  " + line)
    if found.waits_with_reason:
        print("waits beside idle GPUs with a stated reason: "
              + ", ".join(f"{k}: {n}" for k, n in sorted(found.waits_with_reason.items())))
    return 0 if found.ok else 1


if __name__ == "__main__":
    sys.exit(main())
