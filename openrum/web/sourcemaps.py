"""Source map uploads (docs/api.md "Source maps").

- ``POST /api/v1/sourcemaps``: ``{"app", "release", "url_prefix"?, "files": {name: text}}``, the
  ``.map`` and minified ``.js`` files of one build, names relative to the build directory. A
  token must be allowed to write for the application (not read-only, its app or every app).
- ``GET /api/v1/sourcemaps?app=ID``: the application's releases with maps.
- ``DELETE /api/v1/sourcemaps/{release}?app=ID``: remove a release's maps.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.enrich.symbolicate import Symbolicator
from openrum.sourcemaps import MapStore, Release, UploadError
from openrum.web.api import ApiError, require_app
from openrum.web.scope import json_response


class Upload(msgspec.Struct, forbid_unknown_fields=True):
    app: str
    release: str
    files: dict[str, str]
    url_prefix: str = ""


_upload = msgspec.json.Decoder(Upload)


def release_json(r: Release) -> dict[str, Any]:
    return {"release": r.release, "files": r.files, "bytes": r.bytes, "uploaded": r.uploaded}


def routes(maps: MapStore, symbolicator: Symbolicator, max_request_bytes: int) -> list[Route]:
    """The source map endpoints, bound to one MapStore; the symbolicator of the error pages
    forgets what it knew of a release uploaded or deleted."""

    async def upload(request: Request) -> Response:
        # Read into memory, so no further than the cap.
        cap = max_request_bytes
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                raise ApiError(f"upload over {cap} bytes", 413)
        try:
            spec = _upload.decode(body)
        except msgspec.ValidationError as e:
            raise ApiError(f"invalid upload: {e}") from None
        except msgspec.DecodeError:
            raise ApiError("the body is not JSON") from None
        require_app(request, spec.app)
        files = {name: text.encode() for name, text in spec.files.items()}
        try:
            done = await run_in_threadpool(
                maps.upload, spec.app, spec.release, files, spec.url_prefix
            )
        except UploadError as e:
            raise ApiError(str(e), e.status) from None
        symbolicator.forget(spec.app, spec.release)
        return Response(msgspec.json.encode(release_json(done)), 201, media_type="application/json")

    async def list_releases(request: Request) -> Response:
        app = request.query_params.get("app", "")
        require_app(request, app)
        try:
            found = await run_in_threadpool(maps.releases, app)
        except UploadError as e:
            raise ApiError(str(e)) from None
        return json_response({"app": app, "releases": [release_json(r) for r in found]})

    async def delete(request: Request) -> Response:
        app, release = request.query_params.get("app", ""), request.path_params["release"]
        require_app(request, app)
        try:
            gone = await run_in_threadpool(maps.delete, app, release)
        except UploadError as e:
            raise ApiError(str(e)) from None
        if not gone:
            raise ApiError(f"no source maps for release {release!r}", 404)
        symbolicator.forget(app, release)
        return json_response({"deleted": release})

    return [
        Route("/api/v1/sourcemaps", upload, methods=["POST"]),
        Route("/api/v1/sourcemaps", list_releases, methods=["GET"]),
        Route("/api/v1/sourcemaps/{release}", delete, methods=["DELETE"]),
    ]
