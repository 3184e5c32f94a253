"""Backend trace links (docs/errors.md): the agent sends a W3C ``traceparent`` header with a
page's requests and keeps its trace id with their action and with a failed request's error; the
``trace_url`` setting, a URL template with ``{trace_id}`` (a Jaeger or Grafana Tempo trace
page), makes it a link in the dashboard."""

from __future__ import annotations

from typing import Any


def add_trace_link(event: dict[str, Any], template: str) -> None:
    """Set ``trace_url`` on ``event`` from its ``trace_id`` (32 hex digits: checked at ingest,
    so it is safe in a URL) when there is one and a template."""
    trace_id = event.get("trace_id")
    if template and trace_id:
        event["trace_url"] = template.replace("{trace_id}", trace_id)
