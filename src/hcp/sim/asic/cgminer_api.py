"""The CGMiner/BMMiner JSON API (TCP 4028) of simulated miners: stock Antminer S21 or LuxOS.

Framing as cgminer's api.c: one request per connection, the reply, a NUL byte, close. Shapes
follow what pyasic 0.79 reads, field for field, so that pyasic cannot tell a simulated unit
from a real one. A unit that is OFFLINE or rebooting closes its listening sockets, so clients
get "connection refused" at once, which pyasic handles without raising.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from hcp.core.clock import Clock
from hcp.sim.asic.device import (
    BOARDS,
    CHIPS_PER_BOARD,
    NOMINAL_FREQUENCY_MHZ,
    NOMINAL_HASHRATE_THS,
    POWER_MAX_W,
    POWER_MIN_W,
    AsicFleet,
    Firmware,
    curve,
    power_for_hashrate,
)

log = logging.getLogger(__name__)

MODEL = "Antminer S21"
STOCK_BMMINER_VERSION = "1.0.0"
STOCK_API_VERSION = "3.1"
STOCK_MINER_VERSION = "uart_trans.1.3"
STOCK_COMPILE_TIME = "Thu Nov 30 17:47:52 CST 2023"
STOCK_DESCRIPTION = f"bmminer {STOCK_BMMINER_VERSION}"
LUXOS_VERSION = "2024.11.7.165812-3f0a4d21"
LUXOS_API_VERSION = "3.7"
LUXOS_COMPILE_TIME = "Thu Nov 7 16:58:12 UTC 2024"
LUXOS_DESCRIPTION = f"LUXminer {LUXOS_VERSION}"

MAX_REQUEST_BYTES = 64 * 1024
SESSION_TTL_S = 60.0

# cgminer api.c message codes that matter here.
CODE_POOLS = 7
CODE_DEVS = 9
CODE_SUMMARY = 11
CODE_INVALID_COMMAND = 14
CODE_VERSION = 22
CODE_INVALID_JSON = 23
CODE_MISSING_COMMAND = 24
CODE_CONFIG = 33
CODE_ACCESS_DENIED = 45
CODE_DEVDETAILS = 69
CODE_STATS = 70

STOCK_READ_ONLY = frozenset({"version", "summary", "stats", "estats", "pools", "devs", "edevs", "devdetails", "config"})
# cgminer commands that change state: stock Antminer firmware answers them "access denied".
STOCK_PRIVILEGED = frozenset({
    "switchpool", "enablepool", "disablepool", "addpool", "removepool", "poolpriority", "poolquota",
    "save", "quit", "restart", "privileged", "notify", "ascenable", "ascdisable", "ascset", "pgaenable",
    "pgadisable", "pgaset", "setconfig", "zero", "hotplug", "debug", "failover-only", "lockstats",
})
LUXOS_READ_ONLY = frozenset({
    "version", "summary", "stats", "estats", "pools", "devs", "edevs", "devdetails", "config", "power",
    "profiles", "fans", "tempctrl", "groups", "atm", "session", "temps", "limits",
})
LUXOS_PRIVILEGED = frozenset({
    "curtail", "profileset", "atmset", "ledset", "fanset", "rebootdevice", "resetminer", "logoff",
})

# LuxOS builds profiles in 25 MHz steps around the board's nameplate frequency.
LUXOS_PROFILE_STEP_MHZ = 25.0


def _rounded(x: float, ndigits: int = 2) -> float:
    return float(round(x, ndigits))


def _status(code: int, msg: str, when: int, description: str, severity: str = "S") -> dict[str, Any]:
    return {"STATUS": severity, "When": when, "Code": code, "Msg": msg, "Description": description}


def _sensor_spread(temp_c: float, ambient_c: float, share: float) -> list[float]:
    """Four sensor readings around a board's mean: intake side cooler, exhaust side hotter."""
    spread = max(temp_c - ambient_c, 0.0) * share
    return [temp_c - spread, temp_c - 0.8 * spread, temp_c + 0.8 * spread, temp_c + spread]


@dataclass
class _Board:
    alive: bool
    rate_ghs: float
    ideal_ghs: float
    pcb: list[int]
    chip: list[int]
    serial: str


def _boards(snap: dict[str, Any]) -> list[_Board]:
    boards = []
    ideal_ghs = snap["ideal_hashrate_ths"] * 1000.0 / BOARDS
    for b in range(BOARDS):
        alive = snap["dead_board"] != b
        pcb = _sensor_spread(snap["board_temp_c"][b], snap["ambient_c"], 0.3)
        chip = _sensor_spread(snap["chip_temp_c"][b], snap["ambient_c"], 0.2)
        boards.append(
            _Board(
                alive=alive,
                rate_ghs=snap["board_hashrate_ths"][b] * 1000.0,
                ideal_ghs=ideal_ghs if alive else 0.0,
                # A dead chain is not detected: its sensors read as absent (0).
                pcb=[round(t) for t in pcb] if alive else [0, 0, 0, 0],
                chip=[round(t) for t in chip] if alive else [0, 0, 0, 0],
                serial=snap["board_serials"][b],
            )
        )
    return boards


