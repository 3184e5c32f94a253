"""Rows as Arrow tables, the form every store inserts: one column per struct field, in order."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pyarrow as pa

from openrum.rows import ActionRow, ErrorRow, SessionTouch, UserEventRow

_TIME_FIELDS = frozenset({"time", "received", "start", "last_seen", "last_received"})


def _arrow_type(struct: type[msgspec.Struct], name: str) -> pa.DataType:
    if name in _TIME_FIELDS:
        return pa.timestamp("ms")
    if name == "eid":
        return pa.uint64()
    hint = struct.__annotations__[name]
    if "float" in hint:
        return pa.float64()
    if "int" in hint:
        return pa.int64()
    if "bool" in hint:
        return pa.bool_()
    return pa.string()


def _schema(struct: type[msgspec.Struct]) -> pa.Schema:
    return pa.schema([(f, _arrow_type(struct, f)) for f in struct.__struct_fields__])


_SCHEMAS: dict[type[msgspec.Struct], pa.Schema] = {
    s: _schema(s) for s in (ActionRow, ErrorRow, UserEventRow, SessionTouch)
}


def to_arrow(struct: type[msgspec.Struct], rows: Sequence[msgspec.Struct]) -> pa.Table:
    """Rows of one struct type as an Arrow table, columns in field order."""
    schema = _SCHEMAS[struct]
    n = len(rows)
    columns = zip(*(msgspec.structs.astuple(r) for r in rows), strict=True)
    arrays = [
        # Many measures are absent from whole batches (FID, redirects, TLS on plain HTTP…).
        pa.nulls(n, field.type) if col.count(None) == n else pa.array(col, type=field.type)
        for col, field in zip(columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def latest_actions(rows: list[ActionRow]) -> list[ActionRow]:
    """One row per key within a batch (the highest beacon sequence wins)."""
    best: dict[int, ActionRow] = {}
    for r in rows:
        seen = best.get(r.eid)
        if seen is None or r.seq > seen.seq:
            best[r.eid] = r
    return list(best.values()) if len(best) < len(rows) else rows


def merge_touches(touches: list[SessionTouch]) -> list[SessionTouch]:
    """Fold several touches of one session in a batch into one (min start, max last seen)."""
    merged: dict[tuple[str, str], SessionTouch] = {}
    for t in touches:
        key = (t.app, t.session_id)
        m = merged.get(key)
        if m is None:
            merged[key] = msgspec.structs.replace(t)
            continue
        if t.start < m.start:
            m.start, m.entry_page = t.start, t.entry_page
        if t.last_seen >= m.last_seen:
            m.last_seen, m.exit_page = t.last_seen, t.exit_page
        m.last_received = max(m.last_received, t.last_received)
        m.user_tag = t.user_tag or m.user_tag
        m.ended = m.ended or t.ended
    return list(merged.values())
