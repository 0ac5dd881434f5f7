"""The CGMiner API command set of LuxOS (LUXminer): the stock reads, plus sessions and control.

LuxOS answers the cgminer reads with its own identity, adds reads of its own (power, profiles,
fans, temps, ATM, limits...) and takes commands (curtail, profileset, atmset, ledset, fanset,
reboot) from the holder of a session (`logon`); a session ends after a minute unused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hcp.sim.asic import cgminer_replies as replies
from hcp.sim.asic.cgminer_protocol import CODE_VERSION, ApiError, status
from hcp.sim.asic.cgminer_replies import (
    LUXOS_API_VERSION,
    LUXOS_COMPILE_TIME,
    LUXOS_DESCRIPTION,
    LUXOS_VERSION,
    MODEL,
    Context,
    board_readings,
    rounded,
)
from hcp.sim.asic.device import (
    NOMINAL_FREQUENCY_MHZ,
    NOMINAL_HASHRATE_THS,
    POWER_MAX_W,
    POWER_MIN_W,
    curve,
    power_for_hashrate,
)
from hcp.sim.asic.stock import SHARED

SESSION_TTL_S = 60.0

READ_ONLY = frozenset({
    "version", "summary", "stats", "estats", "pools", "devs", "edevs", "devdetails", "config", "power",
    "profiles", "fans", "tempctrl", "groups", "atm", "session", "temps", "limits",
})
PRIVILEGED = frozenset({
    "curtail", "profileset", "atmset", "ledset", "fanset", "rebootdevice", "resetminer", "logoff",
})

# LuxOS builds profiles in 25 MHz steps around the board's nameplate frequency.
PROFILE_STEP_MHZ = 25.0


def luxos_profiles(power_target_w: float) -> list[dict[str, Any]]:
    """The S21's LuxOS profiles: 25 MHz steps around nameplate, plus the unit's own target if it
    sits between steps (set through the fleet API), so `config` always names a listed profile."""
    profiles = []
    step = -8
    while True:
        freq = NOMINAL_FREQUENCY_MHZ + step * PROFILE_STEP_MHZ
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
        "Hashrate": rounded(hashrate),
        "IsDynamic": step is None,
        "IsTuned": False,
        "Step": step if step is not None else 0,
        "Voltage": rounded(13.0 + (freq - NOMINAL_FREQUENCY_MHZ) * 0.006),
        "Watts": watts,
    }


def current_luxos_profile(power_target_w: float) -> str:
    for p in luxos_profiles(power_target_w):
        if p["Watts"] == round(power_target_w):
            return str(p["Profile Name"])
    return f"{round(power_target_w)}W"


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


# --- per-unit firmware state -----------------------------------------------------------------------
@dataclass
class Session:
    session_id: str
    expires_at: float


@dataclass
class LuxState:
    """Firmware settings that live in LuxOS itself rather than in the physics."""

    # Off by default: with ATM on, LuxOS would pick profiles itself, which is not simulated.
    atm_enabled: bool = False
    session: Session | None = None


@dataclass
class LuxContext(Context):
    """A request to a LuxOS unit: with the unit's firmware state and the session lifetime."""

    lux: LuxState = field(default_factory=LuxState)
    session_ttl_s: float = SESSION_TTL_S


