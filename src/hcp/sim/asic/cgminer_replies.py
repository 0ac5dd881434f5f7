"""The sections of CGMiner API replies that both firmwares share, and who each firmware says it is.

STATUS/SUMMARY/STATS/POOLS/DEVS/DEVDETAILS/CONFIG built from a unit's snapshot, field for field
as pyasic 0.79 reads them, plus the "new API" shapes that the stock web interface serves too.
The command sets (`stock`, `luxos`) pick these up and add their own commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hcp.sim.asic.cgminer_protocol import (
    CODE_CONFIG,
    CODE_DEVDETAILS,
    CODE_DEVS,
    CODE_POOLS,
    CODE_STATS,
    CODE_SUMMARY,
    status,
)
from hcp.sim.asic.device import BOARDS, AsicFleet

MODEL = "Antminer S21"  # what LuxOS units report (LuxOS runs on the demo's S21s); others say `snap["model"]`
STOCK_BMMINER_VERSION = "1.0.0"
STOCK_API_VERSION = "3.1"
STOCK_MINER_VERSION = "uart_trans.1.3"
STOCK_COMPILE_TIME = "Thu Nov 30 17:47:52 CST 2023"
STOCK_DESCRIPTION = f"bmminer {STOCK_BMMINER_VERSION}"
LUXOS_VERSION = "2024.11.7.165812-3f0a4d21"
LUXOS_API_VERSION = "3.7"
LUXOS_COMPILE_TIME = "Thu Nov 7 16:58:12 UTC 2024"
LUXOS_DESCRIPTION = f"LUXminer {LUXOS_VERSION}"


@dataclass
class Context:
    """One request to one unit: what every command reads (and the fleet, for those that act)."""

    fleet: AsicFleet
    index: int
    snap: dict[str, Any]
    when: int
    now: float
    parameter: str
    new_api: bool

    @property
    def luxos(self) -> bool:
        return bool(self.snap["firmware"] == "luxos")

    @property
    def description(self) -> str:
        return LUXOS_DESCRIPTION if self.luxos else STOCK_DESCRIPTION


def rounded(x: float, ndigits: int = 2) -> float:
    return float(round(x, ndigits))


def sensor_spread(temp_c: float, ambient_c: float, share: float) -> list[float]:
    """Four sensor readings around a board's mean: intake side cooler, exhaust side hotter."""
    spread = max(temp_c - ambient_c, 0.0) * share
    return [temp_c - spread, temp_c - 0.8 * spread, temp_c + 0.8 * spread, temp_c + spread]


@dataclass
class Board:
    """One hash board as the API shows it: its rate and its four PCB and chip sensors."""

    alive: bool
    rate_ghs: float
    ideal_ghs: float
    pcb: list[int]
    chip: list[int]
    serial: str


