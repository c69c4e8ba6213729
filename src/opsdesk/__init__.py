"""OpsDesk: one system for customer operations."""

__version__ = "0.1.0"