# --- commands --------------------------------------------------------------------------------------
def config(ctx: LuxContext) -> dict[str, Any]:
    reply = replies.config(ctx)
    snap = ctx.snap
    sleeping = snap["mode"] == "sleeping"
    reply["CONFIG"][0].update({
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
    return reply


def _lux_status(ctx: LuxContext, code: int, msg: str) -> list[dict[str, Any]]:
    return [status(code, msg, ctx.when, LUXOS_DESCRIPTION)]


def version(ctx: LuxContext) -> dict[str, Any]:
    return {
        "STATUS": _lux_status(ctx, CODE_VERSION, "LUXminer versions"),
        "VERSION": [{"API": LUXOS_API_VERSION, "CompileTime": LUXOS_COMPILE_TIME, "LUXminer": LUXOS_VERSION,
                     "Miner": LUXOS_VERSION, "Type": MODEL}],
        "id": 1,
    }


def power(ctx: LuxContext) -> dict[str, Any]:
    return {"STATUS": _lux_status(ctx, 320, "Power"),
            "POWER": [{"PSU": True, "Watts": round(ctx.snap["power_w"])}], "id": 1}


def profiles(ctx: LuxContext) -> dict[str, Any]:
    return {"STATUS": _lux_status(ctx, 327, "Profiles"),
            "PROFILES": luxos_profiles(ctx.snap["power_target_w"]), "id": 1}


def fans(ctx: LuxContext) -> dict[str, Any]:
    snap = ctx.snap
    manual = snap["fan_manual_pct"]
    fans = [
        {"ID": n, "RPM": round(rpm), "Speed": round(manual if manual is not None else 100 * rpm / 6600)}
        for n, rpm in enumerate(snap["fan_rpm"])
    ]
    return {
        "STATUS": _lux_status(ctx, 202, f"{len(fans)} Fan(s)"),
        "FANCTRL": [{"Mode": "Manual" if manual is not None else "Auto", "MinFans": len(fans),
                     "PowerOffSpeed": 0, "Speed": round(manual) if manual is not None else -1}],
        "FANS": fans,
        "id": 1,
    }


def tempctrl(ctx: LuxContext) -> dict[str, Any]:
    manual = ctx.snap["fan_manual_pct"] is not None
    return {"STATUS": _lux_status(ctx, 203, "Temperature control"),
            "TEMPCTRL": [{"Mode": "Manual" if manual else "Automatic", "Target": 75, "Hot": 90,
                          "Dangerous": 100}], "id": 1}


def temps(ctx: LuxContext) -> dict[str, Any]:
    temps = []
    for b, board in enumerate(board_readings(ctx.snap)):
        temps.append({"ID": b, "Board": round(sum(board.pcb) / 4), "Chip": round(sum(board.chip) / 4),
                      "TopLeft": board.pcb[0], "TopRight": board.pcb[1], "BottomLeft": board.pcb[2],
                      "BottomRight": board.pcb[3]})
    return {"STATUS": _lux_status(ctx, 201, f"{len(temps)} Temp(s)"), "TEMPS": temps, "id": 1}


def groups(ctx: LuxContext) -> dict[str, Any]:
    pools = ctx.snap["pools"]
    return {"STATUS": _lux_status(ctx, 328, "1 Group(s)"),
            "GROUPS": [{"GROUP": 0, "Name": "Default", "Quota": 1, "Pools": len(pools), "Strategy": "Failover"}],
            "id": 1}


def atm(ctx: LuxContext) -> dict[str, Any]:
    profiles = luxos_profiles(ctx.snap["power_target_w"])
    return {"STATUS": _lux_status(ctx, 339, "ATM configuration values"),
            "ATM": [{"Enabled": ctx.lux.atm_enabled, "MaxProfile": profiles[-1]["Profile Name"],
                     "MinProfile": profiles[0]["Profile Name"], "PostRampMinutes": 15, "StartupMinutes": 15,
                     "TempWindow": 7}], "id": 1}


def limits(ctx: LuxContext) -> dict[str, Any]:
    return {"STATUS": _lux_status(ctx, 346, "Limits"),
            "LIMITS": [{"MinPowerW": int(POWER_MIN_W), "MaxPowerW": int(POWER_MAX_W)}], "id": 1}


def _active_session(ctx: LuxContext) -> Session | None:
    session = ctx.lux.session
    if session is not None and session.expires_at <= ctx.now:
        ctx.lux.session = session = None
    return session


def session(ctx: LuxContext) -> dict[str, Any]:
    session = _active_session(ctx)
    return {"STATUS": _lux_status(ctx, 317, "Session"),
            "SESSION": [{"SessionID": session.session_id if session else ""}], "id": 1}


def logon(ctx: LuxContext) -> dict[str, Any]:
    if _active_session(ctx) is not None:
        raise ApiError(310, "Another session is active")
    ctx.lux.session = Session(secrets.token_hex(4), ctx.now + ctx.session_ttl_s)
    return {"STATUS": _lux_status(ctx, 316, "Session created"),
            "SESSION": [{"SessionID": ctx.lux.session.session_id}], "id": 1}


def _privileged(ctx: LuxContext) -> list[str]:
    """Check the session id (first parameter) and refresh it; the remaining parameters."""
    parts = [p.strip() for p in ctx.parameter.split(",")] if ctx.parameter else []
    session = _active_session(ctx)
    if not parts or session is None or parts[0] != session.session_id:
        raise ApiError(314, "Invalid session id")
    session.expires_at = ctx.now + ctx.session_ttl_s
    return parts[1:]


def logoff(ctx: LuxContext) -> dict[str, Any]:
    _privileged(ctx)
    ctx.lux.session = None
    return {"STATUS": _lux_status(ctx, 318, "Session closed"), "id": 1}


def curtail(ctx: LuxContext) -> dict[str, Any]:
    args = _privileged(ctx)
    action = args[0].lower() if args else ""
    if action == "sleep":
        ctx.fleet.sleep(ctx.index)
    elif action == "wakeup":
        ctx.fleet.resume(ctx.index)
    else:
        raise ApiError(345, "Invalid curtail mode: expected sleep or wakeup")
    return {"STATUS": _lux_status(ctx, 344, f"Curtail {action}"), "id": 1}


def profileset(ctx: LuxContext) -> dict[str, Any]:
    args = _privileged(ctx)
    # Legacy form "session,board,profile": a board id 0-3 before the profile name.
    if len(args) >= 2 and args[0].isdigit() and int(args[0]) <= 3:
        args = args[1:]
    if not args or not args[0]:
        raise ApiError(322, "Missing profile name")
    profiles = luxos_profiles(ctx.snap["power_target_w"])
    chosen = _select_profile(profiles, args[0])
    if chosen is None:
        raise ApiError(322, f"Profile not found: {args[0]}")
    ctx.fleet.set_power_target(ctx.index, chosen["Watts"])
    return {"STATUS": _lux_status(ctx, 321, "Profile Set"),
            "PROFILE": [{"Board": 0, "FrequencyStep": 5, "Profile": chosen["Profile Name"], "VoltageStep": 0.05}],
            "id": 1}


def atmset(ctx: LuxContext) -> dict[str, Any]:
    for arg in _privileged(ctx):
        key, _, value = arg.partition("=")
        if key.strip() == "enabled":
            ctx.lux.atm_enabled = value.strip().lower() == "true"
    return {"STATUS": _lux_status(ctx, 340, "Advanced Thermal Management configuration updated"), "id": 1}


def ledset(ctx: LuxContext) -> dict[str, Any]:
    args = _privileged(ctx)
    if len(args) < 2 or args[0] not in ("red", "green") or args[1] not in ("on", "off", "blink"):
        raise ApiError(336, "Invalid LED parameters: expected red|green,on|off|blink")
    if args[0] == "red":
        ctx.fleet.set_fault_light(ctx.index, args[1] != "off")
    return {"STATUS": _lux_status(ctx, 335, "LED set"), "id": 1}


def fanset(ctx: LuxContext) -> dict[str, Any]:
    for arg in _privileged(ctx):
        key, _, value = arg.partition("=")
        if key.strip() == "speed":
            try:
                speed = int(value)
            except ValueError:
                raise ApiError(204, "Invalid fan speed") from None
            ctx.fleet.set_fan_mode(ctx.index, None if speed < 0 else speed)
    return {"STATUS": _lux_status(ctx, 205, "Fan control updated"), "id": 1}


def rebootdevice(ctx: LuxContext) -> dict[str, Any]:
    _privileged(ctx)
    ctx.fleet.reboot(ctx.index)
    return {"STATUS": _lux_status(ctx, 331, "Rebooting device"), "id": 1}


def resetminer(ctx: LuxContext) -> dict[str, Any]:
    _privileged(ctx)
    ctx.fleet.restart(ctx.index)
    return {"STATUS": _lux_status(ctx, 332, "Resetting miner"), "id": 1}


Command = Callable[[LuxContext], dict[str, Any]]
COMMANDS: dict[str, Command] = {
    **SHARED,
    "config": config, "version": version, "power": power, "profiles": profiles, "fans": fans,
    "tempctrl": tempctrl, "temps": temps, "groups": groups, "atm": atm, "limits": limits,
    "session": session, "logon": logon, "logoff": logoff, "curtail": curtail, "profileset": profileset,
    "atmset": atmset, "ledset": ledset, "fanset": fanset, "rebootdevice": rebootdevice,
    "resetminer": resetminer,
}
