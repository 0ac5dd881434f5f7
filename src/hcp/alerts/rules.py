"""The alert rules: pure functions from one event (or the time since the last tick) to a verdict.

A `Verdict` names one subject (a unit, a market node, a tenant's budget), the rules it speaks
for, and the causes of those rules active now. The service opens an alert for each active cause
that has none, and resolves the open alerts of those rules on that subject that are no longer
active: de-duplication and auto-resolve both follow from comparing the two sets.

Unit rules read `unit.state`, the health monitor's verdict, published only when it changes: the
monitor owns the thresholds (`HCP_RESOURCES__*`), so a unit is judged once, the same way for the
API, the dashboards and the alerts, and a flood of polls is never a flood of alerts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hcp.core.settings import ResourcesSettings

UNIT_RULES = frozenset({"unit_offline", "temperature", "hashrate_low", "fan_failure", "gpu_xid"})
NOT_ANSWERING = "not answering"  # the reason the health monitor gives an offline unit
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Cause:
    cause: str
    rule: str
    severity: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None


@dataclass(frozen=True)
class Verdict:
    subject_kind: str
    subject_id: str
    rules: frozenset[str]
    active: tuple[Cause, ...] = ()


def _first_number(text: str) -> float | None:
    match = _NUMBER.search(text)
    return float(match.group()) if match else None


def unit_verdict(unit: Mapping[str, Any], settings: ResourcesSettings) -> Verdict:
    """From a `unit.state` payload (the unit as the API shows it)."""
    unit_id, kind = str(unit["id"]), str(unit.get("kind") or "")
    label = f"{kind.upper() or 'unit'} {unit_id}"
    reading = unit.get("reading") or {}
    if unit.get("status") == "offline":
        # An offline unit says nothing new about its temperature or fans: those alerts stay as they are.
        cause = Cause(f"unit_offline:{unit_id}", "unit_offline", "critical", f"{label} is offline (not answering)",
                      {"missed_polls": unit.get("missed_polls")})
        return Verdict("unit", unit_id, frozenset({"unit_offline"}), (cause,))
    if unit.get("status") == "maintenance":
        return Verdict("unit", unit_id, frozenset({"unit_offline"}))
    active: dict[str, Cause] = {}
    for reason in unit.get("health_reasons") or []:
        text = str(reason)
        found = _unit_cause(unit_id, kind, label, text, reading, settings)
        if found is not None and found.cause not in active:
            active[found.cause] = found
    return Verdict("unit", unit_id, UNIT_RULES, tuple(active.values()))


def _unit_cause(unit_id: str, kind: str, label: str, reason: str, reading: Mapping[str, Any],
                settings: ResourcesSettings) -> Cause | None:
    if reason.startswith("temperature"):
        threshold = _first_number(reason)
        critical_c = settings.asic_temp_critical_c if kind == "asic" else settings.gpu_temp_critical_c
        severity = "critical" if threshold is not None and threshold >= critical_c else "warning"
        return Cause(f"temperature:{unit_id}", "temperature", severity, f"{label}: {reason}",
                     {"temp_c": reading.get("temp_c"), "threshold_c": threshold})
    if reason.startswith("hashrate below"):
        pct = _first_number(reason)
        severity = ("critical" if pct is not None and pct <= settings.hashrate_critical_ratio * 100 + 1e-9
                    else "warning")
        return Cause(f"hashrate_low:{unit_id}", "hashrate_low", severity, f"{label}: {reason}",
                     {"hashrate_ths": reading.get("hashrate_ths"),
                      "expected_hashrate_ths": reading.get("expected_hashrate_ths")})
    if reason.startswith("a fan below"):
        return Cause(f"fan_failure:{unit_id}", "fan_failure", "warning", f"{label}: {reason}",
                     {"fan_min_rpm": reading.get("fan_min_rpm")})
    if reason.startswith("XID error"):
        return Cause(f"gpu_xid:{unit_id}", "gpu_xid", "critical", f"{label}: {reason}",
                     {"xid": _first_number(reason)})
    return None


def switch_verdict(record: Mapping[str, Any], *, limit_ms: float) -> Verdict | None:
    """From a `switch.done` payload: the unit's latest switch was slower than the limit, or not."""
    unit_id = record.get("unit_id")
    latency = record.get("latency_ms")
    if not unit_id or not isinstance(latency, int | float):
        return None
    active: tuple[Cause, ...] = ()
    if latency > limit_ms:
        active = (Cause(f"switch_latency:{unit_id}", "switch_latency", "warning",
                        f"GPU {unit_id} switched in {latency:.0f} ms (limit {limit_ms:g} ms)",
                        {"latency_ms": latency, "limit_ms": limit_ms, "phases": record.get("phases") or {}}),)
    return Verdict("unit", str(unit_id), frozenset({"switch_latency"}), active)


