"""The version of undercount (read by the store, the report and the CLI; the root package hands it on)."""

__version__ = "0.1.0"
