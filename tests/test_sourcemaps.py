"""Source maps: uploads (auth, names, sizes), symbolication of two real bundles, and grouping.

The bundles are real builds of tests/sourcemaps/app by esbuild and by Rollup + terser; their
stacks come from V8 (the browser tier throws them in Chromium: tests/browser/test_symbolicate.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from openrum.collect.beacon import Error
from openrum.enrich.pipeline import Pipeline
from openrum.enrich.symbolicate import Frame, Symbolicator, in_app, parse_stack
from openrum.privacy import expire_maps
from openrum.settings import Settings
from openrum.sourcemaps import MapStore, UploadError, file_name
from openrum.store.duckdb import DuckDBStore
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server
from tests.sourcemaps.bundles import BUNDLERS, URL, build, files, line_of, v8_stack
from tests.test_query import NOW_MS, received

# (window function, the in-app frames from the throw outwards: module, marker, function)
CASES = {
    "badPrice": [
        ("lib/price.js", "THROW price", "parsePrice"),
        ("lib/cart.js", "CALL parsePrice", None),  # in the arrow function passed to each()
        ("lib/cart.js", "CALL each", "cartTotal"),  # (each() is vendor code: not in-app)
        ("main.js", "CALL cartTotal", "checkout"),
        ("main.js", "window.badPrice =", "window.badPrice"),
    ],
    "badCoupon": [
        ("lib/price.js", "THROW coupon", "applyCoupon"),
        ("lib/cart.js", "CALL applyCoupon", "cartTotal"),
        ("main.js", "CALL cartTotal", "checkout"),
        ("main.js", "window.badCoupon =", "window.badCoupon"),
    ],
}


def maps_at(tmp_path: Path) -> MapStore:
    return MapStore(tmp_path / "sourcemaps", 10 << 20, 50 << 20)


@pytest.mark.parametrize("bundler", BUNDLERS)
@pytest.mark.parametrize("fn", sorted(CASES))
def test_every_in_app_frame_resolves_to_its_original_line(
    tmp_path: Path, bundler: str, fn: str
) -> None:
    out = build(bundler, tmp_path / "build")
    maps = maps_at(tmp_path)
    maps.upload("shop", "1.0", files(out), "https://shop.example/")
    frames = Symbolicator(maps).resolve("shop", "1.0", v8_stack(out, fn))
    own = [f for f in frames if f.in_app]
    assert [(f.file.split("src/")[-1], f.original_line, f.original_function) for f in own] == [
        (module, line_of(marker)[1], function) for module, marker, function in CASES[fn]
    ], frames
    assert all(f.file and "vendor/" in f.file for f in frames if not f.in_app)
    top = own[0]
    assert top.context_line is not None and CASES[fn][0][1] in top.context_line
    assert len(top.pre_context or []) == 5 or top.original_line == len(top.pre_context or []) + 1


def test_the_same_bug_in_two_builds_is_one_group_two_bugs_two(tmp_path: Path) -> None:
    maps = maps_at(tmp_path)
    stacks = {}
    for release, shift in (("1.0", 0), ("1.1", 4)):
        out = build("esbuild", tmp_path / release, shift)
        maps.upload("shop", release, files(out), "https://shop.example/")
        stacks[release] = {fn: v8_stack(out, fn) for fn in CASES}
    assert stacks["1.0"]["badPrice"] != stacks["1.1"]["badPrice"]  # the builds differ

    def groups(settings: Settings) -> dict[tuple[str, str], str]:
        raws = [
            received(
                f"s-{release}-{fn}",
                UA_CHROME,
                [],
                [
                    Error(
                        id="e1",
                        type="js",
                        time=NOW_MS - 60_000,
                        message="boom",
                        name="TypeError",
                        url="https://shop.example/cart",
                        stack=stacks[release][fn],
                    )
                ],
                release=release,
            )
            for release in stacks
            for fn in CASES
        ]
        batch = Pipeline(settings).run(raws)
        assert batch.errors is not None
        rows = batch.errors.select(["session_id", "fingerprint"]).to_pylist()
        return {tuple(r["session_id"].split("-")[1:]): r["fingerprint"] for r in rows}

    with_maps = groups(Settings(sourcemaps_dir=str(maps.root)))
    assert with_maps["1.0", "badPrice"] == with_maps["1.1", "badPrice"]
    assert with_maps["1.0", "badCoupon"] == with_maps["1.1", "badCoupon"]
    assert with_maps["1.0", "badPrice"] != with_maps["1.0", "badCoupon"]
    raw = groups(Settings())  # without maps: one group per build
    assert raw["1.0", "badPrice"] != raw["1.1", "badPrice"]


def test_missing_wrong_release_and_corrupt_maps_keep_the_raw_frame_with_a_reason(
    tmp_path: Path,
) -> None:
    out = build("esbuild", tmp_path / "build")
    stack = v8_stack(out, "badPrice")
    maps = maps_at(tmp_path)
    symbolicator = Symbolicator(maps)
    reasons = lambda release: {f.reason for f in symbolicator.resolve("shop", release, stack)}  # noqa: E731
    assert reasons(None) == {"no release on the error (the snippet's data-release)"}
    assert reasons("1.0") == {"no source map uploaded for this file in release 1.0"}
    built = files(out)
    maps.upload("shop", "1.0", {**built, "static/app.min.js.map": b'{"version": 3, "mappi'})
    symbolicator.forget("shop", "1.0")  # as the upload endpoint does (else within RECHECK_S)
    [reason] = reasons("1.0")
    assert reason is not None and reason.startswith("corrupt source map")
    frames = symbolicator.resolve("shop", "1.0", stack)
    assert frames[0] == Frame(frames[0].function, URL, frames[0].line, frames[0].col, reason=reason)
    maps.upload("shop", "2.0", built)  # another build's map: positions past its code
    other = build("esbuild", tmp_path / "other", 40)
    for f in symbolicator.resolve("shop", "2.0", v8_stack(other, "badPrice")):
        assert f.original_line is None or f.original_line < 40  # never the other build's lines


@pytest.mark.parametrize(
    "name",
    ["../evil.js", "static/../../evil.js", "/etc/passwd.js", "a\\..\\b.js", "index.json", ""],
)
def test_file_names_that_leave_the_release_are_refused(name: str) -> None:
    with pytest.raises(UploadError):
        file_name(name)


def test_upload_caps(tmp_path: Path) -> None:
    maps = MapStore(tmp_path, 100, 250)
    with pytest.raises(UploadError) as e:
        maps.upload("shop", "1", {"a.js.map": b"x" * 101})
    assert e.value.status == 413
    maps.upload("shop", "1", {"a.js.map": b"x" * 100, "b.js.map": b"x" * 100})
    maps.upload("shop", "1", {"a.js.map": b"y" * 100})  # replacing a file counts once
    with pytest.raises(UploadError):
        maps.upload("shop", "2", {"c.js.map": b"x" * 100})
    assert not (tmp_path / "shop" / "2" / "c.js.map").exists()
    with pytest.raises(UploadError):
        maps.upload("../x", "1", {"a.js.map": b"{}"})


def _post(server: LiveServer, body: dict[str, object], token: str) -> tuple[int, bytes]:
    status, _, raw = server.post(
        "/api/v1/sourcemaps",
        json.dumps(body).encode(),
        {"content-type": "application/json", "authorization": f"Bearer {token}"},
        auth=False,
    )
    return status, raw


def _token(server: LiveServer, app: str, read_only: bool = False) -> str:
    status, _, raw = server.post(
        "/api/v1/tokens",
        json.dumps({"name": f"ci-{app}-{read_only}", "app": app, "read_only": read_only}).encode(),
        {"content-type": "application/json"},
    )
    assert status in (200, 201), raw
    return str(json.loads(raw)["token"])


def test_upload_list_delete_through_the_api_with_app_tokens(
    live_server: LiveServer, tmp_path: Path
) -> None:
    for app in ("shopa", "shopb"):
        live_server.cli("apps", "create", app, "--id", app)
    a, a_read = _token(live_server, "shopa"), _token(live_server, "shopa", read_only=True)
    out = build("esbuild", tmp_path / "build")
    texts = {name: data.decode() for name, data in files(out).items()}
    upload = {"app": "shopa", "release": "1.0", "files": texts}
    assert _post(live_server, {**upload, "app": "shopb"}, a)[0] == 403  # another app's token
    assert _post(live_server, upload, a_read)[0] == 403  # read-only
    for bad in ("../../server.json.js", "/tmp/x.js.map"):
        status, raw = _post(live_server, {**upload, "files": {bad: "{}"}}, a)
        assert status == 400, raw
    assert not (live_server.data / "server.json.js").exists()
    status, raw = _post(live_server, upload, a)
    assert status == 201, raw
    assert json.loads(raw)["files"] == 2
    assert (
        live_server.data / "sourcemaps" / "shopa" / "1.0" / "static" / "app.min.js.map"
    ).exists()
    headers = {"authorization": f"Bearer {a}"}
    status, _, raw = live_server.request(
        "GET", "/api/v1/sourcemaps?app=shopa", None, headers, False
    )
    assert status == 200 and [r["release"] for r in json.loads(raw)["releases"]] == ["1.0"]
    status, _, _ = live_server.request("GET", "/api/v1/sourcemaps?app=shopb", None, headers, False)
    assert status == 403
    assert "1.0" in live_server.cli("sourcemaps", "list", "--app", "shopa")
    status, _, _ = live_server.request(
        "DELETE", "/api/v1/sourcemaps/1.0?app=shopa", None, headers, False
    )
    assert status == 200
    assert not (live_server.data / "sourcemaps" / "shopa" / "1.0").exists()


def test_retention_removes_the_maps_of_releases_with_no_error_left(
    tmp_path: Path, store: DuckDBStore, settings: Settings
) -> None:
    maps = maps_at(tmp_path)
    for release in ("0.9", "1.0"):
        maps.upload("shop", release, {"static/app.min.js.map": b"{}"})
    thrown = Error(
        id="e1", type="js", time=NOW_MS - 60_000, message="boom", url="https://shop.example/"
    )
    store.write(Pipeline(settings).run([received("s1", UA_CHROME, [], [thrown], release="1.0")]))
    just_uploaded = int(time.time() * 1000) - 60_000  # uploaded after the cutoff: kept
    assert expire_maps(store, maps, "shop", just_uploaded) == 0
    later = int(time.time() * 1000) + 1000
    assert expire_maps(store, maps, "shop", later) == 1
    assert [r.release for r in maps.releases("shop")] == ["1.0"]  # it still has an error


def test_an_oversize_upload_is_refused_with_413(tmp_path: Path) -> None:
    caps = {
        "OPENRUM_SOURCEMAP_MAX_FILE_BYTES": "1000",
        "OPENRUM_SOURCEMAP_MAX_REQUEST_BYTES": "5000",
    }
    server = start_server(tmp_path / "data", env=caps)
    try:
        server.cli("apps", "create", "shop", "--id", "shop")
        big = {"app": "shop", "release": "1.0", "files": {"app.js.map": "x" * 1001}}
        status, raw = _post(server, big, server.key)
        assert status == 413, raw
        assert b"over 1000" in raw
        assert not (server.data / "sourcemaps" / "shop" / "1.0" / "app.js.map").exists()
        many = {f"app{i}.js.map": "x" * 900 for i in range(6)}  # each under the file cap
        status, raw = _post(server, {**big, "files": many}, server.key)
        assert status == 413 and b"upload over 5000 bytes" in raw, raw
    finally:
        stop_server(server)


@pytest.mark.parametrize(
    ("line", "frame"),
    [
        ("at o (https://a.example/app.js:1:62)", ("o", "https://a.example/app.js", 1, 62)),
        ("    at https://a.example/app.js:3:9", ("?", "https://a.example/app.js", 3, 9)),
        ("n@https://a.example/app.js:1:48213", ("n", "https://a.example/app.js", 1, 48213)),
        ("at async f (http://10.0.0.1:80/a.js:2:3)", ("async f", "http://10.0.0.1:80/a.js", 2, 3)),
        ("TypeError: boom", None),
    ],
)  # fmt: skip
def test_frames_are_read_in_the_agents_and_the_browsers_formats(
    line: str, frame: tuple[str, str, int, int] | None
) -> None:
    found = [(f.function, f.url, f.line, f.col) for f in parse_stack(line)]
    assert found == ([frame] if frame else [])


@pytest.mark.parametrize(
    ("file", "own"),
    [
        ("../src/lib/price.js", True),
        ("webpack://shop/./src/cart.js", True),
        ("../node_modules/react-dom/cjs/react-dom.production.js", False),
        ("webpack://shop/node_modules/lodash/map.js", False),
        ("../src/vendor/iterate.js", False),
        ("vendors~main.js", False),
        ("webpack/bootstrap", False),
        ("../src/vendored-notes.js", True),
    ],
)
def test_in_app_frames(file: str, own: bool) -> None:
    assert in_app(file) is own
