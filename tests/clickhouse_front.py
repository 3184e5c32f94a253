"""A ClickHouse HTTP front over chdb: the part of ClickHouse's HTTP interface that
clickhouse-connect uses, every statement executed by the real ClickHouse engine (chdb) in this
process.

    python -m tests.clickhouse_front DATA_DIR [--port N]   (prints ``listening on HOST:PORT``)

No ClickHouse server can be installed where the tests run, and chdb starts no listener; this front
lets ``clickhouse://`` stores (``HttpTransport``, clickhouse-connect over urllib3) run against the
engine anyway. It translates HTTP only — requests to engine calls, results and errors to responses:

- ``GET /ping`` (and ``/``) answers ``Ok.``;
- a statement is the ``query`` parameter followed by the request body (POST) — the body is
  decompressed first by its ``Content-Encoding`` (lz4, zstd, gzip, deflate) — or the ``query``
  field of a multipart/form-data body (clickhouse-connect sends long parameter values so);
- ``param_NAME`` parameters (or form fields) are the values of ``{NAME:Type}`` placeholders,
  passed to the engine, which binds them (as a server does);
- ``database`` picks the statement's database; ``default_format`` the output format when the
  statement names none (``TabSeparated`` otherwise); the engine writes every format (Native,
  RowBinary, Arrow, JSON…) itself;
- every other parameter is a setting, applied with ``SET`` for that statement only (except the
  HTTP layer's own: compression, progress headers, waiting for the end of the query, sessions);
- the result comes back as the body, lz4/zstd/gzip/deflate-compressed when the client asks
  (``enable_http_compression=1`` and ``Accept-Encoding``), with ``X-ClickHouse-Summary``,
  ``-Query-Id``, ``-Timezone`` and ``-Format`` headers; an engine error comes back as status 500
  with ``X-ClickHouse-Exception-Code`` and the engine's message, as a server answers.

The one place it looks into a statement: an INSERT with its data in the same body (what
clickhouse-connect sends for ``insert_arrow``) is split where the data begins — after
``FORMAT name`` and one newline — because the engine takes the statement and the data apart
(chdb's ``send_insert``). A server's HTTP handler does the same split with its parser.

What it does not cover — do not read a passing test as proof of these on a server:
- authentication and users (any user and password are accepted; it listens on 127.0.0.1 only),
  quotas, roles, readonly mode for GET requests, TLS (``clickhouses://``);
- clusters: ``ON CLUSTER``, Replicated and Distributed tables, Keeper (one engine, one node);
- concurrency: statements run one at a time on one engine connection (a server runs many at
  once), so throughput through it says nothing about a server's;
- sessions (``session_id`` is ignored: temporary tables and ``SET``/``USE`` sent as statements
  outlive their request) and ``query_id`` cancellation (``KILL QUERY``);
- streaming: a result is built whole before it is sent; progress headers are not sent;
- ``client_protocol_version``: Native output is in its version-0 form, which clickhouse-connect
  detects when it connects and reads as such;
- external data (files in a multipart form), the ``/play``, ``/dashboard``, ``/replicas_status``
  and predefined handlers, the ``X-ClickHouse-Format`` of a statement's own ``FORMAT`` clause
  (the header names the default format).
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Parameters of the HTTP layer, not settings of the statement (ClickHouse docs: "HTTP Interface").
HTTP_PARAMS = {
    "query", "database", "default_format", "session_id", "session_timeout", "session_check",
    "query_id", "quota_key", "user", "password", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "role", "client_protocol_version", "stacktrace",
    "enable_http_compression", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close", "http_zlib_compression_level",
}  # fmt: skip
# An INSERT whose data follows in the body: ``INSERT … FORMAT Name`` then one line break.
INSERT_DATA = re.compile(rb"^\s*INSERT\b.*?\bFORMAT\s+(\w+)[ \t]*\r?\n?", re.IGNORECASE | re.DOTALL)
ERROR_CODE = re.compile(r"Code: (\d+)\.")


def _codecs() -> dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]]:
    """Content encodings this front reads and writes: ``name → (decompress, compress)``."""
    out: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
        "gzip": (gzip.decompress, gzip.compress),
        "deflate": (zlib.decompress, zlib.compress),
    }
    try:
        import lz4.frame

        out["lz4"] = (lz4.frame.decompress, lz4.frame.compress)
    except ImportError:
        pass
    try:
        import zstandard

        out["zstd"] = (
            lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
            zstandard.ZstdCompressor().compress,
        )
    except ImportError:
        pass
    return out


CODECS = _codecs()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Engine:
    """One chdb connection on a data directory; statements run one at a time."""

    def __init__(self, path: str) -> None:
        import chdb

        self.conn = chdb.connect(path)
        self.lock = threading.Lock()
        self.database = "default"
        self.settings: dict[str, str] = {}  # set by SET, in force on the connection
        self.timezone = self._run("SELECT timezone()", "TabSeparated", {}).bytes().decode().strip()

    def _run(self, sql: str, fmt: str, params: dict[str, str]) -> Any:
        return self.conn._conn.query(sql, fmt, params=params)

    def _prepare(self, database: str, settings: dict[str, str]) -> None:
        """The connection in ``database`` with exactly ``settings`` changed (fewest statements)."""
        if database != self.database:
            self._run(f"USE {_identifier(database)}", "TabSeparated", {})
            self.database = database
        gone = [k for k in self.settings if k not in settings]
        if gone:
            self._run("SET " + ", ".join(f"{_identifier(k)} = DEFAULT" for k in gone), "CSV", {})
            for k in gone:
                del self.settings[k]
        new = {k: v for k, v in settings.items() if self.settings.get(k) != v}
        if new:
            # Values as string literals: the engine parses each into its setting's type, as it
            # parses a URL parameter.
            assign = ", ".join(f"{_identifier(k)} = {_literal(v)}" for k, v in new.items())
            self._run("SET " + assign, "CSV", {})
            self.settings.update(new)

    def execute(
        self, sql: bytes, database: str, settings: dict[str, str], params: dict[str, str], fmt: str
    ) -> tuple[bytes, dict[str, int]]:
        """Run one statement (an INSERT's data after it); its output and its counts. Raises the
        engine's error."""
        insert = INSERT_DATA.match(sql)
        with self.lock:
            try:
                self._prepare(database, settings)
            except RuntimeError:
                self.database = ""  # unknown state after a failed USE or SET: redo both
                self.settings = {k: "" for k in self.settings}
                raise
            if insert is not None and insert.end() < len(sql):
                # The statement without ``FORMAT name``; the format and the data apart.
                statement = sql[: insert.start(1)].rstrip()[: -len(b"FORMAT")].decode()
                inserter = self.conn.send_insert(statement, insert.group(1).decode())
                try:
                    inserter.append(sql[insert.end() :])
                    done = inserter.finish()
                except BaseException:
                    inserter.cancel()
                    raise
                return b"", {"written_rows": done.rows_written, "written_bytes": done.bytes_written}
            result = self._run(sql.decode(), fmt, params)
            counts = {
                "read_rows": result.rows_read(),
                "read_bytes": result.bytes_read(),
                "written_rows": result.rows_written(),
                "written_bytes": result.bytes_written(),
                "elapsed_ns": int(result.elapsed() * 1e9),
            }
            return result.bytes(), counts


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def handle(engine: Engine, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
    """One HTTP request to the engine and back. ``headers`` with lower-case names."""
    url = urlsplit(target)
    if url.path.rstrip("/") == "/ping" or (method in ("GET", "HEAD") and not url.query):
        return Reply(200, {"content-type": "text/plain; charset=UTF-8"}, b"Ok.\n")
    if url.path not in ("", "/"):
        return _error(404, 0, f"no handler for {url.path} (this front serves / and /ping)")
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    if headers.get("content-type", "").startswith("multipart/form-data"):
        # Long parameter values come as form fields (``query`` and ``param_*``), not in the URL.
        try:
            query.update(_form_fields(headers["content-type"], body))
        except ValueError as e:
            return _error(400, 0, str(e))
        body = b""
    encoding = headers.get("content-encoding", "").strip().lower()
    if body and encoding and encoding != "identity":
        if encoding not in CODECS:
            return _error(400, 0, f"unsupported Content-Encoding {encoding}")
        try:
            body = CODECS[encoding][0](body)
        except Exception as e:  # a corrupt body is the client's error
            return _error(400, 0, f"cannot decompress the body ({encoding}): {e}")
    # The statement is the query parameter followed by the body; when the parameter is an
    # INSERT ending at its FORMAT, the body is all data (one line break between them).
    sql = query.get("query", "").encode()
    if sql and body and not sql.endswith(b"\n"):
        sql += b"\n"
    sql += body
    if not sql.strip():
        return _error(400, 0, "empty query")
    params = {k[len("param_") :]: v for k, v in query.items() if k.startswith("param_")}
    settings = {
        k: v for k, v in query.items() if k not in HTTP_PARAMS and not k.startswith("param_")
    }
    fmt = query.get("default_format", "TabSeparated")
    database = query.get("database") or headers.get("x-clickhouse-database") or "default"
    query_id = query.get("query_id") or str(uuid.uuid4())
    try:
        output, counts = engine.execute(sql, database, settings, params, fmt)
    except Exception as e:  # the engine's error, passed on as a server passes it
        message = str(e)
        found = ERROR_CODE.search(message)
        return _error(500, int(found.group(1)) if found else 1001, message, query_id)
    out = {
        "content-type": "application/octet-stream",
        "x-clickhouse-query-id": query_id,
        "x-clickhouse-timezone": engine.timezone,
        "x-clickhouse-summary": json.dumps({k: str(v) for k, v in counts.items()}),
    }
    if output:
        out["x-clickhouse-format"] = fmt
    if output and query.get("enable_http_compression") == "1":
        for name in headers.get("accept-encoding", "").split(","):
            name = name.strip().lower()
            if name in CODECS:
                output = CODECS[name][1](output)
                out["content-encoding"] = name
                break
    return Reply(200, out, output)


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a multipart/form-data body. Raises ValueError for a file (external data,
    which this front does not serve)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = {}
    for part in message.iter_parts():
        if part.get_filename() is not None:
            raise ValueError("external data (a file in the form) is not supported by this front")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode()
    return fields


def _error(status: int, code: int, message: str, query_id: str = "") -> Reply:
    headers = {
        "content-type": "text/plain; charset=UTF-8",
        "x-clickhouse-exception-code": str(code),
    }
    if query_id:
        headers["x-clickhouse-query-id"] = query_id
    return Reply(status, headers, message.encode() + b"\n")


def serve(path: str, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) on ``host:port`` in front of the engine on ``path``."""
    engine = Engine(path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clickhouse-connect pools its connections

        def _body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _answer(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = handle(engine, self.command, self.path, headers, self._body())
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_POST = do_HEAD = _answer

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            # A client closing its pooled connection is no error worth a traceback.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    return Server((host, port), Handler)


@dataclass
class Front:
    """A front process: its ``clickhouse://`` URL (database ``default``)."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(data: str) -> Front:
    """Start a front process on ``data`` (a directory) and a free port; it exits with this one."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.clickhouse_front", data, "--parent", str(os.getpid())],
        cwd=root,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()  # "listening on HOST:PORT" once it listens
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the ClickHouse front did not start: {line!r}")
    return Front(f"clickhouse://default:@{line.split()[-1]}/default", process)


def _exit_with(parent: int) -> None:
    # Tests killed hard leave no front behind: it exits when the process that started it does.
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="the engine's data directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--parent", type=int, help="exit when this process id is no more")
    args = parser.parse_args()
    if args.parent:
        threading.Thread(target=_exit_with, args=(args.parent,), daemon=True).start()
    server = serve(args.data, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
