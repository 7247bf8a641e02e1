"""Commands of this stage (registered on the shared app)."""

from undercount.cli.app import app  # noqa: F401
