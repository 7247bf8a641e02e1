"""undercount: deduplicated registers of victims and honest estimates of the uncounted."""

from undercount.errors import (
    ConfigError,
    InputError,
    LinkError,
    ModelError,
    StoreError,
    UndercountError,
)
from undercount.store import Case

__version__ = "0.1.0"

__all__ = [
    "Case",
    "ConfigError",
    "InputError",
    "LinkError",
    "ModelError",
    "StoreError",
    "UndercountError",
    "__version__",
]
