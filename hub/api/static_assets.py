"""The pages' static files (GraphiQL's and the dashboard's vendored npm assets and the hub's own scripts): a fixed
list per page, held in memory with an ETag and a gzip copy, answered with 304 to a matching ``If-None-Match``."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from fastapi import Request, Response

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


class _Asset:
    """One static file held in memory with its ETag and a gzip copy (graphiql.min.js is 3.5 MB, ~0.7 MB gzipped)."""

    def __init__(self, path: Path, media_type: str):
        self.body = path.read_bytes()
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        self.gzipped = gzip.compress(self.body, compresslevel=6, mtime=0) if len(self.body) > 1024 else None


class StaticAssets:
    """The files of one directory that may be served (name → media type); every other name is 404. A file is read
    once, on its first request."""

    def __init__(self, directory: Path, files: dict[str, str]):
        self.directory = directory
        self.files = files
        self._loaded: dict[str, _Asset] = {}

    def asset(self, name: str) -> _Asset:
        found = self._loaded.get(name)
        if found is None:
            found = self._loaded[name] = _Asset(self.directory / name, self.files[name])
        return found

    def response(self, name: str, request: Request) -> Response:
        if name not in self.files:
            return Response("Not Found", status_code=404, media_type=TEXT)
        asset = self.asset(name)
        # File names carry no version: let browsers keep a copy but ask (cheaply, by ETag) before using it.
        headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                   "Vary": "Accept-Encoding"}
        if asset.etag in [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
        return Response(asset.body, media_type=asset.media_type, headers=headers)
