"""The JSON API on TCP 4028 of simulated miners: stock Antminer (bmminer), LuxOS, or Whatsminer.

`CgminerApi` turns a request's bytes into the bytes a unit answers, dispatching each command to
its firmware's command set (`stock`, `luxos`, `btminer`). Framing is in `cgminer_protocol`, the shared
sections in `cgminer_replies`, the sockets in `cgminer_server`. Shapes follow what pyasic 0.79
reads, field for field, so that pyasic cannot tell a simulated unit from a real one.
"""

from __future__ import annotations

import json
from typing import Any

from hcp.sim.asic import luxos, stock
from hcp.sim.asic.btminer import BtminerApi
from hcp.sim.asic.cgminer_protocol import (
    CODE_ACCESS_DENIED,
    CODE_INVALID_COMMAND,
    CODE_INVALID_JSON,
    CODE_MISSING_COMMAND,
    ApiError,
    as_parameter,
    encode,
    encode_plain,
    error,
    request_kind,
)
from hcp.sim.asic.cgminer_replies import LUXOS_DESCRIPTION, STOCK_DESCRIPTION, Context
from hcp.sim.asic.device import AsicFleet, Firmware


class CgminerApi:
    """Builds replies to CGMiner API requests for the units of a fleet (no networking here)."""

    def __init__(self, fleet: AsicFleet, *, session_ttl_s: float = luxos.SESSION_TTL_S) -> None:
        self.fleet = fleet
        self.session_ttl_s = session_ttl_s
        self._lux: dict[int, luxos.LuxState] = {}
        self.btminer = BtminerApi(fleet)

    def reply(self, index: int, request: bytes, *, now: float) -> bytes:
        """The bytes a unit sends back for one request, NUL-terminated as cgminer does."""
        kind = request_kind(request)
        if kind == "plain":
            return self._plain_reply(index, request.decode().strip(" \t\r\n\0"), now=now)
        if kind != "json":
            return encode(self._error(index, CODE_INVALID_JSON, "Invalid JSON", now))
        payload = json.loads(request.decode().strip(" \t\r\n\0"))
        if self._is_btminer(index):
            return encode(self.btminer.answer(index, payload, now=now))
        command = payload.get("command")
        if not isinstance(command, str) or not command.strip():
            return encode(self._error(index, CODE_MISSING_COMMAND, "Missing JSON 'command'", now))
        parameter = as_parameter(payload.get("parameter", ""))
        new_api = bool(payload.get("new_api"))
        return encode(self.answer(index, command.strip(), parameter, new_api=new_api, now=now))

    def error_reply(self, index: int, code: int, msg: str, *, now: float) -> bytes:
        return encode(self._error(index, code, msg, now))

    def answer(self, index: int, command: str, parameter: str = "", *, new_api: bool = False,
               now: float) -> dict[str, Any]:
        """The JSON object a unit answers for `command`, a "+"-joined multi-command included."""
        is_luxos = self._is_luxos(index)
        if "+" in command:
            read_only = luxos.READ_ONLY if is_luxos else stock.READ_ONLY
            out: dict[str, Any] = {}
            for name in [c for c in command.split("+") if c]:
                if name in read_only:
                    out[name] = [self._single(index, name, parameter, new_api=new_api, now=now)]
                elif name in self._known(is_luxos):
                    out[name] = [self._error(index, CODE_ACCESS_DENIED, f"Access denied to '{name}' command", now)]
                else:
                    out[name] = [self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)]
            out["id"] = 1
            return out
        return self._single(index, command, parameter, new_api=new_api, now=now)

    def _is_btminer(self, index: int) -> bool:
        return bool(self.fleet.firmware[index] == Firmware.BTMINER)

    def _is_luxos(self, index: int) -> bool:
        return bool(self.fleet.firmware[index] == Firmware.LUXOS)

    @staticmethod
    def _known(is_luxos: bool) -> frozenset[str]:
        if is_luxos:
            return luxos.READ_ONLY | luxos.PRIVILEGED | {"logon"}
        return stock.READ_ONLY | stock.PRIVILEGED

    def _single(self, index: int, command: str, parameter: str, *, new_api: bool, now: float) -> dict[str, Any]:
        snap = self.fleet.snapshot(index)
        try:
            if self._is_luxos(index):
                lux_command = luxos.COMMANDS.get(command)
                if lux_command is None:
                    return self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)
                lux = self._lux.setdefault(index, luxos.LuxState())
                return lux_command(luxos.LuxContext(
                    fleet=self.fleet, index=index, snap=snap, when=int(now), now=now, parameter=parameter,
                    new_api=new_api, lux=lux, session_ttl_s=self.session_ttl_s))
            stock_command = stock.COMMANDS.get(command)
            if stock_command is None:
                if command in stock.PRIVILEGED:
                    return self._error(index, CODE_ACCESS_DENIED, f"Access denied to '{command}' command", now)
                return self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)
            return stock_command(Context(fleet=self.fleet, index=index, snap=snap, when=int(now), now=now,
                                         parameter=parameter, new_api=new_api))
        except ApiError as e:
            return self._error(index, e.code, e.msg, now)

    def _error(self, index: int, code: int, msg: str, now: float) -> dict[str, Any]:
        return error(code, msg, int(now), LUXOS_DESCRIPTION if self._is_luxos(index) else STOCK_DESCRIPTION)

    def _plain_reply(self, index: int, text: str, *, now: float) -> bytes:
        """The plain-text form, "command|parameter". No multi-commands in this form."""
        command, _, parameter = text.partition("|")
        if self._is_btminer(index):
            return encode_plain(self.btminer.answer(index, {"command": command.strip()}, now=now))
        if "+" in command:
            reply = self._error(index, CODE_INVALID_COMMAND, "Invalid command", now)
        else:
            reply = self.answer(index, command.strip(), parameter.strip(), now=now)
        return encode_plain(reply)
