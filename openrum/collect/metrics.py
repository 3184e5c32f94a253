"""Counters of the collector and the batch writer, rendered in Prometheus text format."""

from __future__ import annotations

from collections import Counter

from openrum import __version__

# Upper bounds (seconds) of the flush latency histogram.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request-side counters are touched by the event loop only, writer-side by the writer only."""

    def __init__(self) -> None:
        self.beacons_accepted = 0
        self.events_accepted = 0
        self.bytes_accepted = 0
        self.rejected: Counter[str] = Counter()  # whole beacons, by reason
        # Requests refused by the HTTP layer before any route (collect/connection.py), by reason
        self.refused: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()  # events or values in the batch step, by reason
        self.stored: Counter[str] = Counter()  # rows written, by table
        self.expired: Counter[str] = Counter()  # rows deleted by the retention job, by table
        # Alerts (openrum/alerts/scheduler.py): firing incidents by severity, delivery attempts
        # by outcome, rule evaluations that failed.
        self.alerts_firing: Counter[str] = Counter()
        self.alert_deliveries: Counter[str] = Counter()
        self.alert_evaluation_failures = 0
        self.flushes = 0
        self.flush_failures = 0
        self.flush_seconds_sum = 0.0
        self.flush_buckets = [0] * len(_BUCKETS)

    def observe_flush(self, seconds: float) -> None:
        self.flushes += 1
        self.flush_seconds_sum += seconds
        for i, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                self.flush_buckets[i] += 1

    def render(self, queue_depth: int, spool_bytes: int) -> str:
        """The Prometheus text exposition of every counter."""
        out = [
            "# HELP openrum_build_info OpenRUM version.",
            "# TYPE openrum_build_info gauge",
            f'openrum_build_info{{version="{__version__}"}} 1',
        ]

        def counter(name: str, help_: str, value: float, labels: str = "") -> None:
            if not any(line.startswith(f"# HELP {name} ") for line in out):
                out.append(f"# HELP {name} {help_}")
                out.append(f"# TYPE {name} counter")
            out.append(f"{name}{labels} {value}")

        counter("openrum_beacons_accepted_total", "Beacons accepted (202).", self.beacons_accepted)
        counter(
            "openrum_events_accepted_total", "Events in accepted beacons.", self.events_accepted
        )
        counter(
            "openrum_bytes_accepted_total", "Body bytes of accepted beacons.", self.bytes_accepted
        )
        for reason, n in sorted(self.rejected.items()):
            counter(
                "openrum_beacons_rejected_total",
                "Beacons rejected, by reason.",
                n,
                f'{{reason="{reason}"}}',
            )
        for reason, n in sorted(self.refused.items()):
            counter(
                "openrum_requests_refused_total",
                "Requests refused by the HTTP layer (head too large or too slow), by reason.",
                n,
                f'{{reason="{reason}"}}',
            )
        for reason, n in sorted(self.dropped.items()):
            counter(
                "openrum_drops_total",
                "Events or values dropped in the batch step, by reason.",
                n,
                f'{{reason="{reason}"}}',
            )
        for table, n in sorted(self.stored.items()):
            counter(
                "openrum_events_stored_total",
                "Rows written to the store, by table.",
                n,
                f'{{table="{table}"}}',
            )
        for table, n in sorted(self.expired.items()):
            counter(
                "openrum_expired_total",
                "Rows deleted by the retention job, by table.",
                n,
                f'{{table="{table}"}}',
            )
        for outcome in ("ok", "failed"):
            counter(
                "openrum_alert_deliveries_total",
                "Attempts to deliver alert notifications, by outcome.",
                self.alert_deliveries[outcome],
                f'{{outcome="{outcome}"}}',
            )
        counter(
            "openrum_alert_evaluation_failures_total",
            "Alert rule evaluations that failed (logged with the reason).",
            self.alert_evaluation_failures,
        )
        counter(
            "openrum_flush_failures_total",
            "Batch writes that failed (and were retried).",
            self.flush_failures,
        )
        out += [
            "# HELP openrum_queue_depth Beacons accepted and not yet stored.",
            "# TYPE openrum_queue_depth gauge",
            f"openrum_queue_depth {queue_depth}",
            "# HELP openrum_spool_bytes Bytes in the spool not yet stored.",
            "# TYPE openrum_spool_bytes gauge",
            f"openrum_spool_bytes {spool_bytes}",
            "# HELP openrum_alerts_firing Alert incidents firing, by severity.",
            "# TYPE openrum_alerts_firing gauge",
            *(
                f'openrum_alerts_firing{{severity="{severity}"}} {n}'
                for severity, n in sorted(
                    {"info": 0, "warning": 0, "critical": 0, **self.alerts_firing}.items()
                )
            ),
            "# HELP openrum_flush_seconds Time to enrich and write one batch.",
            "# TYPE openrum_flush_seconds histogram",
        ]
        for bound, n in zip(_BUCKETS, self.flush_buckets, strict=True):
            out.append(f'openrum_flush_seconds_bucket{{le="{bound}"}} {n}')
        out += [
            f'openrum_flush_seconds_bucket{{le="+Inf"}} {self.flushes}',
            f"openrum_flush_seconds_sum {self.flush_seconds_sum}",
            f"openrum_flush_seconds_count {self.flushes}",
        ]
        return "\n".join(out) + "\n"
