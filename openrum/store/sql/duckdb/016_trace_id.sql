-- The backend trace of an action's requests and of a failed request (the trace id of the W3C
-- traceparent header the agent sent, docs/protocol.md `trace`): the dashboard links it to the
-- tracing system (setting trace_url). Null for rows stored before and for untraced requests.

ALTER TABLE actions ADD COLUMN trace_id VARCHAR;
ALTER TABLE errors ADD COLUMN trace_id VARCHAR;