def _pool_entries(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per configured pool with the counters cgminer keeps; shares go to the first."""
    alive = snap["pool_alive"]
    entries = []
    for n, pool in enumerate(snap["pools"]):
        active = n == 0
        accepted = snap["accepted"] if active else 0
        rejected = snap["rejected"] if active else 0
        entries.append({
            "index": n,
            "url": pool["url"],
            "user": pool["user"],
            "alive": alive,
            "active": active and alive,
            "accepted": accepted,
            "rejected": rejected,
            "getworks": accepted // 4 + (1 if active else 0),
            "diff": snap["share_difficulty"],
        })
    return entries


def luxos_profiles(power_target_w: float) -> list[dict[str, Any]]:
    """The S21's LuxOS profiles: 25 MHz steps around nameplate, plus the unit's own target if it
    sits between steps (set through the fleet API), so `config` always names a listed profile."""
    profiles = []
    step = -8
    while True:
        freq = NOMINAL_FREQUENCY_MHZ + step * LUXOS_PROFILE_STEP_MHZ
        hashrate = NOMINAL_HASHRATE_THS * freq / NOMINAL_FREQUENCY_MHZ
        watts = round(power_for_hashrate(hashrate))
        if watts > POWER_MAX_W:
            break
        if watts >= POWER_MIN_W:
            profiles.append(_profile("default" if step == 0 else f"{freq:.0f}MHz", watts, step))
        step += 1
    if round(power_target_w) not in {p["Watts"] for p in profiles}:
        profiles.append(_profile(f"{round(power_target_w)}W", round(power_target_w), None))
        profiles.sort(key=lambda p: p["Watts"])
    return profiles


def _profile(name: str, watts: int, step: int | None) -> dict[str, Any]:
    hashrate = curve(watts)
    freq = NOMINAL_FREQUENCY_MHZ * hashrate / NOMINAL_HASHRATE_THS
    return {
        "Profile Name": name,
        "Frequency": round(freq),
        "Hashrate": _rounded(hashrate),
        "IsDynamic": step is None,
        "IsTuned": False,
        "Step": step if step is not None else 0,
        "Voltage": _rounded(13.0 + (freq - NOMINAL_FREQUENCY_MHZ) * 0.006),
        "Watts": watts,
    }


def current_luxos_profile(power_target_w: float) -> str:
    for p in luxos_profiles(power_target_w):
        if p["Watts"] == round(power_target_w):
            return str(p["Profile Name"])
    return f"{round(power_target_w)}W"


# --- the "new API" shapes, shared with the web interface (summary.cgi, stats.cgi, pools.cgi) -------
def _new_api_head(msg: str, when: int) -> dict[str, Any]:
    # The new API (and the web CGI built on it) puts STATUS in a dict, not a list.
    return {
        "STATUS": {"STATUS": "S", "when": when, "Msg": msg, "api_version": "1.0.0"},
        "INFO": {"miner_version": STOCK_MINER_VERSION, "CompileTime": STOCK_COMPILE_TIME, "type": MODEL},
    }


def status_items(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """summary.cgi's health checks; pyasic reports every entry whose status is not "s" as an error."""
    rate = {"type": "rate", "status": "s", "code": 0, "msg": ""}
    if snap["dead_board"] >= 0:
        rate = {"type": "rate", "status": "e", "code": 3,
                "msg": f"Chain {snap['dead_board']} lost: 0 of {CHIPS_PER_BOARD} ASICs found"}
    network = {"type": "network", "status": "s", "code": 0, "msg": ""}
    if not snap["pool_alive"]:
        network = {"type": "network", "status": "e", "code": 4, "msg": "Pool connection lost: all pools dead"}
    fans = {"type": "fans", "status": "s", "code": 0, "msg": ""}
    if snap["failed_fan"] >= 0:
        fans = {"type": "fans", "status": "e", "code": 5, "msg": f"Fan {snap['failed_fan'] + 1} lost: 0 RPM"}
    hottest = max(snap["chip_temp_c"])
    temp = {"type": "temp", "status": "s", "code": 0, "msg": ""}
    if hottest > 95.0:
        temp = {"type": "temp", "status": "e", "code": 6, "msg": f"Chip temperature too high: {hottest:.0f} C"}
    elif hottest > 90.0:
        temp = {"type": "temp", "status": "w", "code": 6, "msg": f"Chip temperature high: {hottest:.0f} C"}
    return [rate, network, fans, temp]


def new_api_summary(snap: dict[str, Any], when: int) -> dict[str, Any]:
    rate = _rounded(snap["hashrate_ths"] * 1000.0)
    return {
        **_new_api_head("summary", when),
        "SUMMARY": [{
            "elapsed": int(snap["elapsed_s"]),
            "rate_5s": rate,
            "rate_30m": rate,
            "rate_avg": rate,
            "rate_ideal": _rounded(snap["ideal_hashrate_ths"] * 1000.0),
            "rate_unit": "GH/s",
            "hw_all": snap["hw_errors"],
            "bestshare": snap["accepted"] * int(snap["share_difficulty"]) // 3,
            "status": status_items(snap),
        }],
    }


def new_api_stats(snap: dict[str, Any], when: int) -> dict[str, Any]:
    rate = _rounded(snap["hashrate_ths"] * 1000.0)
    boards = _boards(snap)
    chains = [
        {
            "index": b,
            "freq_avg": round(snap["frequency_mhz"]) if board.alive else 0,
            "rate_ideal": _rounded(board.ideal_ghs),
            "rate_real": _rounded(board.rate_ghs),
            "asic_num": CHIPS_PER_BOARD if board.alive else 0,
            "temp_pic": board.pcb,
            "temp_pcb": board.pcb,
            "temp_chip": board.chip,
            "hw": snap["hw_errors"] // BOARDS,
            "eeprom_loaded": True,
            "sn": board.serial,
            "hwp": 0.0,
        }
        for b, board in enumerate(boards)
    ]
    return {
        **_new_api_head("stats", when),
        "STATS": [{
            "elapsed": int(snap["elapsed_s"]),
            "rate_5s": rate,
            "rate_30m": rate,
            "rate_avg": rate,
            "rate_ideal": _rounded(snap["ideal_hashrate_ths"] * 1000.0),
            "rate_unit": "GH/s",
            "chain_num": BOARDS,
            "fan_num": len(snap["fan_rpm"]),
            "fan": [round(r) for r in snap["fan_rpm"]],
            "hwp_total": 0.0,
            "miner-mode": snap["work_mode"],
            "freq-level": 100,
            "chain": chains,
        }],
    }


def new_api_pools(snap: dict[str, Any], when: int) -> dict[str, Any]:
    return {
        **_new_api_head("pools", when),
        "POOLS": [
            {
                "index": p["index"],
                "url": p["url"],
                "user": p["user"],
                "status": "Alive" if p["alive"] else "Dead",
                "priority": p["index"],
                "getworks": p["getworks"],
                "accepted": p["accepted"],
                "rejected": p["rejected"],
                "discarded": 0,
                "stale": 0,
                "diff": f"{p['diff']:.4f}",
                "diff1": p["accepted"] * int(p["diff"]),
                "diffa": float(p["accepted"] * p["diff"]),
                "diffr": p["rejected"] * int(p["diff"]),
                "diffs": 0,
                "lsdiff": int(p["diff"]) if p["accepted"] else 0,
                "lstime": "0:00:01" if p["active"] else "0",
            }
            for p in _pool_entries(snap)
        ],
    }


# --- replies ---------------------------------------------------------------------------------------
@dataclass
class _Session:
    session_id: str
    expires_at: float


@dataclass
class _LuxState:
    """Firmware settings that live in LuxOS itself rather than in the physics."""

    # Off by default: with ATM on, LuxOS would pick profiles itself, which is not simulated.
    atm_enabled: bool = False
    session: _Session | None = None


@dataclass
class _Context:
    index: int
    snap: dict[str, Any]
    when: int
    now: float
    parameter: str
    new_api: bool
    lux: _LuxState = field(default_factory=_LuxState)


class ApiError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class CgminerApi:
    """Builds replies to CGMiner API requests for the units of a fleet (no networking here)."""

    def __init__(self, fleet: AsicFleet, *, session_ttl_s: float = SESSION_TTL_S) -> None:
        self.fleet = fleet
        self.session_ttl_s = session_ttl_s
        self._lux: dict[int, _LuxState] = {}

    def reply(self, index: int, request: bytes, *, now: float) -> bytes:
        """The bytes a unit sends back for one request, NUL-terminated as cgminer does."""
        kind = request_kind(request)
        if kind == "plain":
            return self._plain_reply(index, request.decode().strip(" \t\r\n\0"), now=now)
        if kind != "json":
            return self._encode(self._error(index, CODE_INVALID_JSON, "Invalid JSON", now))
        payload = json.loads(request.decode().strip(" \t\r\n\0"))
        command = payload.get("command")
        if not isinstance(command, str) or not command.strip():
            return self._encode(self._error(index, CODE_MISSING_COMMAND, "Missing JSON 'command'", now))
        parameter = _as_parameter(payload.get("parameter", ""))
        new_api = bool(payload.get("new_api"))
        return self._encode(self.answer(index, command.strip(), parameter, new_api=new_api, now=now))

    def error_reply(self, index: int, code: int, msg: str, *, now: float) -> bytes:
        return self._encode(self._error(index, code, msg, now))

    def answer(self, index: int, command: str, parameter: str = "", *, new_api: bool = False,
               now: float) -> dict[str, Any]:
        """The JSON object a unit answers for `command`, a "+"-joined multi-command included."""
        luxos = self.fleet.firmware[index] == Firmware.LUXOS
        if "+" in command:
            read_only = LUXOS_READ_ONLY if luxos else STOCK_READ_ONLY
            out: dict[str, Any] = {}
            for name in [c for c in command.split("+") if c]:
                if name in read_only:
                    out[name] = [self._single(index, name, parameter, new_api=new_api, now=now)]
                elif name in self._known(luxos):
                    out[name] = [self._error(index, CODE_ACCESS_DENIED, f"Access denied to '{name}' command", now)]
                else:
                    out[name] = [self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)]
            out["id"] = 1
            return out
        return self._single(index, command, parameter, new_api=new_api, now=now)

    def _known(self, luxos: bool) -> frozenset[str]:
        return (LUXOS_READ_ONLY | LUXOS_PRIVILEGED | {"logon"}) if luxos else (STOCK_READ_ONLY | STOCK_PRIVILEGED)

    def _single(self, index: int, command: str, parameter: str, *, new_api: bool, now: float) -> dict[str, Any]:
        luxos = self.fleet.firmware[index] == Firmware.LUXOS
        lux = self._lux.setdefault(index, _LuxState()) if luxos else _LuxState()
        ctx = _Context(index=index, snap=self.fleet.snapshot(index), when=int(now), now=now,
                       parameter=parameter, new_api=new_api, lux=lux)
        handler = (_LUXOS if luxos else _STOCK).get(command)
        if handler is None:
            if not luxos and command in STOCK_PRIVILEGED:
                return self._error(index, CODE_ACCESS_DENIED, f"Access denied to '{command}' command", now)
            return self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)
        try:
            return handler(self, ctx)
        except ApiError as e:
            return self._error(index, e.code, e.msg, now)

    def _error(self, index: int, code: int, msg: str, now: float) -> dict[str, Any]:
        return {"STATUS": [_status(code, msg, int(now), self._description(index), "E")], "id": 1}

    def _description(self, index: int) -> str:
        return LUXOS_DESCRIPTION if self.fleet.firmware[index] == Firmware.LUXOS else STOCK_DESCRIPTION

    @staticmethod
    def _encode(reply: dict[str, Any]) -> bytes:
        return json.dumps(reply, separators=(",", ":")).encode() + b"\0"

    def _plain_reply(self, index: int, text: str, *, now: float) -> bytes:
        """cgminer's plain-text form, "command|parameter" (what `echo summary | nc` gets):
        sections as comma-separated key=value lists, each ended by "|". No multi-commands."""
        command, _, parameter = text.partition("|")
        if "+" in command:
            reply = self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)
        else:
            reply = self.answer(index, command.strip(), parameter.strip(), now=now)
        parts: list[str] = []
        for key, value in reply.items():
            if not isinstance(value, list):
                continue
            for item in value:
                fields = ",".join(f"{k}={_plain_value(v)}" for k, v in item.items())
                parts.append(fields if key == "STATUS" else f"{key},{fields}")
        return ("|".join(parts) + "|").encode() + b"\0"

    # --- stock (BMMiner) commands -----------------------------------------------------------------
    def stock_version(self, ctx: _Context) -> dict[str, Any]:
        return {
            "STATUS": [_status(CODE_VERSION, "BMMiner versions", ctx.when, STOCK_DESCRIPTION)],
            "VERSION": [{
                "BMMiner": STOCK_BMMINER_VERSION, "API": STOCK_API_VERSION, "Miner": STOCK_MINER_VERSION,
                "CompileTime": STOCK_COMPILE_TIME, "Type": MODEL,
            }],
            "id": 1,
        }

    def summary(self, ctx: _Context) -> dict[str, Any]:
        if ctx.new_api and self.fleet.firmware[ctx.index] == Firmware.STOCK:
            return new_api_summary(ctx.snap, ctx.when)
        snap = ctx.snap
        luxos = snap["firmware"] == "luxos"
        rate = _rounded(snap["hashrate_ths"] * 1000.0)
        diff = snap["share_difficulty"]
        elapsed = max(int(snap["elapsed_s"]), 1)
        accepted, rejected, hw = snap["accepted"], snap["rejected"], snap["hw_errors"]
        pool_alive = snap["pool_alive"]
        summary = {
            "Elapsed": int(snap["elapsed_s"]),
            # bmminer prints "GHS 5s" as a string; pyasic float()s it.
            "GHS 5s": rate if luxos else f"{rate:.2f}",
            "GHS av": rate,
            "GHS 30m": rate,
            "Found Blocks": 0,
            "Getworks": accepted // 4 + 1,
            "Accepted": accepted,
            "Rejected": rejected,
            "Hardware Errors": hw,
            "Utility": _rounded(accepted * 60.0 / elapsed),
            "Discarded": accepted // 2,
            "Stale": 0,
            "Get Failures": 0 if pool_alive else 1,
            "Local Work": accepted * 4,
            "Remote Failures": 0,
            "Network Blocks": elapsed // 600,
            "Total MH": _rounded(snap["hashrate_ths"] * 1e6 * elapsed, 0),
            "Work Utility": _rounded(accepted * diff * 60.0 / elapsed),
            "Difficulty Accepted": float(accepted * diff),
            "Difficulty Rejected": float(rejected * diff),
            "Difficulty Stale": 0.0,
            "Best Share": accepted * int(diff) // 3,
            "Device Hardware%": _rounded(100.0 * hw / max(accepted + hw, 1), 4),
            "Device Rejected%": _rounded(100.0 * rejected / max(accepted + rejected, 1), 4),
            "Pool Rejected%": _rounded(100.0 * rejected / max(accepted + rejected, 1), 4),
            "Pool Stale%": 0.0,
            "Last getwork": ctx.when,
        }
        return {
            "STATUS": [_status(CODE_SUMMARY, "Summary", ctx.when, self._description(ctx.index))],
            "SUMMARY": [summary],
            "id": 1,
        }

    def stats(self, ctx: _Context) -> dict[str, Any]:
        snap = ctx.snap
        luxos = snap["firmware"] == "luxos"
        if ctx.new_api and not luxos:
            return new_api_stats(snap, ctx.when)
        boards = _boards(snap)
        rate = _rounded(snap["hashrate_ths"] * 1000.0)
        freq = round(snap["frequency_mhz"])
        if luxos:
            head = {"LUXminer": LUXOS_VERSION, "API": LUXOS_API_VERSION, "Miner": LUXOS_VERSION,
                    "CompileTime": LUXOS_COMPILE_TIME, "Type": MODEL}
        else:
            head = {"BMMiner": STOCK_BMMINER_VERSION, "Miner": STOCK_MINER_VERSION,
                    "CompileTime": STOCK_COMPILE_TIME, "Type": MODEL}
        body: dict[str, Any] = {
            "STATS": 0, "ID": "BC50", "Elapsed": int(snap["elapsed_s"]), "Calls": 0, "Wait": 0.0,
            "Max": 0.0, "Min": 99999999.0,
            "GHS 5s": rate if luxos else f"{rate:.2f}", "GHS av": rate, "rate_30m": rate,
            "Mode": 2, "miner_count": BOARDS, "frequency": freq, "fan_num": len(snap["fan_rpm"]),
        }
        for n, rpm in enumerate(snap["fan_rpm"], start=1):
            body[f"fan{n}"] = round(rpm)
        body["temp_num"] = BOARDS
        for b, board in enumerate(boards, start=1):
            # pyasic's BMMiner reader takes temp{i} as the chip and temp2_{i} as the board sensor.
            body[f"temp{b}"] = max(board.chip) if board.alive else 0
            body[f"temp2_{b}"] = round(sum(board.pcb) / 4)
        for b, board in enumerate(boards, start=1):
            # LuxOS parses these as dash-joined ints: keep them positive.
            body[f"temp_pcb{b}"] = "-".join(str(max(t, 1) if luxos else t) for t in board.pcb)
            body[f"temp_chip{b}"] = "-".join(str(max(t, 1) if luxos else t) for t in board.chip)
        body.update({
            "total_rateideal": _rounded(snap["ideal_hashrate_ths"] * 1000.0 * sum(b.alive for b in boards) / BOARDS),
            "rate_unit": "GH",
            "total_freqavg": freq,
            "total_acn": CHIPS_PER_BOARD * sum(b.alive for b in boards),
            "total_rate": rate,
            "temp_max": max(max(b.chip) for b in boards),
            "no_matching_work": 0,
        })
        for b, board in enumerate(boards, start=1):
            body[f"chain_acn{b}"] = CHIPS_PER_BOARD if board.alive else 0
            body[f"chain_acs{b}"] = _chip_map() if board.alive else ""
            body[f"chain_hw{b}"] = snap["hw_errors"] // BOARDS if board.alive else 0
            body[f"chain_rate{b}"] = f"{board.rate_ghs:.2f}"
            body[f"chain_rateideal{b}"] = _rounded(board.ideal_ghs)
            body[f"chain_freq{b}"] = freq if board.alive else 0
        body["miner_version"] = LUXOS_VERSION if luxos else STOCK_MINER_VERSION
        body["miner_id"] = snap["serial_number"]
        return {
            "STATUS": [_status(CODE_STATS, f"{'LUXminer' if luxos else 'BMMiner'} stats", ctx.when,
                               self._description(ctx.index))],
            "STATS": [head, body],
            "id": 1,
        }

    def pools(self, ctx: _Context) -> dict[str, Any]:
        snap = ctx.snap
        if ctx.new_api and snap["firmware"] == "stock":
            return new_api_pools(snap, ctx.when)
        out = []
        for p in _pool_entries(snap):
            diff = p["diff"]
            entry: dict[str, Any] = {
                "POOL": p["index"], "URL": p["url"], "Status": "Alive" if p["alive"] else "Dead",
                "Priority": p["index"], "Quota": 1, "Long Poll": "N", "Getworks": p["getworks"],
                "Accepted": p["accepted"], "Rejected": p["rejected"], "Discarded": p["accepted"] // 2,
                "Stale": 0, "Get Failures": 0 if p["alive"] else 1, "Remote Failures": 0, "User": p["user"],
                "Last Share Time": ctx.when - 1 if p["active"] and p["accepted"] else 0,
                "Diff": f"{diff / 1024:.0f}K", "Diff1 Shares": p["accepted"] * int(diff),
                "Proxy Type": "", "Proxy": "",
                "Difficulty Accepted": float(p["accepted"] * diff),
                "Difficulty Rejected": float(p["rejected"] * diff), "Difficulty Stale": 0.0,
                "Last Share Difficulty": float(diff) if p["accepted"] else 0.0,
                "Has Stratum": True, "Stratum Active": p["active"],
                "Stratum URL": re.sub(r"^[a-z+]+://", "", p["url"]).rsplit(":", 1)[0],
                "Has GBT": False, "Best Share": p["accepted"] * int(diff) // 3,
                "Pool Rejected%": _rounded(100.0 * p["rejected"] / max(p["accepted"] + p["rejected"], 1), 4),
                "Pool Stale%": 0.0,
            }
            if snap["firmware"] == "luxos":
                entry["GROUP"] = 0
            out.append(entry)
        return {
            "STATUS": [_status(CODE_POOLS, f"{len(out)} Pool(s)", ctx.when, self._description(ctx.index))],
            "POOLS": out,
            "id": 1,
        }

    def devs(self, ctx: _Context) -> dict[str, Any]:
        snap = ctx.snap
        boards = _boards(snap)
        elapsed = max(int(snap["elapsed_s"]), 1)
        devs = []
        for b, board in enumerate(boards):
            accepted = snap["accepted"] // BOARDS if board.alive else 0
            devs.append({
                "ASC": b, "Name": "BTM_SOC0", "ID": b, "Enabled": "Y",
                "Status": "Alive" if board.alive else "Dead",
                "Temperature": float(max(board.chip)) if board.alive else 0.0,
                "MHS av": _rounded(board.rate_ghs * 1000.0), "MHS 5s": _rounded(board.rate_ghs * 1000.0),
                "MHS 1m": _rounded(board.rate_ghs * 1000.0), "MHS 5m": _rounded(board.rate_ghs * 1000.0),
                "MHS 15m": _rounded(board.rate_ghs * 1000.0), "Accepted": accepted,
                "Rejected": snap["rejected"] // BOARDS if board.alive else 0,
                "Hardware Errors": snap["hw_errors"] // BOARDS if board.alive else 0,
                "Utility": _rounded(accepted * 60.0 / elapsed), "Last Share Pool": 0,
                "Last Share Time": ctx.when if accepted else 0,
                "Total MH": _rounded(board.rate_ghs * 1000.0 * elapsed, 0),
                "Diff1 Work": accepted * int(snap["share_difficulty"]),
                "Difficulty Accepted": float(accepted * snap["share_difficulty"]),
                "Difficulty Rejected": 0.0, "Last Share Difficulty": float(snap["share_difficulty"]),
                "Last Valid Work": ctx.when, "Device Hardware%": 0.0, "Device Rejected%": 0.0,
                "Device Elapsed": int(snap["elapsed_s"]),
            })
        return {
            "STATUS": [_status(CODE_DEVS, f"{len(devs)} ASC(s)", ctx.when, self._description(ctx.index))],
            "DEVS": devs,
            "id": 1,
        }

    def devdetails(self, ctx: _Context) -> dict[str, Any]:
        details = [
            {"DEVDETAILS": b, "Name": "BTM_SOC0", "ID": b, "Driver": "bitmain", "Kernel": "", "Model": MODEL,
             "Device Path": ""}
            for b in range(BOARDS)
        ]
        return {
            "STATUS": [_status(CODE_DEVDETAILS, "Device Details", ctx.when, self._description(ctx.index))],
            "DEVDETAILS": details,
            "id": 1,
        }

    def config(self, ctx: _Context) -> dict[str, Any]:
        snap = ctx.snap
        conf: dict[str, Any] = {
            "ASC Count": BOARDS, "PGA Count": 0, "Pool Count": len(snap["pools"]), "Strategy": "Failover",
            "Log Interval": 5, "Device Code": "", "OS": "Linux", "Hotplug": "None",
        }
        if snap["firmware"] == "luxos":
            sleeping = snap["mode"] == "sleeping"
            conf.update({
                "OS": "LuxOS",
                "Profile": current_luxos_profile(snap["power_target_w"]),
                "MACAddr": snap["mac"].lower(),
                "Hostname": snap["hostname"],
                "IsAtmEnabled": ctx.lux.atm_enabled,
                "IsTuning": False,
                "CurtailMode": "Sleep" if sleeping else "None",
                "SystemStatus": "Curtailed" if sleeping else "Normal",
                "RedLed": "blink" if snap["fault_light"] else "off",
                "GreenLed": "on",
                "Model": MODEL,
                "SerialNumber": snap["serial_number"],
            })
        return {
            "STATUS": [_status(CODE_CONFIG, f"{'LUXminer' if snap['firmware'] == 'luxos' else 'CGMiner'} config",
                               ctx.when, self._description(ctx.index))],
            "CONFIG": [conf],
            "id": 1,
        }

    # --- LuxOS commands ---------------------------------------------------------------------------
    def _lux_status(self, ctx: _Context, code: int, msg: str) -> list[dict[str, Any]]:
        return [_status(code, msg, ctx.when, LUXOS_DESCRIPTION)]

    def lux_version(self, ctx: _Context) -> dict[str, Any]:
        return {
            "STATUS": self._lux_status(ctx, CODE_VERSION, "LUXminer versions"),
            "VERSION": [{"API": LUXOS_API_VERSION, "CompileTime": LUXOS_COMPILE_TIME, "LUXminer": LUXOS_VERSION,
                         "Miner": LUXOS_VERSION, "Type": MODEL}],
            "id": 1,
        }

    def power(self, ctx: _Context) -> dict[str, Any]:
        return {"STATUS": self._lux_status(ctx, 320, "Power"),
                "POWER": [{"PSU": True, "Watts": round(ctx.snap["power_w"])}], "id": 1}

    def profiles(self, ctx: _Context) -> dict[str, Any]:
        return {"STATUS": self._lux_status(ctx, 327, "Profiles"),
                "PROFILES": luxos_profiles(ctx.snap["power_target_w"]), "id": 1}

    def fans(self, ctx: _Context) -> dict[str, Any]:
        snap = ctx.snap
        manual = snap["fan_manual_pct"]
        fans = [
            {"ID": n, "RPM": round(rpm), "Speed": round(manual if manual is not None else 100 * rpm / 6600)}
            for n, rpm in enumerate(snap["fan_rpm"])
        ]
        return {
            "STATUS": self._lux_status(ctx, 202, f"{len(fans)} Fan(s)"),
            "FANCTRL": [{"Mode": "Manual" if manual is not None else "Auto", "MinFans": len(fans),
                         "PowerOffSpeed": 0, "Speed": round(manual) if manual is not None else -1}],
            "FANS": fans,
            "id": 1,
        }

    def tempctrl(self, ctx: _Context) -> dict[str, Any]:
        manual = ctx.snap["fan_manual_pct"] is not None
        return {"STATUS": self._lux_status(ctx, 203, "Temperature control"),
                "TEMPCTRL": [{"Mode": "Manual" if manual else "Automatic", "Target": 75, "Hot": 90,
                              "Dangerous": 100}], "id": 1}

    def temps(self, ctx: _Context) -> dict[str, Any]:
        temps = []
        for b, board in enumerate(_boards(ctx.snap)):
            temps.append({"ID": b, "Board": round(sum(board.pcb) / 4), "Chip": round(sum(board.chip) / 4),
                          "TopLeft": board.pcb[0], "TopRight": board.pcb[1], "BottomLeft": board.pcb[2],
                          "BottomRight": board.pcb[3]})
        return {"STATUS": self._lux_status(ctx, 201, f"{len(temps)} Temp(s)"), "TEMPS": temps, "id": 1}

    def groups(self, ctx: _Context) -> dict[str, Any]:
        pools = ctx.snap["pools"]
        return {"STATUS": self._lux_status(ctx, 328, "1 Group(s)"),
                "GROUPS": [{"GROUP": 0, "Name": "Default", "Quota": 1, "Pools": len(pools), "Strategy": "Failover"}],
                "id": 1}

    def atm(self, ctx: _Context) -> dict[str, Any]:
        profiles = luxos_profiles(ctx.snap["power_target_w"])
        return {"STATUS": self._lux_status(ctx, 339, "ATM configuration values"),
                "ATM": [{"Enabled": ctx.lux.atm_enabled, "MaxProfile": profiles[-1]["Profile Name"],
                         "MinProfile": profiles[0]["Profile Name"], "PostRampMinutes": 15, "StartupMinutes": 15,
                         "TempWindow": 7}], "id": 1}

    def limits(self, ctx: _Context) -> dict[str, Any]:
        return {"STATUS": self._lux_status(ctx, 346, "Limits"),
                "LIMITS": [{"MinPowerW": int(POWER_MIN_W), "MaxPowerW": int(POWER_MAX_W)}], "id": 1}

    def _active_session(self, ctx: _Context) -> _Session | None:
        session = ctx.lux.session
        if session is not None and session.expires_at <= ctx.now:
            ctx.lux.session = session = None
        return session

    def session(self, ctx: _Context) -> dict[str, Any]:
        session = self._active_session(ctx)
        return {"STATUS": self._lux_status(ctx, 317, "Session"),
                "SESSION": [{"SessionID": session.session_id if session else ""}], "id": 1}

    def logon(self, ctx: _Context) -> dict[str, Any]:
        if self._active_session(ctx) is not None:
            raise ApiError(310, "Another session is active")
        ctx.lux.session = _Session(secrets.token_hex(4), ctx.now + self.session_ttl_s)
        return {"STATUS": self._lux_status(ctx, 316, "Session created"),
                "SESSION": [{"SessionID": ctx.lux.session.session_id}], "id": 1}

    def _privileged(self, ctx: _Context) -> list[str]:
        """Check the session id (first parameter) and refresh it; the remaining parameters."""
        parts = [p.strip() for p in ctx.parameter.split(",")] if ctx.parameter else []
        session = self._active_session(ctx)
        if not parts or session is None or parts[0] != session.session_id:
            raise ApiError(314, "Invalid session id")
        session.expires_at = ctx.now + self.session_ttl_s
        return parts[1:]

    def logoff(self, ctx: _Context) -> dict[str, Any]:
        self._privileged(ctx)
        ctx.lux.session = None
        return {"STATUS": self._lux_status(ctx, 318, "Session closed"), "id": 1}

    def curtail(self, ctx: _Context) -> dict[str, Any]:
        args = self._privileged(ctx)
        action = args[0].lower() if args else ""
        if action == "sleep":
            self.fleet.sleep(ctx.index)
        elif action == "wakeup":
            self.fleet.resume(ctx.index)
        else:
            raise ApiError(345, "Invalid curtail mode: expected sleep or wakeup")
        return {"STATUS": self._lux_status(ctx, 344, f"Curtail {action}"), "id": 1}

    def profileset(self, ctx: _Context) -> dict[str, Any]:
        args = self._privileged(ctx)
        # Legacy form "session,board,profile": a board id 0-3 before the profile name.
        if len(args) >= 2 and args[0].isdigit() and int(args[0]) <= 3:
            args = args[1:]
        if not args or not args[0]:
            raise ApiError(322, "Missing profile name")
        profiles = luxos_profiles(ctx.snap["power_target_w"])
        chosen = _select_profile(profiles, args[0])
        if chosen is None:
            raise ApiError(322, f"Profile not found: {args[0]}")
        self.fleet.set_power_target(ctx.index, chosen["Watts"])
        return {"STATUS": self._lux_status(ctx, 321, "Profile Set"),
                "PROFILE": [{"Board": 0, "FrequencyStep": 5, "Profile": chosen["Profile Name"], "VoltageStep": 0.05}],
                "id": 1}

    def atmset(self, ctx: _Context) -> dict[str, Any]:
        for arg in self._privileged(ctx):
            key, _, value = arg.partition("=")
            if key.strip() == "enabled":
                ctx.lux.atm_enabled = value.strip().lower() == "true"
        return {"STATUS": self._lux_status(ctx, 340, "Advanced Thermal Management configuration updated"), "id": 1}

    def ledset(self, ctx: _Context) -> dict[str, Any]:
        args = self._privileged(ctx)
        if len(args) < 2 or args[0] not in ("red", "green") or args[1] not in ("on", "off", "blink"):
            raise ApiError(336, "Invalid LED parameters: expected red|green,on|off|blink")
        if args[0] == "red":
            self.fleet.set_fault_light(ctx.index, args[1] != "off")
        return {"STATUS": self._lux_status(ctx, 335, "LED set"), "id": 1}

    def fanset(self, ctx: _Context) -> dict[str, Any]:
        for arg in self._privileged(ctx):
            key, _, value = arg.partition("=")
            if key.strip() == "speed":
                try:
                    speed = int(value)
                except ValueError:
                    raise ApiError(204, "Invalid fan speed") from None
                self.fleet.set_fan_mode(ctx.index, None if speed < 0 else speed)
        return {"STATUS": self._lux_status(ctx, 205, "Fan control updated"), "id": 1}

    def rebootdevice(self, ctx: _Context) -> dict[str, Any]:
        self._privileged(ctx)
        self.fleet.reboot(ctx.index)
        return {"STATUS": self._lux_status(ctx, 331, "Rebooting device"), "id": 1}

    def resetminer(self, ctx: _Context) -> dict[str, Any]:
        self._privileged(ctx)
        self.fleet.restart(ctx.index)
        return {"STATUS": self._lux_status(ctx, 332, "Resetting miner"), "id": 1}


