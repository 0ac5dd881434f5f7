"""The CGMiner API's wire protocol (TCP 4028), as cgminer's api.c frames it.

One request per connection, JSON (`{"command": ..., "parameter": ...}`) or the plain-text form
`command|parameter`; the reply, a NUL byte, close. Here: telling a request buffer apart, the
STATUS entry and error codes, and encoding a reply in either form. No firmware knowledge.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_REQUEST_BYTES = 64 * 1024

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


class ApiError(Exception):
    """A command refused with a cgminer error code; answered as a STATUS "E" entry."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def status(code: int, msg: str, when: int, description: str, severity: str = "S") -> dict[str, Any]:
    """One STATUS entry, as every reply (and every error) starts."""
    return {"STATUS": severity, "When": when, "Code": code, "Msg": msg, "Description": description}


def error(code: int, msg: str, when: int, description: str) -> dict[str, Any]:
    return {"STATUS": [status(code, msg, when, description, "E")], "id": 1}


def encode(reply: dict[str, Any]) -> bytes:
    """A JSON reply on the wire: compact, NUL-terminated as cgminer does."""
    return json.dumps(reply, separators=(",", ":")).encode() + b"\0"


def encode_plain(reply: dict[str, Any]) -> bytes:
    """cgminer's plain-text form (what `echo summary | nc` gets): sections as comma-separated
    key=value lists, each ended by "|"."""
    parts: list[str] = []
    for key, value in reply.items():
        if not isinstance(value, list):
            continue
        for item in value:
            fields = ",".join(f"{k}={_plain_value(v)}" for k, v in item.items())
            parts.append(fields if key == "STATUS" else f"{key},{fields}")
    return ("|".join(parts) + "|").encode() + b"\0"


def _plain_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def as_parameter(value: Any) -> str:
    """A JSON request's "parameter" as the string cgminer passes to its commands."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_PLAIN = re.compile(r"[a-z][a-z0-9+_-]*(\|[\w.,=:/ +-]*)?")


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
