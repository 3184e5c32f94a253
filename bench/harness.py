"""Shared pieces of the load benchmarks: servers pinned to CPU 0, wrk pinned to CPU 1, /metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "ingest" / "beacon.lua"
EVENTS_PER_BEACON = 5


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def percentile(wrk_output: str, pct: int) -> float:
    """A latency percentile (ms) from wrk's --latency distribution."""
    match = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", wrk_output, re.M)
    if match is None:
        raise ValueError(f"no {pct}% line in wrk's output:\n{wrk_output}")
    return ms(match.group(1))


def wrk(
    url: str, seconds: int, connections: int, label: str, delay_ms: float = 0
) -> subprocess.Popen[str]:
    """wrk pinned to CPU 1 posting unique beacons (bench/ingest/beacon.lua) to app `bench`.

    With ``delay_ms`` each connection waits that long after every answer, which paces the load
    at about connections / (delay + latency) requests per second.
    """
    return subprocess.Popen(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(LUA),
            url,
            "--",
            "bench",
            f"{label}{os.getpid()}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENRUM_BENCH_DELAY_MS": f"{delay_ms:.3f}"},
    )


def run_wrk(url: str, seconds: int, connections: int) -> WrkResult:
    """Full load for ``seconds``: requests/s and latency."""
    out = wrk(url, seconds, connections, "peak").communicate(timeout=seconds + 60)[0]
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    took = re.search(r"requests in ([\d.]+\w+)", out).group(1)  # type: ignore[union-attr]
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        requests=requests,
        seconds=ms(took) / 1000,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=percentile(out, 50),
        p99_ms=percentile(out, 99),
        non_2xx=int(non.group(1)) if non else 0,
    )


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def admin_headers(data: Path) -> dict[str, str]:
    """The Authorization header of the administrator key a server wrote into its data dir."""
    key = json.loads((data / "server.json").read_text())["key"]
    return {"authorization": f"Bearer {key}"}


def query(url: str, data: Path, body: dict[str, object]) -> dict[str, Any]:
    """POST /api/v1/query as the administrator."""
    req = urllib.request.Request(
        url + "/api/v1/query",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **admin_headers(data)},
    )
    try:
        result: dict[str, Any] = json.loads(urllib.request.urlopen(req, timeout=120).read())
    except urllib.error.HTTPError as e:  # the server's reason, not only its status
        raise RuntimeError(f"query failed: {e.code} {e.read().decode(errors='replace')}") from e
    return result


def metrics(url: str) -> dict[str, float]:
    """/metrics as numbers (the servers under test run with metrics_public)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server and its batch step process)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            out += _tree(int(child))
    return out


def pss_mb(pid: int) -> float:
    """Proportional set size of a process and its descendants: their physical memory, with pages
    they share (the libraries both map) counted once between them."""
    total = 0
    for p in _tree(pid):
        try:
            lines = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
        except FileNotFoundError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("Pss:"))
    return total / 1024


def _role(pid: int) -> str:
    """What a process of a server's tree is, from its command line."""
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    for needle, role in (
        ("resource_tracker", "resource tracker"),
        ("spawn_main", "batch step"),
        ("fsync", "spool fsync helper"),
        ("forkserver", "forkserver"),
    ):
        if needle in cmd:
            return role
    return "other: " + cmd[:60]


def pss_by_process(pid: int) -> dict[str, float]:
    """``pss_mb`` of each process of a server's tree on its own (MB): ``server`` (``pid``), and
    each descendant named by its role (batch step, spool fsync helper, resource tracker)."""
    out: dict[str, float] = {}
    for p in _tree(pid):
        try:
            lines = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
            role = "server" if p == pid else _role(p)
        except FileNotFoundError:
            continue
        pss = sum(int(line.split()[1]) for line in lines if line.startswith("Pss:")) / 1024
        out[role] = out.get(role, 0.0) + pss
    return out


def loop_cpu_s(pid: int) -> float:
    """CPU time (user + system, seconds) of a process's main thread: a server's event loop."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak() -> float:
    """Reset this process's peak RSS (VmHWM) to its RSS (Linux); return that RSS in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_mb(os.getpid(), children=False)


def rss_mb(pid: int, field: str = "VmRSS", children: bool = True) -> float:
    """Memory of a process and its descendants, summed (``VmHWM``: the sum of their peaks)."""
    total = 0
    for p in _tree(pid) if children else [pid]:
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except FileNotFoundError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith(field + ":"))
    return total / 1024


def start(
    cmd: list[str], port: int, log: Path | None = None, pin: bool = True
) -> subprocess.Popen[bytes]:
    """Start a server (pinned to CPU 0 unless ``pin`` is false) and wait until it answers."""
    out = log.open("wb") if log else subprocess.DEVNULL
    prefix = ["taskset", "-c", "0"] if pin else []
    proc = subprocess.Popen([*prefix, *cmd], stdout=out, stderr=subprocess.STDOUT)
    wait_up(f"http://127.0.0.1:{port}", proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def create_app(data: Path) -> None:
    """The application `bench` (any origin) in the data directory ``data``."""
    import sys

    subprocess.run(
        [
            *(sys.executable, "-m", "openrum", "apps", "create", "Bench", "--id", "bench"),
            *("--origin", "*", "--data", str(data)),
        ],
        check=True,
        capture_output=True,
    )


def start_openrum(
    port: int,
    pin: bool = True,
    log: Path | None = None,
    settings: dict[str, str] | None = None,
    data: Path | None = None,
) -> tuple[subprocess.Popen[bytes], Path]:
    """`openrum serve` on the data directory ``data`` (else a fresh one with the application
    `bench`, any origin): per-address rate limit off (all load comes from 127.0.0.1),
    /metrics public, and ``settings`` (name → value)."""
    import sys
    import tempfile

    if data is None:
        data = Path(tempfile.mkdtemp(prefix="openrum-bench-"))
        create_app(data)
    py = sys.executable
    server = start(
        [
            py,
            "-m",
            "openrum",
            "serve",
            "--port",
            str(port),
            "--data",
            str(data),
            "--setting",
            "rate_limit_ip_per_s",
            "0",
            "--setting",
            "metrics_public",
            "true",
            *(
                arg
                for name, value in (settings or {}).items()
                for arg in ("--setting", name, value)
            ),
        ],
        port,
        log,
        pin=pin,
    )
    return server, data
