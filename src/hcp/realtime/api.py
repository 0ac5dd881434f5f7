"""Routes of the realtime domain: the `/ws` WebSocket (mounted at the root, as the gateway routes
it) and `GET /api/v1/realtime/channels` (the hub is a component).

Protocol (docs/API.md): connect to `/ws?token=JWT_OR_API_KEY[&last_id=ID]` (or send the
credential as `Authorization: Bearer` / `X-API-Key`), send `{"action": "subscribe", "channels":
[...], "last_id"?: ...}` and `{"action": "unsubscribe", "channels": [...]}`; the server sends
`{"id", "channel", "event", "ts", "data"}`. The socket is accepted before the credential is
checked, so that a bad one closes it with 1008 (policy violation), which a browser can see,
rather than failing the handshake with an HTTP status it cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket
from starlette.exceptions import WebSocketException
from starlette.websockets import WebSocketDisconnect

from hcp.core.platform import Platform
from hcp.core.routing import domain_router
from hcp.core.security import CurrentUser, authenticate
from hcp.core.tasks import cancel_tasks
from hcp.realtime.hub import CHANNELS, CLOSE_TRY_LATER, Client, Hub, allowed_channels, control
from hcp.realtime.schemas import ChannelList

log = structlog.get_logger(__name__)

# How long a dropped client's close frame may wait behind what it did not read.
CLOSE_TIMEOUT_S = 1.0

router = domain_router("realtime")
root_router = APIRouter(tags=["realtime"])


def hub_of(platform: Platform) -> Hub:
    return platform.components.require(Hub)


@router.get("/realtime/channels", summary="The WebSocket channels, and which of them you may subscribe to")
async def list_channels(principal: CurrentUser) -> ChannelList:
    mine = allowed_channels(principal)
    return ChannelList.model_validate({"items": [{"name": name, "events": list(subjects), "allowed": name in mine}
                                                 for name, subjects in CHANNELS.items()], "total": len(CHANNELS)})


@root_router.websocket("/ws")
async def channels(websocket: WebSocket) -> None:
    await websocket.accept()
    authorization = websocket.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
    try:
        principal = await authenticate(websocket, bearer, websocket.headers.get("x-api-key"))
    except WebSocketException as exc:
        await websocket.close(code=exc.code, reason=exc.reason or "")
        return
    hub = hub_of(websocket.app.state.platform)
    client = hub.connect(principal)
    if client is None:
        await websocket.close(code=CLOSE_TRY_LATER, reason="too many clients; try again later")
        return
    recheck = asyncio.create_task(_recheck(websocket, hub, client, bearer, websocket.headers.get("x-api-key")))
    tasks = [
        asyncio.create_task(_send(websocket, client)),
        asyncio.create_task(_receive(websocket, hub, client, websocket.query_params.get("last_id"))),
        asyncio.create_task(client.dropped.wait()),
        recheck,
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_tasks(tasks)
        hub.disconnect(client)
    if recheck.done() and not recheck.cancelled() and isinstance(refused := recheck.result(), WebSocketException):
        await _close(websocket, refused.code, refused.reason or "")
    elif client.dropped.is_set():
        await _close(websocket, CLOSE_TRY_LATER, "too slow: messages dropped")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close, waiting at most CLOSE_TIMEOUT_S: behind what a slow client did not read, the close
    frame may never get through."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code=code, reason=reason), CLOSE_TIMEOUT_S)


async def _send(websocket: WebSocket, client: Client) -> None:
    queue = client.queue
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            await websocket.send_text(await queue.get())


async def _recheck(websocket: WebSocket, hub: Hub, client: Client, bearer: str | None,
                   api_key: str | None) -> WebSocketException:
    """The connection's credential, checked again every `recheck_s`; returns why it no longer
    holds. A changed role or tenant applies at once (`Hub.reauthorise`)."""
    while True:
        await asyncio.sleep(hub.settings.recheck_s)
        try:
            principal = await authenticate(websocket, bearer, api_key)
        except WebSocketException as exc:
            return exc
        except Exception:  # the database unreachable for a moment: check again next time
            log.warning("websocket credential check failed", user=client.principal.email, exc_info=True)
            continue
        if principal != client.principal:
            hub.reauthorise(client, principal)


async def _receive(websocket: WebSocket, hub: Hub, client: Client, last_id: str | None) -> None:
    """Client actions; `last_id` of the URL applies to the first subscription."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        action = _parse(message.get("text"))
        if isinstance(action, str):
            hub.offer(client, control("error", {"code": "invalid_message", "message": action}))
            continue
        if action["action"] == "ping":
            hub.offer(client, control("pong", {}))
        elif action["action"] == "subscribe":
            hub.subscribe(client, action["channels"], last_id=action.get("last_id") or last_id)
            last_id = None
        else:
            hub.unsubscribe(client, action["channels"])


def _parse(text: str | None) -> dict[str, Any] | str:
    """The action of a client message, or what is wrong with it."""
    if text is None:
        return "send JSON text frames"
    try:
        body = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict) or body.get("action") not in ("subscribe", "unsubscribe", "ping"):
        return 'expected {"action": "subscribe" | "unsubscribe" | "ping", ...}'
    if body["action"] == "ping":
        return body
    channels = body.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        return "channels: a list of channel names"
    last_id = body.get("last_id")
    if last_id is not None and not isinstance(last_id, str):
        return "last_id: an event id (string)"
    return body