def board_readings(snap: dict[str, Any]) -> list[Board]:
    boards = []
    ideal_ghs = snap["ideal_hashrate_ths"] * 1000.0 / BOARDS
    for b in range(BOARDS):
        alive = snap["dead_board"] != b
        pcb = sensor_spread(snap["board_temp_c"][b], snap["ambient_c"], 0.3)
        chip = sensor_spread(snap["chip_temp_c"][b], snap["ambient_c"], 0.2)
        boards.append(
            Board(
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


def pool_entries(snap: dict[str, Any]) -> list[dict[str, Any]]:
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


def chip_map(chips: int) -> str:
    # bmminer shows one "o" per healthy chip, in groups of eight.
    return " ".join("o" * min(8, chips - k) for k in range(0, chips, 8))


# --- the "new API" shapes, shared with the web interface (summary.cgi, stats.cgi, pools.cgi) -------
def new_api_head(msg: str, when: int, model: str) -> dict[str, Any]:
    # The new API (and the web CGI built on it) puts STATUS in a dict, not a list.
    return {
        "STATUS": {"STATUS": "S", "when": when, "Msg": msg, "api_version": "1.0.0"},
        "INFO": {"miner_version": STOCK_MINER_VERSION, "CompileTime": STOCK_COMPILE_TIME, "type": model},
    }


def status_items(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """summary.cgi's health checks; pyasic reports every entry whose status is not "s" as an error."""
    rate = {"type": "rate", "status": "s", "code": 0, "msg": ""}
    if snap["dead_board"] >= 0:
        rate = {"type": "rate", "status": "e", "code": 3,
                "msg": f"Chain {snap['dead_board']} lost: 0 of {snap['chips_per_board']} ASICs found"}
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
    rate = rounded(snap["hashrate_ths"] * 1000.0)
    return {
        **new_api_head("summary", when, snap["model"]),
        "SUMMARY": [{
            "elapsed": int(snap["elapsed_s"]),
            "rate_5s": rate,
            "rate_30m": rate,
            "rate_avg": rate,
            "rate_ideal": rounded(snap["ideal_hashrate_ths"] * 1000.0),
            "rate_unit": "GH/s",
            "hw_all": snap["hw_errors"],
            "bestshare": snap["accepted"] * int(snap["share_difficulty"]) // 3,
            "status": status_items(snap),
        }],
    }


def new_api_stats(snap: dict[str, Any], when: int) -> dict[str, Any]:
    rate = rounded(snap["hashrate_ths"] * 1000.0)
    boards = board_readings(snap)
    chains = [
        {
            "index": b,
            "freq_avg": round(snap["frequency_mhz"]) if board.alive else 0,
            "rate_ideal": rounded(board.ideal_ghs),
            "rate_real": rounded(board.rate_ghs),
            "asic_num": snap["chips_per_board"] if board.alive else 0,
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
        **new_api_head("stats", when, snap["model"]),
        "STATS": [{
            "elapsed": int(snap["elapsed_s"]),
            "rate_5s": rate,
            "rate_30m": rate,
            "rate_avg": rate,
            "rate_ideal": rounded(snap["ideal_hashrate_ths"] * 1000.0),
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
        **new_api_head("pools", when, snap["model"]),
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
            for p in pool_entries(snap)
        ],
    }


# --- the sections both firmwares answer ---------------------------------------------------------
def summary(ctx: Context) -> dict[str, Any]:
    if ctx.new_api and not ctx.luxos:
        return new_api_summary(ctx.snap, ctx.when)
    snap = ctx.snap
    luxos = ctx.luxos
    rate = rounded(snap["hashrate_ths"] * 1000.0)
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
        "Utility": rounded(accepted * 60.0 / elapsed),
        "Discarded": accepted // 2,
        "Stale": 0,
        "Get Failures": 0 if pool_alive else 1,
        "Local Work": accepted * 4,
        "Remote Failures": 0,
        "Network Blocks": elapsed // 600,
        "Total MH": rounded(snap["hashrate_ths"] * 1e6 * elapsed, 0),
        "Work Utility": rounded(accepted * diff * 60.0 / elapsed),
        "Difficulty Accepted": float(accepted * diff),
        "Difficulty Rejected": float(rejected * diff),
        "Difficulty Stale": 0.0,
        "Best Share": accepted * int(diff) // 3,
        "Device Hardware%": rounded(100.0 * hw / max(accepted + hw, 1), 4),
        "Device Rejected%": rounded(100.0 * rejected / max(accepted + rejected, 1), 4),
        "Pool Rejected%": rounded(100.0 * rejected / max(accepted + rejected, 1), 4),
        "Pool Stale%": 0.0,
        "Last getwork": ctx.when,
    }
    return {
        "STATUS": [status(CODE_SUMMARY, "Summary", ctx.when, ctx.description)],
        "SUMMARY": [summary],
        "id": 1,
    }


def stats(ctx: Context) -> dict[str, Any]:
    snap = ctx.snap
    luxos = ctx.luxos
    if ctx.new_api and not luxos:
        return new_api_stats(snap, ctx.when)
    boards = board_readings(snap)
    rate = rounded(snap["hashrate_ths"] * 1000.0)
    freq = round(snap["frequency_mhz"])
    if luxos:
        head = {"LUXminer": LUXOS_VERSION, "API": LUXOS_API_VERSION, "Miner": LUXOS_VERSION,
                "CompileTime": LUXOS_COMPILE_TIME, "Type": MODEL}
    else:
        head = {"BMMiner": STOCK_BMMINER_VERSION, "Miner": STOCK_MINER_VERSION,
                "CompileTime": STOCK_COMPILE_TIME, "Type": snap["model"]}
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
        "total_rateideal": rounded(snap["ideal_hashrate_ths"] * 1000.0 * sum(b.alive for b in boards) / BOARDS),
        "rate_unit": "GH",
        "total_freqavg": freq,
        "total_acn": snap["chips_per_board"] * sum(b.alive for b in boards),
        "total_rate": rate,
        "temp_max": max(max(b.chip) for b in boards),
        "no_matching_work": 0,
    })
    for b, board in enumerate(boards, start=1):
        body[f"chain_acn{b}"] = snap["chips_per_board"] if board.alive else 0
        body[f"chain_acs{b}"] = chip_map(snap["chips_per_board"]) if board.alive else ""
        body[f"chain_hw{b}"] = snap["hw_errors"] // BOARDS if board.alive else 0
        body[f"chain_rate{b}"] = f"{board.rate_ghs:.2f}"
        body[f"chain_rateideal{b}"] = rounded(board.ideal_ghs)
        body[f"chain_freq{b}"] = freq if board.alive else 0
    body["miner_version"] = LUXOS_VERSION if luxos else STOCK_MINER_VERSION
    body["miner_id"] = snap["serial_number"]
    return {
        "STATUS": [status(CODE_STATS, f"{'LUXminer' if luxos else 'BMMiner'} stats", ctx.when,
                           ctx.description)],
        "STATS": [head, body],
        "id": 1,
    }


def pools(ctx: Context) -> dict[str, Any]:
    snap = ctx.snap
    if ctx.new_api and not ctx.luxos:
        return new_api_pools(snap, ctx.when)
    out = []
    for p in pool_entries(snap):
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
            "Pool Rejected%": rounded(100.0 * p["rejected"] / max(p["accepted"] + p["rejected"], 1), 4),
            "Pool Stale%": 0.0,
        }
        if ctx.luxos:
            entry["GROUP"] = 0
        out.append(entry)
    return {
        "STATUS": [status(CODE_POOLS, f"{len(out)} Pool(s)", ctx.when, ctx.description)],
        "POOLS": out,
        "id": 1,
    }


def devs(ctx: Context) -> dict[str, Any]:
    snap = ctx.snap
    boards = board_readings(snap)
    elapsed = max(int(snap["elapsed_s"]), 1)
    devs = []
    for b, board in enumerate(boards):
        accepted = snap["accepted"] // BOARDS if board.alive else 0
        devs.append({
            "ASC": b, "Name": "BTM_SOC0", "ID": b, "Enabled": "Y",
            "Status": "Alive" if board.alive else "Dead",
            "Temperature": float(max(board.chip)) if board.alive else 0.0,
            "MHS av": rounded(board.rate_ghs * 1000.0), "MHS 5s": rounded(board.rate_ghs * 1000.0),
            "MHS 1m": rounded(board.rate_ghs * 1000.0), "MHS 5m": rounded(board.rate_ghs * 1000.0),
            "MHS 15m": rounded(board.rate_ghs * 1000.0), "Accepted": accepted,
            "Rejected": snap["rejected"] // BOARDS if board.alive else 0,
            "Hardware Errors": snap["hw_errors"] // BOARDS if board.alive else 0,
            "Utility": rounded(accepted * 60.0 / elapsed), "Last Share Pool": 0,
            "Last Share Time": ctx.when if accepted else 0,
            "Total MH": rounded(board.rate_ghs * 1000.0 * elapsed, 0),
            "Diff1 Work": accepted * int(snap["share_difficulty"]),
            "Difficulty Accepted": float(accepted * snap["share_difficulty"]),
            "Difficulty Rejected": 0.0, "Last Share Difficulty": float(snap["share_difficulty"]),
            "Last Valid Work": ctx.when, "Device Hardware%": 0.0, "Device Rejected%": 0.0,
            "Device Elapsed": int(snap["elapsed_s"]),
        })
    return {
        "STATUS": [status(CODE_DEVS, f"{len(devs)} ASC(s)", ctx.when, ctx.description)],
        "DEVS": devs,
        "id": 1,
    }


def devdetails(ctx: Context) -> dict[str, Any]:
    details = [
        {"DEVDETAILS": b, "Name": "BTM_SOC0", "ID": b, "Driver": "bitmain", "Kernel": "", "Model": ctx.snap["model"],
         "Device Path": ""}
        for b in range(BOARDS)
    ]
    return {
        "STATUS": [status(CODE_DEVDETAILS, "Device Details", ctx.when, ctx.description)],
        "DEVDETAILS": details,
        "id": 1,
    }


def config(ctx: Context) -> dict[str, Any]:
    """What cgminer reports of its configuration; LuxOS adds its own fields (`luxos.config`)."""
    snap = ctx.snap
    conf: dict[str, Any] = {
        "ASC Count": BOARDS, "PGA Count": 0, "Pool Count": len(snap["pools"]), "Strategy": "Failover",
        "Log Interval": 5, "Device Code": "", "OS": "Linux", "Hotplug": "None",
    }
    return {
        "STATUS": [status(CODE_CONFIG, f"{'LUXminer' if ctx.luxos else 'CGMiner'} config",
                           ctx.when, ctx.description)],
        "CONFIG": [conf],
        "id": 1,
    }