def break_even_usd_per_mwh(hashprice_usd_per_th_day: float, *, j_per_th: float) -> float:
    """The electricity price at which a miner of `j_per_th` earns what its energy costs."""
    # One TH/s earns hashprice/24 per hour and draws j_per_th W, i.e. j_per_th/1e6 MWh per hour.
    return hashprice_usd_per_th_day / 24.0 / (j_per_th / 1e6)


def market_verdicts(tick: Mapping[str, Any], *, j_per_th: float) -> list[Verdict]:
    """From a `market.tick`: a price spike on each electricity node above break-even, and a
    fresh tick clears the stale-feed alert."""
    verdicts = [Verdict("market", "feed", frozenset({"market_stale"}))]
    hashprice = tick.get("hashprice_usd_per_th_day")
    prices = tick.get("electricity_usd_per_mwh")
    if not isinstance(hashprice, int | float) or hashprice <= 0 or not isinstance(prices, Mapping):
        return verdicts
    break_even = break_even_usd_per_mwh(float(hashprice), j_per_th=j_per_th)
    for node, price in prices.items():
        if not isinstance(price, int | float):
            continue
        active: tuple[Cause, ...] = ()
        if price > break_even:
            active = (Cause(f"price_spike:{node}", "price_spike", "warning",
                            f"electricity at {node} ${price:.2f}/MWh is above mining break-even "
                            f"${break_even:.2f}/MWh", {"node": node, "electricity_usd_per_mwh": price,
                                                      "break_even_usd_per_mwh": round(break_even, 2)}),)
        verdicts.append(Verdict("market", str(node), frozenset({"price_spike"}), active))
    return verdicts


def stale_verdict(*, age_s: float, stale_after_s: float) -> Verdict:
    active: tuple[Cause, ...] = ()
    if age_s > stale_after_s:
        active = (Cause("market_stale:feed", "market_stale", "warning",
                        f"no market tick for {age_s:.0f} s (stale after {stale_after_s:g} s)",
                        {"age_s": round(age_s, 1), "stale_after_s": stale_after_s}),)
    return Verdict("market", "feed", frozenset({"market_stale"}), active)


def budget_verdict(event: Mapping[str, Any]) -> Verdict | None:
    """From `billing.budget` {tenant_id, month, threshold_pct 80|100, spent_usd, limit_usd}: one
    alert per tenant and month, raised to critical at 100 %; a new month's clears the last's."""
    tenant_id, month, pct = event.get("tenant_id"), event.get("month"), event.get("threshold_pct")
    if not tenant_id or not month or not isinstance(pct, int | float):
        return None
    severity = "critical" if pct >= 100 else "warning"
    cause = Cause(f"budget:{tenant_id}:{month}", "budget", severity,
                  f"{pct:g}% of the {month} budget spent (${event.get('spent_usd')} of ${event.get('limit_usd')})",
                  {"month": month, "threshold_pct": pct, "spent_usd": event.get("spent_usd"),
                   "limit_usd": event.get("limit_usd")}, tenant_id=str(tenant_id))
    return Verdict("tenant", str(tenant_id), frozenset({"budget"}), (cause,))


def verdicts_of(subject: str, data: Mapping[str, Any], *, resources: ResourcesSettings,
                switch_latency_ms: float, j_per_th: float) -> Iterable[Verdict]:
    """Every verdict an event of `subject` carries (none for subjects no rule reads)."""
    if subject == "unit.state":
        yield unit_verdict(data, resources)
    elif subject == "switch.done":
        verdict = switch_verdict(data, limit_ms=switch_latency_ms)
        if verdict is not None:
            yield verdict
    elif subject == "market.tick":
        yield from market_verdicts(data, j_per_th=j_per_th)
    elif subject == "billing.budget":
        budget = budget_verdict(data)
        if budget is not None:
            yield budget


RULE_SUBJECTS = ("unit.state", "switch.done", "market.tick", "billing.budget")
