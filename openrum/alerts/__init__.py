"""Alerts (docs/alerts.md): rules on query-API metrics, evaluated on a schedule, opening
incidents that are notified through channels.

``rules`` (the rule model, validated against the query catalogues) → ``evaluate`` (a rule as
queries of the query model, for windows ending at a given time) → ``incidents`` (the pure
firing → resolved step) → ``channels`` (webhook, Slack-compatible, e-mail) → ``scheduler`` (the
thread in the server that holds the lease and runs it all).
"""
