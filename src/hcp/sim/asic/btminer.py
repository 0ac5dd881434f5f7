"""The Whatsminer API (btminer, API 2.0.x) of simulated MicroBT miners, on TCP 4028.

Reads are cgminer-style JSON ("summary", "devs", "pools", "devdetails") plus btminer's own
"get_*" and "status" replies, shaped as pyasic 0.79's BTMiner backend reads them. Writes are
btminer's privileged API: the client asks `get_token` (salt, newsalt, time), derives an AES key
and a signature from the admin password with MD5-crypt, and sends `{"enc": 1, "data": ...}`, the
command AES-256-ECB encrypted; the answer comes back encrypted the same way. A bad signature gets
"check token err", as on a real unit. (AES comes from `cryptography`, which pyasic requires.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hcp.sim.asic.cgminer_protocol import (
    CODE_DEVDETAILS,
    CODE_DEVS,
    CODE_POOLS,
    CODE_SUMMARY,
    CODE_VERSION,
)
from hcp.sim.asic.cgminer_replies import pool_entries, rounded
from hcp.sim.asic.device import BOARDS, AsicFleet

DESCRIPTION = "btminer"
API_VERSION = "2.0.5"
# A firmware date before 2024-11: pyasic picks its API v2 backend (v3 speaks JSON on 4433).
FIRMWARE_VERSION = "20230911.12.Rel"
DEFAULT_PASSWORD = "admin"
TOKEN_TTL_S = 30 * 60.0
TOKENS_KEPT = 8
CODE_OK = 131
CODE_TOKEN = 134
CODE_TOKEN_ERROR = 135
CODE_INVALID = 14
OK_MSG = "API command OK"

READ_ONLY = frozenset({"summary", "devs", "edevs", "pools", "devdetails", "version"})
GET = frozenset({"get_version", "get_miner_info", "status", "get_psu", "get_error_code", "get_token"})

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def md5_crypt(password: str, salt: str) -> str:
    """FreeBSD MD5-crypt ("$1$salt$hash"), as btminer's token scheme uses it."""
    pw, sl = password.encode(), salt.encode()[:8]
    final = hashlib.md5(pw + sl + pw).digest()
    ctx = pw + b"$1$" + sl
    for left in range(len(pw), 0, -16):
        ctx += final[:min(16, left)]
    i = len(pw)
    while i:
        ctx += b"\0" if i & 1 else pw[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    for r in range(1000):
        step = pw if r & 1 else final
        if r % 3:
            step += sl
        if r % 7:
            step += pw
        step += final if r & 1 else pw
        final = hashlib.md5(step).digest()

    def to64(value: int, count: int) -> str:
        out = ""
        for _ in range(count):
            out += _ITOA64[value & 0x3F]
            value >>= 6
        return out

    encoded = "".join(to64(final[a] << 16 | final[b] << 8 | final[c], 4)
                      for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)))
    encoded += to64(final[11], 2)
    return f"$1${sl.decode()}${encoded}"


def _cipher(passwd_md5: str) -> Cipher[modes.ECB]:
    key = binascii.unhexlify(hashlib.sha256(passwd_md5.encode()).hexdigest())
    return Cipher(algorithms.AES(key), modes.ECB())


def encrypt(passwd_md5: str, value: dict[str, Any]) -> str:
    text = json.dumps(value).encode()
    text += b"\0" * (-len(text) % 16)
    enc = _cipher(passwd_md5).encryptor()
    return base64.b64encode(enc.update(text) + enc.finalize()).decode()


def decrypt(passwd_md5: str, data: str) -> dict[str, Any]:
    raw = base64.b64decode(data)
    if not raw or len(raw) % 16:
        raise ValueError("not whole AES blocks")
    dec = _cipher(passwd_md5).decryptor()
    value = json.loads((dec.update(raw) + dec.finalize()).rstrip(b"\0").decode())
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _status(code: int, msg: str, when: int) -> dict[str, Any]:
    return {"STATUS": [{"STATUS": "S", "When": when, "Code": code, "Msg": msg, "Description": DESCRIPTION}],
            "id": 1}


def flat(when: int, msg: Any, code: int = CODE_OK, status: str = "S") -> dict[str, Any]:
    """btminer's own reply shape: STATUS as a string, the answer in Msg."""
    return {"STATUS": status, "When": when, "Code": code, "Msg": msg, "Description": ""}


