"""OpenRUM: self-hosted Real User Monitoring."""

__version__ = "0.1.0"