Handler = Callable[[CgminerApi, _Context], dict[str, Any]]
_COMMON: dict[str, Handler] = {
    "summary": CgminerApi.summary, "stats": CgminerApi.stats, "estats": CgminerApi.stats,
    "pools": CgminerApi.pools, "devs": CgminerApi.devs, "edevs": CgminerApi.devs,
    "devdetails": CgminerApi.devdetails, "config": CgminerApi.config,
}
_STOCK: dict[str, Handler] = {**_COMMON, "version": CgminerApi.stock_version}
_LUXOS: dict[str, Handler] = {
    **_COMMON,
    "version": CgminerApi.lux_version, "power": CgminerApi.power, "profiles": CgminerApi.profiles,
    "fans": CgminerApi.fans, "tempctrl": CgminerApi.tempctrl, "temps": CgminerApi.temps,
    "groups": CgminerApi.groups, "atm": CgminerApi.atm, "limits": CgminerApi.limits,
    "session": CgminerApi.session, "logon": CgminerApi.logon, "logoff": CgminerApi.logoff,
    "curtail": CgminerApi.curtail, "profileset": CgminerApi.profileset, "atmset": CgminerApi.atmset,
    "ledset": CgminerApi.ledset, "fanset": CgminerApi.fanset, "rebootdevice": CgminerApi.rebootdevice,
    "resetminer": CgminerApi.resetminer,
}

