"""The review app: browse the register, decide uncertain links, re-cluster, read the audit log.

Start it with ``undercount serve CASE``; accounts are made with ``undercount user add``.
"""

from undercount.web.app import create_app
from undercount.web.auth import add_user

__all__ = ["create_app", "add_user"]
