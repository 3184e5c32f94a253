"""The alert scheduler: a thread of the server that, every ``alerts_interval_s``, takes (or
renews) the store's ``alerts`` lease and, holding it, runs the availability checks that are due
(openrum/alerts/checks.py), evaluates every enabled rule, every application's built-in detectors
(openrum/alerts/detectors.py) and every check's latest runs, steps its incident, and notifies.
With several collectors on one store only the lease holder evaluates (and runs the checks), so
each incident is notified once; another takes over when the holder stops renewing it.

Reads (the rules' queries) run on this thread; writes go through ``write`` (the batch writer's
thread, the one thread that writes to DuckDB)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec

from openrum.alerts import channels, checks, detectors, evaluate, incidents, release_watch, rules
from openrum.alerts.channels import Channel
from openrum.alerts.rules import Rule
from openrum.alerts.silences import Silence, muting
from openrum.collect.metrics import Metrics
from openrum.query.model import QueryError
from openrum.settings import Settings
from openrum.store.base import App, CheckResult, Delivery, Incident, Store, StoreError

log = logging.getLogger("openrum.alerts")

LEASE = "alerts"
MOST_BASELINES = len(rules.BASELINES["median"])  # windows a baseline is measured on, at most
Write = Callable[[Callable[[Store], Any]], Any]


def load_rules(store: Store) -> list[Rule]:
    """The stored rules (one that no longer decodes is skipped and logged)."""
    out = []
    for body in store.alert_items("rules"):
        try:
            out.append(rules.decode(body))
        except QueryError as e:
            log.error("alert rule %s cannot be read: %s", body.get("id"), e)
    return out


def load_checks(store: Store) -> list[checks.Check]:
    """The stored availability checks (one that no longer decodes is skipped and logged)."""
    out = []
    for body in store.alert_items("checks"):
        try:
            out.append(checks.decode(body))
        except QueryError as e:
            log.error("availability check %s cannot be read: %s", body.get("id"), e)
    return out


def load_silences(store: Store) -> list[Silence]:
    """The stored silences."""
    return [msgspec.convert(body, Silence) for body in store.alert_items("silences")]


def load_channels(store: Store) -> dict[str, Channel]:
    """The stored channels by id."""
    return {
        c.id: c for c in (msgspec.convert(body, Channel) for body in store.alert_items("channels"))
    }


class Scheduler:
    """Evaluates the rules on a timer while holding the lease; ``tick`` is one pass."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        write: Write,
        clock: Callable[[], float] = time.time,
        holder: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.write = write
        self.clock = clock
        self.sleep = sleep
        self.holder = holder or secrets.token_hex(8)  # this process, in the lease
        self.leader = False
        # Firing incidents by severity (every collector counts them, leader or not), deliveries
        # and failed evaluations, for /metrics.
        self.metrics = metrics or Metrics()
        self.firing: Counter[str] = self.metrics.alerts_firing
        self.evaluations = 0
        self.releases = release_watch.Watch()
        self.kept = evaluate.Kept()  # measured windows, judged again in later rounds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openrum-alerts", daemon=True)

    def start(self) -> None:
        if self.settings.alerts_interval_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.settings.alerts_delivery_timeout_s + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.alerts_interval_s):
            try:
                self.tick()
            except StoreError as e:  # the store is down: try again at the next tick
                log.error("alert evaluation failed: %s", e)
            except Exception:  # a bug must not stop alerting for good: logged, tried again
                log.exception("alert evaluation failed")

    def tick(self) -> None:
        """Take or renew the lease; holding it, evaluate every enabled rule once."""
        now_s = self.clock()
        now_ms = int(now_s * 1000)
        now = dt.datetime.fromtimestamp(now_s, dt.UTC).replace(tzinfo=None)
        lease_ms = int(self.settings.alerts_lease_s * 1000)
        self.leader = bool(self.write(lambda s: s.take_lease(LEASE, self.holder, now_ms, lease_ms)))
        firing = {i.rule: i for i in self.store.incidents(state="firing", limit=100_000)}
        if self.leader:
            stored = load_rules(self.store)
            active = [r for r in stored if r.enabled]
            # The built-in detectors of every application, beside its own rules.
            judges: dict[str, detectors.Judge] = {}
            for app in self.store.list_apps():
                for d in [*detectors.for_app(app, self.settings, stored),
                          *self._regressions(app, stored, now_ms, firing)]:  # fmt: skip
                    active.append(d.rule)
                    judges[d.rule.id] = d.judge
            # The availability checks: those due run first, then their runs are judged.
            probes = [c for c in load_checks(self.store) if c.enabled]
            self._run_checks(probes, now_ms)
            for c in probes:
                active.append(checks.rule_of(c))
                judges[active[-1].id] = checks.judge_of(c)
            chans = load_channels(self.store)
            quiet = load_silences(self.store)
            with evaluate.keeping(self.kept):
                for rule in active:
                    try:
                        muted = muting(quiet, rule, now) is not None
                        judge = judges.get(rule.id) or detectors.ruled(rule)
                        self._evaluate(rule, judge, firing, chans, now, now_ms, muted)
                    except (QueryError, StoreError) as e:  # the next rules are evaluated still
                        self.metrics.alert_evaluation_failures += 1
                        log.error("alert rule %s cannot be evaluated: %s", rule.id, e)
            self.kept.next_round(max((self._keep_rounds(r) for r in active), default=1))
            # A deleted or disabled rule's incident ends with it (no notification: its rule
            # and channels are gone).
            for rule_id, incident in list(firing.items()):
                if rule_id not in {r.id for r in active}:
                    done = msgspec.structs.replace(
                        incident, state="resolved", end=now_ms,
                        detail={**incident.detail, "resolved_because": "rule removed"},
                    )  # fmt: skip
                    self._save(done)
                    del firing[rule_id]
        self.firing.clear()
        self.firing.update(i.severity for i in firing.values())

    def _keep_rounds(self, rule: Rule) -> int:
        """How many rounds a measurement of the rule is read again in: its windows, kept as
        long as they stay on the grid (and judged ``consecutive`` times), and its baselines
        measured ahead of their grid step."""
        interval = max(self.settings.alerts_interval_s, 1e-3)
        grid = evaluate.baseline_grid(rule, self.settings).total_seconds()
        return rule.consecutive + math.ceil(grid / interval) + 1

    def _regressions(
        self, app: App, stored: list[Rule], now_ms: int, firing: dict[str, Incident]
    ) -> list[detectors.Detector]:
        """The release regression detector's (a failed comparison is logged and counted)."""
        try:
            return self.releases.detectors(self.store, app, self.settings, stored, now_ms, firing)
        except StoreError as e:
            self.metrics.alert_evaluation_failures += 1
            log.error("release regressions of %s cannot be compared: %s", app.id, e)
            return []

    def _run_checks(self, probes: list[checks.Check], now_ms: int) -> None:
        """Run the checks that are due, at most ``checks_concurrency`` at once; store the runs."""
        slack = int(self.settings.alerts_interval_s * 500)
        due = [c for c in probes
               if checks.due(c, next(iter(self.store.check_results(c.id, limit=1)), None),
                             now_ms, slack)]  # fmt: skip
        if not due:
            return
        workers = min(len(due), self.settings.checks_concurrency)
        with checks.client() as client, ThreadPoolExecutor(workers, "openrum-check") as pool:
            results = list(pool.map(lambda c: checks.run(c, client, now_ms), due))
        for result in results:
            self._save_run(result)

    def _save_run(self, result: CheckResult) -> None:
        self.write(lambda s: s.save_check_result(result))

    def _evaluate(
        self,
        rule: Rule,
        judge: detectors.Judge,
        firing: dict[str, Incident],
        chans: dict[str, Channel],
        now: dt.datetime,
        now_ms: int,
        muted: bool = False,
    ) -> None:
        current = firing.get(rule.id)
        count = 1 if current else rule.consecutive
        ends = evaluate.evaluation_ends(rule, now, self.settings, count)
        recent: list[evaluate.Evaluation] = []
        measured = self.kept.measured
        for end in ends:  # latest first; an unbreached window settles it (incidents.step)
            recent.append(judge(self.store, self.settings, end))
            if not recent[-1].breached:
                break
        self.evaluations += 1
        # The first round measures everything anyway: the next grid point's baselines too.
        most = self.settings.alerts_baseline_prefetch if self.kept.round else MOST_BASELINES
        busy = self.kept.measured > measured
        evaluate.prefetch(self.store, rule, self.settings, now, most, busy)
        incident, event = incidents.step(rule, current, recent)
        if incident is None:
            return
        reminder = self.settings.alerts_reminder_s * 1000
        if event is None and incident.state == "firing" and not incident.notified:
            event = "firing"  # opened under a silence that has ended
        elif event is None and reminder and now_ms - incident.notified >= reminder:
            event = "reminder"
        if event is None:
            return
        # Muted, or resolving an incident nobody was told about: stored (when it changed), not
        # notified.
        if muted or (event == "resolved" and not incident.notified):
            if incident is not current:
                self._save(incident)
                self._track(firing, rule, incident)
            return
        # Stored before it is notified, marked notified after: a crash in between sends its
        # notifications again (at least once, never lost).
        self._save(incident)
        for channel_id in rule.channels:
            channel = chans.get(channel_id)
            if channel is None:
                log.error("alert rule %s: no channel %r", rule.id, channel_id)
                continue
            channels.deliver(channel, event, incident, self.settings, self._log, self.sleep)
        incident = msgspec.structs.replace(incident, notified=now_ms)
        self._save(incident)
        self._track(firing, rule, incident)

    @staticmethod
    def _track(firing: dict[str, Incident], rule: Rule, incident: Incident) -> None:
        if incident.state == "firing":
            firing[rule.id] = incident
        else:
            firing.pop(rule.id, None)

    def _save(self, incident: Incident) -> None:
        self.write(lambda s: s.save_incident(incident))

    def _log(self, delivery: Delivery) -> None:
        self.metrics.alert_deliveries["ok" if delivery.ok else "failed"] += 1
        self.write(lambda s: s.log_delivery(delivery))
