"""The web interface (port 80) of simulated miners: stock Antminer CGI with digest auth, LuxOS,
or a Whatsminer's LuCI front page (its API on 4028 is all that HCP and pyasic use of it).

pyasic identifies a stock Antminer by the 401 realm "antMiner Configuration", then reads and
writes it through /cgi-bin/*.cgi with digest root/root (system info, errors, work mode, blink).
LuxOS units serve only the page pyasic recognises as "Luxor Firmware". A small HTTP/1.1 server
on asyncio streams, one request per connection, is all that needs: no web framework.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hcp.core.clock import Clock
from hcp.sim.asic.cgminer_replies import (
    STOCK_COMPILE_TIME,
    new_api_pools,
    new_api_stats,
    new_api_summary,
)
from hcp.sim.asic.device import AsicFleet, Firmware
from hcp.sim.asic.listeners import MinerListeners

log = logging.getLogger(__name__)

REALM = "antMiner Configuration"
USERNAME = "root"
PASSWORD = "root"
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
    411: "Length Required", 413: "Payload Too Large", 431: "Request Header Fields Too Large",
}
_DIGEST_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')

_STOCK_INDEX = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{model}</title></head>"
    "<body><h1>{model}</h1><p>Miner configuration: <a href=\"/cgi-bin/get_miner_conf.cgi\">"
    "get_miner_conf</a></p></body></html>"
)
_WHATSMINER_INDEX = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>WhatsMiner</title></head>"
    "<body><p>Log in at <a href=\"/cgi-bin/luci\">/cgi-bin/luci</a></p></body></html>"
)
_LUXOS_INDEX = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Luxor Firmware</title></head>"
    "<body><div id=\"app\">Luxor Firmware (LuxOS) - Antminer S21</div></body></html>"
)
_NOT_FOUND = "<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>"
_UNAUTHORIZED = (
    "<html><head><title>401 - Unauthorized</title></head><body><h1>401 - Unauthorized</h1></body></html>"
)


@dataclass
class HttpRequest:
    method: str
    target: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: Any) -> HttpResponse:
        return cls(200, json.dumps(value, separators=(",", ":")).encode())

    @classmethod
    def html(cls, status: int, text: str) -> HttpResponse:
        return cls(status, text.encode(), "text/html")

    def encode(self) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Error')}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            "Server: lighttpd/1.4.55",
            *(f"{k}: {v}" for k, v in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class _HttpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class MinerWebServer(MinerListeners):
    """Port 80 of many simulated miners: one listening socket per miner address."""

    def __init__(self, fleet: AsicFleet, *, clock: Clock | None = None, request_timeout_s: float = 3.0) -> None:
        super().__init__(fleet, clock=clock, request_timeout_s=request_timeout_s)
        # Nonces are an HMAC of a counter: verifiable without keeping a table of issued ones.
        self._nonce_key = secrets.token_bytes(16)
        self._nonce_counter = 0

    async def serve_connection(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        malformed = False
        try:
            request = await asyncio.wait_for(_read_request(reader), self.request_timeout_s)
        except _HttpError as e:
            response = HttpResponse.html(e.status, f"<html><body><h1>{e.status}</h1></body></html>")
            malformed = True
        except TimeoutError:
            return
        else:
            if request is None:
                return
            response = self.respond(index, request)
        writer.write(response.encode())
        await asyncio.wait_for(writer.drain(), self.request_timeout_s)
        if malformed:
            # The rest of a malformed request may still be arriving: let it, then hang up.
            if writer.can_write_eof():
                writer.write_eof()
            await self.discard_input(reader)

    def respond(self, index: int, request: HttpRequest) -> HttpResponse:
        """The response of unit `index` to one request (no networking here)."""
        if self.fleet.firmware[index] == Firmware.BTMINER:
            if request.method in ("GET", "HEAD") and request.path in ("/", "/index.html"):
                return HttpResponse.html(200, _WHATSMINER_INDEX)
            return HttpResponse.html(404, _NOT_FOUND)
        if self.fleet.firmware[index] == Firmware.LUXOS:
            if request.method not in ("GET", "HEAD"):
                return HttpResponse.html(405, "<html><body><h1>405</h1></body></html>")
            if request.path in ("/", "/index.html"):
                return HttpResponse.html(200, _LUXOS_INDEX)
            return HttpResponse.html(404, _NOT_FOUND)
        if not self._authorized(request):
            return HttpResponse(
                401, _UNAUTHORIZED.encode(), "text/html",
                (("WWW-Authenticate", self._challenge()),),
            )
        if request.path in ("/", "/index.html"):
            return HttpResponse.html(200, _STOCK_INDEX.format(model=self.fleet.model(index).name))
        match = re.fullmatch(r"/cgi-bin/([a-z_]+)\.cgi", request.path)
        handler = _CGI.get(match.group(1)) if match else None
        if handler is None:
            # Includes /kaonsu/v1/brief: anything but JSON there, or pyasic takes us for MARA firmware.
            return HttpResponse.html(404, _NOT_FOUND)
        if request.method not in ("GET", "POST"):
            return HttpResponse.html(405, "<html><body><h1>405</h1></body></html>")
        return handler(self, index, request)

    # --- digest authentication (RFC 7616, MD5 with qop=auth, as lighttpd on the control board) -----
    def _challenge(self) -> str:
        self._nonce_counter += 1
        counter = f"{self._nonce_counter:x}"
        mac = hmac.new(self._nonce_key, counter.encode(), hashlib.sha256).hexdigest()[:24]
        return f'Digest realm="{REALM}", charset="UTF-8", nonce="{counter}.{mac}", qop="auth", algorithm="MD5"'

    def _nonce_ok(self, nonce: str) -> bool:
        counter, _, mac = nonce.partition(".")
        expected = hmac.new(self._nonce_key, counter.encode(), hashlib.sha256).hexdigest()[:24]
        return hmac.compare_digest(mac, expected)

    def _authorized(self, request: HttpRequest) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            return False
        params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                  for m in _DIGEST_PARAM.finditer(rest)}
        required = ("username", "realm", "nonce", "uri", "response")
        if any(k not in params for k in required) or params["username"] != USERNAME or params["realm"] != REALM:
            return False
        if not self._nonce_ok(params["nonce"]):
            return False
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in ("MD5", "MD5-SESS"):
            return False
        ha1 = _md5(f"{USERNAME}:{REALM}:{PASSWORD}")
        if algorithm == "MD5-SESS":
            ha1 = _md5(f"{ha1}:{params['nonce']}:{params.get('cnonce', '')}")
        ha2 = _md5(f"{request.method}:{params['uri']}")
        if params.get("qop"):
            expected = _md5(f"{ha1}:{params['nonce']}:{params.get('nc', '')}:{params.get('cnonce', '')}:"
                            f"{params['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
        return hmac.compare_digest(expected, params["response"].lower())

    # --- CGI endpoints ------------------------------------------------------------------------------
    def _host(self, index: int) -> str:
        return self.address(index)[0] if index in self._addresses else ""

    def get_system_info(self, index: int, request: HttpRequest) -> HttpResponse:
        snap = self.fleet.snapshot(index)
        return HttpResponse.json({
            "minertype": snap["model"],
            "nettype": "DHCP",
            "netdevice": "eth0",
            "macaddr": snap["mac"],
            "hostname": snap["hostname"],
            "ipaddress": self._host(index),
            "netmask": "255.255.255.0",
            "gateway": "",
            "dnsservers": "",
            "system_mode": "GNU/Linux",
            "system_kernel_version": "Linux 4.9.113 #1 SMP PREEMPT Thu Nov 30 17:31:08 CST 2023",
            "system_filesystem_version": STOCK_COMPILE_TIME,
            "firmware_type": "Release",
            "Algorithm": "SHA256",
            "serinum": snap["serial_number"],
        })

    def get_network_info(self, index: int, request: HttpRequest) -> HttpResponse:
        snap = self.fleet.snapshot(index)
        return HttpResponse.json({
            "nettype": "DHCP", "netdevice": "eth0", "macaddr": snap["mac"], "ipaddress": self._host(index),
            "netmask": "255.255.255.0", "conf_nettype": "DHCP", "conf_hostname": snap["hostname"],
            "conf_ipaddress": "", "conf_netmask": "", "conf_gateway": "", "conf_dnsservers": "",
        })

    def set_network_conf(self, index: int, request: HttpRequest) -> HttpResponse:
        form = _form(request)
        hostname = str(form.get("ipHost") or form.get("conf_hostname") or "")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", hostname):
            return HttpResponse.json({"stats": "error", "code": "N001", "msg": "Hostname invalid!"})
        self.fleet.set_hostname(index, hostname)
        return HttpResponse.json({"stats": "success", "code": "N000", "msg": "OK!"})

    def get_miner_conf(self, index: int, request: HttpRequest) -> HttpResponse:
        snap = self.fleet.snapshot(index)
        pools = [{"url": p["url"], "user": p["user"], "pass": "x"} for p in snap["pools"][:3]]
        pools += [{"url": "", "user": "", "pass": ""}] * (3 - len(pools))
        manual = snap["fan_manual_pct"]
        return HttpResponse.json({
            "pools": pools,
            "api-listen": True,
            "api-network": True,
            "api-groups": "A:stats:pools:devs:summary:version",
            "api-allow": "A:0/0,W:*",
            "bitmain-fan-ctrl": manual is not None,
            "bitmain-fan-pwm": str(round(manual)) if manual is not None else "100",
            "bitmain-use-vil": True,
            "bitmain-freq": "",
            "bitmain-voltage": "1500",
            "bitmain-ccdelay": "0",
            "bitmain-pwth": "0",
            "bitmain-work-mode": str(snap["work_mode"]),
            "bitmain-freq-level": "100",
            "bitmain-hashrate-percent": "100",
        })

    def set_miner_conf(self, index: int, request: HttpRequest) -> HttpResponse:
        conf = _form(request)
        error = HttpResponse.json({"stats": "error", "code": "M001", "msg": "Invalid configuration"})
        # pyasic sends "miner-mode"; the web UI sends "bitmain-work-mode".
        mode = conf.get("miner-mode", conf.get("bitmain-work-mode"))
        if mode is not None and mode != "":
            try:
                self.fleet.set_work_mode(index, int(mode))
            except ValueError:
                return error
        if "bitmain-fan-ctrl" in conf:
            if _truthy(conf["bitmain-fan-ctrl"]):
                try:
                    pwm = float(conf.get("bitmain-fan-pwm", 100))
                except (TypeError, ValueError):
                    return error
                self.fleet.set_fan_mode(index, pwm)
            else:
                self.fleet.set_fan_mode(index, None)
        pools = conf.get("pools")
        if isinstance(pools, list):
            pairs = [(str(p.get("url", "")), str(p.get("user", ""))) for p in pools if isinstance(p, dict)]
            if any(url for url, _ in pairs):
                self.fleet.set_pools(index, pairs)
        return HttpResponse.json({"stats": "success", "code": "M000", "msg": "OK!"})

    def summary(self, index: int, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(new_api_summary(self.fleet.snapshot(index), int(self.now())))

    def stats(self, index: int, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(new_api_stats(self.fleet.snapshot(index), int(self.now())))

    def pools(self, index: int, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(new_api_pools(self.fleet.snapshot(index), int(self.now())))

    def get_blink_status(self, index: int, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json({"blink": bool(self.fleet.fault_light[index])})

    def blink(self, index: int, request: HttpRequest) -> HttpResponse:
        on = _truthy(_form(request).get("blink", False))
        self.fleet.set_fault_light(index, on)
        # pyasic checks these codes: B000 blinking, B100 stopped.
        return HttpResponse.json({"code": "B000" if on else "B100"})

    def reboot(self, index: int, request: HttpRequest) -> HttpResponse:
        # The connection in hand survives the listener closing; the unit drops off right after.
        self.fleet.reboot(index)
        return HttpResponse.json({"stats": "success", "code": "R000", "msg": "Rebooting"})


_CGI = {
    "get_system_info": MinerWebServer.get_system_info,
    "get_network_info": MinerWebServer.get_network_info,
    "set_network_conf": MinerWebServer.set_network_conf,
    "get_miner_conf": MinerWebServer.get_miner_conf,
    "set_miner_conf": MinerWebServer.set_miner_conf,
    "summary": MinerWebServer.summary,
    "stats": MinerWebServer.stats,
    "pools": MinerWebServer.pools,
    "get_blink_status": MinerWebServer.get_blink_status,
    "blink": MinerWebServer.blink,
    "reboot": MinerWebServer.reboot,
}


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """One HTTP/1.1 request; None if the client hung up before sending a whole head."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise _HttpError(431) from None
    if len(head) > MAX_HEADER_BYTES:
        raise _HttpError(431)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _HttpError(400)
    method, target, _ = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _HttpError(400)
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise _HttpError(411)
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _HttpError(400) from None
    if length < 0:
        raise _HttpError(400)
    if length > MAX_BODY_BYTES:
        raise _HttpError(413)
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        return None
    return HttpRequest(method=method.upper(), target=target, path=urlsplit(target).path, headers=headers, body=body)


def _form(request: HttpRequest) -> dict[str, Any]:
    """A request's parameters: a JSON body (what pyasic posts), a form body, or the query."""
    if request.body:
        try:
            value = json.loads(request.body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly nested
            value = None
        if isinstance(value, dict):
            return value
        text = request.body.decode("latin-1")
    else:
        text = urlsplit(request.target).query
    return {k: v[-1] for k, v in parse_qs(text).items()}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()