def error_codes(snap: dict[str, Any]) -> list[int]:
    """The unit's faults as Whatsminer error codes (pyasic names each: "Slot 1 not found" ...)."""
    codes = []
    if snap["failed_fan"] >= 0:
        codes.append(110 if snap["failed_fan"] < 2 else 111)  # intake / exhaust fan speed error
    if snap["dead_board"] >= 0:
        codes.append(530 + snap["dead_board"])  # slot n not found
    if max(snap["chip_temp_c"]) > 95.0:
        codes.append(360)  # hashboard high temperature
    if not snap["pool_alive"]:
        codes.append(2020)  # pool 0 connection failed
    return codes


def _fans(snap: dict[str, Any]) -> tuple[int, int]:
    # Two fans, intake and exhaust; the physics' four are two pairs.
    rpm = snap["fan_rpm"]
    return round(min(rpm[0], rpm[1])), round(min(rpm[2], rpm[3]))


def summary(snap: dict[str, Any], when: int) -> dict[str, Any]:
    mhs = rounded(snap["hashrate_ths"] * 1e6)
    fan_in, fan_out = _fans(snap)
    chips = snap["chip_temp_c"]
    accepted, rejected = snap["accepted"], snap["rejected"]
    body: dict[str, Any] = {
        "Elapsed": int(snap["elapsed_s"]), "MHS av": mhs, "MHS 5s": mhs, "MHS 1m": mhs, "MHS 5m": mhs,
        "MHS 15m": mhs, "HS RT": mhs, "Accepted": accepted, "Rejected": rejected,
        "Total MH": rounded(snap["hashrate_ths"] * 1e6 * max(snap["elapsed_s"], 1.0), 0),
        "Temperature": rounded(sum(snap["board_temp_c"]) / BOARDS),
        "freq_avg": round(snap["frequency_mhz"]), "Fan Speed In": fan_in, "Fan Speed Out": fan_out,
        "Power": round(snap["power_w"]), "Power Rate": rounded(snap["power_w"] / max(snap["hashrate_ths"], 1e-9)),
        "Pool Rejected%": rounded(100.0 * rejected / max(accepted + rejected, 1), 4), "Pool Stale%": 0.0,
        "Uptime": int(snap["elapsed_s"]), "Hash Stable": snap["ramp"] >= 1.0,
        "Target Freq": round(snap["frequency_mhz"]), "Target MHS": rounded(snap["ideal_hashrate_ths"] * 1e6),
        "Env Temp": rounded(snap["ambient_c"]), "Power Mode": "Normal", "Factory Error Code": 0,
        "Security Mode": 0, "Liquid Cooling": False, "Hash Percent": 100, "Sm0 Temp": rounded(max(chips)),
        "Power Fanspeed": 6000 if snap["power_w"] > 100 else 0,
        # Errors are get_error_code's (pyasic reads both places and would list each twice).
        "Error Code Count": 0, "Factory GHS": round(snap["nominal_hashrate_ths"] * 1000.0),
        "Power Limit": round(snap["power_target_w"]), "Chip Temp Min": rounded(min(chips)),
        "Chip Temp Max": rounded(max(chips)), "Chip Temp Avg": rounded(sum(chips) / BOARDS),
        "Btminer Fast Boot": "disable", "Upfreq Complete": 1,
    }
    return {**_status(CODE_SUMMARY, "Summary", when), "SUMMARY": [body]}


def devs(snap: dict[str, Any], when: int) -> dict[str, Any]:
    rows = []
    for b in range(BOARDS):
        if snap["dead_board"] == b:
            continue  # a lost hash board is not listed
        mhs = rounded(snap["board_hashrate_ths"][b] * 1e6)
        chip = snap["chip_temp_c"][b]
        rows.append({
            "ASC": b, "Slot": b, "Enabled": "Y", "Status": "Alive", "Temperature": rounded(snap["board_temp_c"][b]),
            "Chip Frequency": round(snap["frequency_mhz"]), "MHS av": mhs, "MHS 5s": mhs, "MHS 1m": mhs,
            "MHS 5m": mhs, "MHS 15m": mhs, "HS RT": mhs, "Accepted": snap["accepted"] // BOARDS,
            "Rejected": snap["rejected"] // BOARDS, "Last Valid Work": when, "Upfreq Complete": 1,
            "Effective Chips": snap["chips_per_board"], "PCB SN": snap["board_serials"][b],
            "Chip Temp Min": rounded(chip - 4.0), "Chip Temp Max": rounded(chip + 3.0), "Chip Temp Avg": rounded(chip),
            "chip_vol_diff": 6,
        })
    return {**_status(CODE_DEVS, f"{len(rows)} ASC(s)", when), "DEVS": rows}