_PLAIN = re.compile(r"[a-z][a-z0-9+_-]*(\|[\w.,=:/ +-]*)?")


def _select_profile(profiles: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """A profile by name, or by LuxOS's selectors: '3000W', '2.5kW', '180THs' (the highest
    profile not above the figure, else the lowest)."""
    for p in profiles:
        if p["Profile Name"] == wanted:
            return p
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(W|kW|THs)", wanted)
    if match is None:
        return None
    value = float(match.group(1))
    key = "Hashrate" if match.group(2) == "THs" else "Watts"
    limit = value * 1000.0 if match.group(2) == "kW" else value
    fitting = [p for p in profiles if p[key] <= limit]
    return max(fitting, key=lambda p: p[key]) if fitting else min(profiles, key=lambda p: p[key])


def _as_parameter(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _chip_map() -> str:
    # bmminer shows one "o" per healthy chip, in groups of eight.
    return " ".join("o" * min(8, CHIPS_PER_BOARD - k) for k in range(0, CHIPS_PER_BOARD, 8))


# --- listening sockets -----------------------------------------------------------------------------
class MinerListeners(ABC):
    """One listening socket per miner of a fleet, opened and closed as units go up and down.

    Subclasses implement `serve_connection`. Closing a listener (rather than accepting and
    dropping) makes an unreachable unit refuse connections, the failure pyasic handles best.
    """

    def __init__(self, fleet: AsicFleet, *, clock: Clock | None = None, request_timeout_s: float = 3.0) -> None:
        self.fleet = fleet
        self.clock = clock
        self.request_timeout_s = request_timeout_s
        self._addresses: dict[int, tuple[str, int]] = {}
        self._servers: dict[int, asyncio.Server] = {}
        self._connections: set[asyncio.Task[Any]] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closed = False
        fleet.subscribe(self._on_reachability)

    def now(self) -> float:
        return self.clock.time() if self.clock is not None else time.time()

    def address(self, index: int) -> tuple[str, int]:
        return self._addresses[index]

    @property
    def indices(self) -> list[int]:
        return list(self._addresses)

    async def add(self, index: int, host: str, port: int) -> int:
        """Serve unit `index` at host:port (port 0 picks one); returns the bound port."""
        if self._closed:
            raise RuntimeError("server is closed")
        if index in self._addresses:
            raise ValueError(f"unit {index} is already served at {self._addresses[index]}")
        if not 0 <= index < self.fleet.n:
            raise IndexError(f"unit index {index} out of range 0..{self.fleet.n - 1}")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        sock = _listen(host, port)
        bound = (host, int(sock.getsockname()[1]))
        self._addresses[index] = bound
        if self.fleet.is_reachable(index):
            await self._start(index, sock)
        else:
            sock.close()
        return bound[1]

    async def _start(self, index: int, sock: socket.socket) -> None:
        try:
            server = await asyncio.start_server(partial(self._on_connect, index), sock=sock, limit=MAX_REQUEST_BYTES)
        except BaseException:
            sock.close()
            raise
        if self._closed or index in self._servers or not self.fleet.is_reachable(index):
            server.close()
            return
        self._servers[index] = server

    def _on_reachability(self, indices: npt.NDArray[np.int64]) -> None:
        if self._closed or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._apply(indices)
        else:
            self._loop.call_soon_threadsafe(self._apply, indices.copy())

    def _apply(self, indices: npt.NDArray[np.int64]) -> None:
        for index in (int(i) for i in indices):
            if index not in self._addresses or self._closed:
                continue
            if self.fleet.is_reachable(index):
                if index in self._servers:
                    continue
                host, port = self._addresses[index]
                try:
                    # Bind now, synchronously: connections queue in the backlog from this moment.
                    sock = _listen(host, port)
                except OSError:
                    log.warning("unit %s cannot listen again on %s:%s", index, host, port, exc_info=True)
                    continue
                task = asyncio.get_running_loop().create_task(self._start(index, sock))
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)
            else:
                server = self._servers.pop(index, None)
                if server is not None:
                    server.close()

    async def settle(self) -> None:
        """Wait until listeners being reopened are serving."""
        while self._starting:
            await asyncio.gather(*self._starting, return_exceptions=True)

    async def _on_connect(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self.serve_connection(index, reader, writer)
        except asyncio.CancelledError:
            pass  # the server is closing
        except (ConnectionError, TimeoutError, OSError, asyncio.IncompleteReadError):
            pass  # the client went away mid-exchange: nothing to answer
        except Exception:
            log.exception("unit %s: error serving a connection", index)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            if task is not None:
                self._connections.discard(task)

    @abstractmethod
    async def serve_connection(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection of unit `index` (one request, as the protocol has it)."""

    async def discard_input(self, reader: asyncio.StreamReader, limit: int = 16 * 1024 * 1024) -> None:
        """Swallow what a client still sends, until EOF, `limit` bytes or the request timeout.

        Used after answering garbage: closing a socket with unread input resets the connection,
        which can destroy the reply still in flight.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_s
        seen = 0
        while seen < limit:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except TimeoutError:
                return
            if not chunk:
                return
            seen += len(chunk)

    async def close(self) -> None:
        """Stop listening and end connections in progress."""
        if self._closed:
            return
        self._closed = True
        self.fleet.unsubscribe(self._on_reachability)
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        servers = list(self._servers.values())
        self._servers.clear()
        for server in servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in servers:
            await server.wait_closed()


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class CgminerApiServer(MinerListeners):
    """The TCP 4028 API of many simulated miners: one listening socket per miner address."""

    def __init__(
        self,
        fleet: AsicFleet,
        *,
        clock: Clock | None = None,
        request_timeout_s: float = 3.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        session_ttl_s: float = SESSION_TTL_S,
    ) -> None:
        super().__init__(fleet, clock=clock, request_timeout_s=request_timeout_s)
        self.api = CgminerApi(fleet, session_ttl_s=session_ttl_s)
        self.max_request_bytes = max_request_bytes

    async def serve_connection(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request, oversized = await self._read_request(reader)
        if oversized:
            reply = self.api.error_reply(index, CODE_INVALID_JSON,
                                         f"Invalid JSON: request over {self.max_request_bytes} bytes", now=self.now())
        elif request is None:
            return  # nothing arrived before the timeout: hang up, as cgminer does
        else:
            reply = self.api.reply(index, request, now=self.now())
        writer.write(reply)
        await asyncio.wait_for(writer.drain(), self.request_timeout_s)
        if oversized or request_kind(request or b"") not in ("json", "plain"):
            # A client sending garbage may still be sending: half-close, then swallow its input.
            if writer.can_write_eof():
                writer.write_eof()
            await self.discard_input(reader)

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[bytes | None, bool]:
        """Read until the buffer holds a complete request, EOF, the size limit or the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_s
        buf = bytearray()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return (bytes(buf) if buf else None), False
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except TimeoutError:
                return (bytes(buf) if buf else None), False
            if not chunk:
                return (bytes(buf) if buf else None), False
            buf += chunk
            if len(buf) > self.max_request_bytes:
                return None, True
            if request_kind(buf) != "incomplete":
                return bytes(buf), False

def request_kind(buf: bytes | bytearray) -> str:
    """What a request buffer holds: "json" (an object), "plain" (cgminer's "command|parameter"
    text form), "incomplete" (could still become valid), or "invalid"."""
    try:
        text = bytes(buf).decode("utf-8")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the very end may still complete.
        return "incomplete" if e.end >= len(buf) and e.reason == "unexpected end of data" else "invalid"
    stripped = text.strip(" \t\r\n\0")
    if not stripped:
        return "incomplete"
    if not stripped.startswith("{"):
        return "plain" if _PLAIN.fullmatch(stripped) else "invalid"
    try:
        json.loads(stripped)
    except json.JSONDecodeError:
        return "incomplete" if _unclosed(stripped) else "invalid"
    except RecursionError:  # nesting deeper than any request needs
        return "invalid"
    return "json"


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _unclosed(text: str) -> bool:
    """Whether JSON text ends inside a string or an open object/array: more bytes may fix it."""
    outside = _JSON_STRING.sub("", text)
    if '"' in outside:
        return True
    return outside.count("{") + outside.count("[") > outside.count("}") + outside.count("]")
