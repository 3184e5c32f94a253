"""Silences: while one covers a rule, its incidents open and resolve as usual and nobody is
notified. A maintenance window is a silence set in advance. An incident that opened under a
silence and still fires when it ends is notified then."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import msgspec

from openrum.alerts.rules import Rule, RuleError
from openrum.query.model import parse_time


class Silence(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A silence as stored and as sent to ``/api/v1/alerts/silences``."""

    start: str  # ISO-8601
    end: str
    app: str | None = None  # None: every application
    rule: str | None = None  # None: every rule of ``app``
    comment: str = ""
    id: str = ""


def validate(silence: Silence) -> Silence:
    """Check a silence; return it with its times as UTC ISO. Raises RuleError saying why."""
    start, end = parse_time(silence.start, "start"), parse_time(silence.end, "end")
    if start >= end:
        raise RuleError("a silence's start must be before its end")
    if silence.id and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", silence.id):
        raise RuleError("a silence id is 1 to 64 letters, digits, '_' or '-'")
    if len(silence.comment) > 1000:
        raise RuleError("a silence's comment is 1000 characters at most")
    return msgspec.structs.replace(silence, start=_iso(start), end=_iso(end))


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds") + "Z"


def covers(silence: Silence, rule: Rule, now: dt.datetime) -> bool:
    """Whether ``silence`` mutes ``rule`` at ``now`` (naive UTC)."""
    if silence.app is not None and silence.app != rule.app:
        return False
    if silence.rule is not None and silence.rule != rule.id:
        return False
    return parse_time(silence.start, "start") <= now < parse_time(silence.end, "end")


def muting(silences: Iterable[Silence], rule: Rule, now: dt.datetime) -> Silence | None:
    """The first silence muting ``rule`` at ``now``, or None."""
    return next((s for s in silences if covers(s, rule, now)), None)