def pools(snap: dict[str, Any], when: int) -> dict[str, Any]:
    rows = [{
        "POOL": p["index"], "URL": p["url"], "Status": "Alive" if p["alive"] else "Dead",
        "Priority": p["index"], "Quota": 1, "Getworks": p["getworks"], "Accepted": p["accepted"],
        "Rejected": p["rejected"], "Works": p["accepted"], "Discarded": 0, "Stale": 0,
        "Get Failures": 0 if p["alive"] else 1, "Remote Failures": 0, "User": p["user"],
        "Last Share Time": when - 1 if p["active"] and p["accepted"] else 0, "Stratum Active": p["active"],
        "Stratum Difficulty": p["diff"], "Pool Rejected%": 0.0, "Pool Stale%": 0.0, "Bad Work": 0,
        "Current Block Height": 0, "Current Block Version": 536870916,
    } for p in pool_entries(snap)]
    return {**_status(CODE_POOLS, f"{len(rows)} Pool(s)", when), "POOLS": rows}


def devdetails(snap: dict[str, Any], when: int) -> dict[str, Any]:
    rows = [{"DEVDETAILS": b, "Name": "SM", "ID": b, "Driver": "bitmicro", "Kernel": "", "Model": snap["model"]}
            for b in range(BOARDS) if snap["dead_board"] != b]
    return {**_status(CODE_DEVDETAILS, "Device Details", when), "DEVDETAILS": rows}


def version(snap: dict[str, Any], when: int) -> dict[str, Any]:
    return {**_status(CODE_VERSION, "CGMiner versions", when),
            "VERSION": [{"CGMiner": "4.9.2", "API": "3.7"}]}


@dataclass
class BtminerState:
    """What btminer keeps per unit beside the physics: the tokens it has handed out."""

    tokens: dict[str, float] = field(default_factory=dict)  # host_sign -> expiry (clock seconds)


@dataclass
class Request:
    fleet: AsicFleet
    index: int
    snap: dict[str, Any]
    when: int
    now: float
    parameters: dict[str, Any]


Command = Callable[[Request], dict[str, Any]]


def _power_off(r: Request) -> dict[str, Any]:
    r.fleet.sleep(r.index)
    return flat(r.when, OK_MSG)


def _power_on(r: Request) -> dict[str, Any]:
    r.fleet.resume(r.index)
    return flat(r.when, OK_MSG)


def _adjust_power_limit(r: Request) -> dict[str, Any]:
    try:
        watts = float(r.parameters.get("power_limit", ""))
    except (TypeError, ValueError):
        return flat(r.when, "invalid power_limit", CODE_INVALID, "E")
    r.fleet.set_power_target(r.index, watts)
    return flat(r.when, OK_MSG)


def _set_led(r: Request) -> dict[str, Any]:
    r.fleet.set_fault_light(r.index, str(r.parameters.get("param", "auto")) != "auto")
    return flat(r.when, OK_MSG)


def _reboot(r: Request) -> dict[str, Any]:
    r.fleet.reboot(r.index)
    return flat(r.when, OK_MSG)


def _restart(r: Request) -> dict[str, Any]:
    r.fleet.restart(r.index)
    return flat(r.when, OK_MSG)


PRIVILEGED: dict[str, Command] = {
    "power_off": _power_off, "power_on": _power_on, "adjust_power_limit": _adjust_power_limit,
    "set_led": _set_led, "reboot": _reboot, "restart_btminer": _restart,
}


