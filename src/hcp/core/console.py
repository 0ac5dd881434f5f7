"""The web console's build (`web/dist`), served at `/` beside the API.

The API, `/ws`, `/docs`, `/metrics` and the probes always win: this route matches only GET and
HEAD requests that no other route took, and never under a reserved prefix, so an unknown API path
is still a JSON 404. A path that names a file of the build gets that file; any other path gets
`index.html` when the browser is navigating (the console's router shows the page, or its 404),
and a 404 otherwise. Hashed assets are cached for a year (immutable), `index.html` is revalidated
on every visit, text files go out gzipped (compressed once, kept in memory), and source maps are
never served.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

import hcp

# Where `make up` builds the console, relative to the repository of an editable install.
DEFAULT_DIR: Final = Path(hcp.__file__).resolve().parents[2] / "web" / "dist"
RESERVED: Final = ("/api", "/ws", "/docs", "/redoc", "/openapi.json", "/metrics", "/health", "/ready")
IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"
COMPRESSIBLE: Final = ("text/", "application/javascript", "application/json", "image/svg+xml",
                       "application/manifest+json")
MIN_GZIP_BYTES: Final = 512


@dataclass(frozen=True)
class _File:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED)


def _is_navigation(headers: Headers) -> bool:
    accept = headers.get("accept", "")
    return any(part.split(";")[0].strip() in ("text/html", "application/xhtml+xml") for part in accept.split(","))


class ConsoleRoute(BaseRoute):
    """Serves one build folder; a low-priority route, added after every other."""

    def __init__(self, directory: Path) -> None:
        self.path, self.methods = "/", {"GET", "HEAD"}  # public, like the docs: it holds no data
        self.directory = directory.resolve()
        self._files: dict[str, _File] = {}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or _reserved(scope["path"]):
            return Match.NONE, {}
        return Match.FULL, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        relative = scope["path"].lstrip("/")
        file = self._load(relative) if relative else None
        if file is None:
            if relative and (not _is_navigation(headers) or "." in relative.rsplit("/", 1)[-1]):
                raise HTTPException(404, "not found")  # a missing asset: never the page in its place
            relative, file = "index.html", self._load("index.html")
            if file is None:
                raise HTTPException(404, "the console is not built (make up builds it)")
        cache = IMMUTABLE if relative.startswith("assets/") else REVALIDATE
        response_headers = {"cache-control": cache, "etag": file.etag, "vary": "accept-encoding",
                            "x-content-type-options": "nosniff"}
        if headers.get("if-none-match") == file.etag:
            response: Response = Response(status_code=304, headers=response_headers)
        else:
            body = file.body
            if file.gzipped is not None and "gzip" in headers.get("accept-encoding", ""):
                body, response_headers["content-encoding"] = file.gzipped, "gzip"
            response = Response(b"" if scope["method"] == "HEAD" else body, media_type=file.media_type,
                                headers=response_headers)
            if scope["method"] == "HEAD":
                response.headers["content-length"] = str(len(body))
        await response(scope, receive, send)

    def _load(self, relative: str) -> _File | None:
        cached = self._files.get(relative)
        if cached is not None:
            return cached
        if relative.endswith(".map"):
            return None
        path = (self.directory / relative).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file() or path.is_symlink():
            return None
        body = path.read_bytes()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type == "application/javascript":
            media_type += "; charset=utf-8"
        gzipped = (gzip.compress(body, 9, mtime=0)
                   if len(body) >= MIN_GZIP_BYTES and media_type.startswith(COMPRESSIBLE) else None)
        file = _File(body, gzipped, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        if relative.startswith("assets/"):  # hashed names never change content: keep them
            self._files[relative] = file
        return file


def mount_console(app: FastAPI, directory: Path | None = None) -> bool:
    """Serve the build at `/` if there is one; False (and `/` redirects to /docs) if not."""
    folder = directory or DEFAULT_DIR
    if not (folder / "index.html").is_file():
        return False
    app.router.routes.append(ConsoleRoute(folder))
    return True