class BtminerApi:
    """Answers the Whatsminer API for the btminer units of a fleet (no networking here)."""

    def __init__(self, fleet: AsicFleet, *, password: str = DEFAULT_PASSWORD, token_ttl_s: float = TOKEN_TTL_S) -> None:
        self.fleet = fleet
        self.password = password
        self.token_ttl_s = token_ttl_s
        self._state: dict[int, BtminerState] = {}

    def salt(self, index: int) -> str:
        """The unit's fixed salt: its admin password's MD5-crypt (the AES key) never changes."""
        digest = hashlib.blake2b(f"salt:{self.fleet.seed}:{index}".encode(), digest_size=8).digest()
        return "".join(_ITOA64[b % 64] for b in digest)

    def passwd_md5(self, index: int) -> str:
        return md5_crypt(self.password, self.salt(index)).split("$")[3]

    def answer(self, index: int, payload: dict[str, Any], *, now: float) -> dict[str, Any]:
        when = int(now)
        if "enc" in payload:
            return self._privileged(index, payload, now=now)
        command = str(payload.get("command") or payload.get("cmd") or "").strip()
        if not command:
            return flat(when, "missing command", CODE_INVALID, "E")
        if "+" in command:
            out: dict[str, Any] = {}
            for name in [c for c in command.split("+") if c]:
                out[name] = [self._read(index, name, now=now)]
            out["id"] = 1
            return out
        return self._read(index, command, now=now)

    def _read(self, index: int, command: str, *, now: float) -> dict[str, Any]:
        when = int(now)
        snap = self.fleet.snapshot(index)
        if command in ("summary",):
            return summary(snap, when)
        if command in ("devs", "edevs"):
            return devs(snap, when)
        if command == "pools":
            return pools(snap, when)
        if command == "devdetails":
            return devdetails(snap, when)
        if command == "version":
            return version(snap, when)
        if command == "get_version":
            return flat(when, {"api_ver": API_VERSION, "fw_ver": FIRMWARE_VERSION, "platform": "H616",
                               "chip": "K210"})
        if command == "get_miner_info":
            return flat(when, {"ip": "", "proto": "dhcp", "netmask": "255.255.255.0", "gateway": "", "dns": "",
                               "hostname": snap["hostname"], "mac": snap["mac"],
                               "ledstat": "manual" if snap["fault_light"] else "auto",
                               "minersn": snap["serial_number"]})
        if command == "status":
            off = snap["mode"] == "sleeping"
            return flat(when, {"mineroff": "true" if off else "false", "mineroff_reason": "", "mineroff_time": "",
                               "FirmwareVersion": f"'{FIRMWARE_VERSION}'", "power_mode": "", "hash_percent": ""})
        if command == "get_psu":
            return flat(when, {"name": "P221B", "hw_version": "V01.00", "sw_version": "V01.00.V01.03",
                               "model": "P221B", "iin": str(round(snap["power_w"] / 2.3)),
                               "vin": "230", "fan_speed": "6000" if snap["power_w"] > 100 else "0"})
        if command == "get_error_code":
            return flat(when, {"error_code": [{str(c): ""} for c in error_codes(snap)]})
        if command == "get_token":
            return self._token(index, now=now)
        return flat(when, "invalid cmd", CODE_INVALID, "E")

    def _token(self, index: int, *, now: float) -> dict[str, Any]:
        newsalt = "".join(secrets.choice(_ITOA64[2:]) for _ in range(8))
        stamp = f"{int(now) % 10_000:04d}"
        sign = md5_crypt(self.passwd_md5(index) + stamp, newsalt).split("$")[3]
        state = self._state.setdefault(index, BtminerState())
        state.tokens = {s: t for s, t in state.tokens.items() if t > now}
        state.tokens[sign] = now + self.token_ttl_s
        while len(state.tokens) > TOKENS_KEPT:
            state.tokens.pop(next(iter(state.tokens)))
        return flat(int(now), {"time": stamp, "salt": self.salt(index), "newsalt": newsalt}, CODE_TOKEN)

    def _privileged(self, index: int, payload: dict[str, Any], *, now: float) -> dict[str, Any]:
        when = int(now)
        key = self.passwd_md5(index)
        try:
            command = decrypt(key, str(payload.get("data", "")))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            return flat(when, "check token err", CODE_TOKEN_ERROR, "E")
        state = self._state.get(index)
        sign = str(command.get("token", ""))
        if state is None or state.tokens.get(sign, float("-inf")) <= now:
            return flat(when, "check token err", CODE_TOKEN_ERROR, "E")
        name = str(command.get("cmd", ""))
        handler = PRIVILEGED.get(name)
        if handler is None:
            reply = flat(when, "invalid cmd", CODE_INVALID, "E")
        else:
            parameters = {k: v for k, v in command.items() if k not in ("cmd", "token")}
            try:
                reply = handler(Request(self.fleet, index, self.fleet.snapshot(index), when, now, parameters))
            except ValueError as exc:
                reply = flat(when, str(exc), CODE_INVALID, "E")
        return {"enc": encrypt(key, reply)}
