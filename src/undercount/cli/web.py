"""Commands of the review app: ``user add|list|disable|remove|passwd`` and ``serve``."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Literal

import typer

from undercount.cli.app import app, console, err_console, handle_errors, open_case, print_json
from undercount.errors import ConfigError

user_app = typer.Typer(help="Accounts of the review app.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def is_loopback(host: str) -> bool:
    """True when ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def port_in_use(host: str, port: int) -> bool:
    """True when ``host:port`` cannot be bound (another server, often a second ``serve``, holds it).

    Example:
        >>> port_in_use("127.0.0.1", 0)
        False
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host.strip("[]"), port))
    except OSError:
        return True
    return False


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise ConfigError("no password on standard input")
        return password
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return str(password)


@user_app.command("add")
@handle_errors
def user_add_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    name: str = typer.Argument(..., help="Login name."),
    role: Literal["viewer", "reviewer", "admin", "disabled"] = typer.Option(..., "--role",
                                                                     help="viewer, reviewer or admin (disabled closes the account)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Add an account to the review app, or change an existing one's role and password."""
    from undercount.store.case import default_username
    from undercount.web.auth import add_user

    case = open_case(case_dir)
    password = _read_password(password_stdin)
    user = add_user(case, name, role, password, written_by=default_username())
    console.print(f"User {user.username} saved with role {user.role}", markup=False, highlight=False)


@user_app.command("list")
@handle_errors
def user_list_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    removed: bool = typer.Option(False, "--removed", help="Also list removed accounts."),
    as_json: bool = typer.Option(False, "--json", help="Print the accounts as JSON."),
) -> None:
    """The accounts of the review app: name, role, last change and who made it."""
    from undercount.web.auth import list_users

    users = list_users(open_case(case_dir), removed=removed)
    if as_json:
        print_json([{**u, "written_at": str(u["written_at"])} for u in users])
        return
    if not users:
        console.print(f"No accounts yet: add one with 'undercount user add {case_dir} NAME --role admin'",
                      markup=False, highlight=False)
        return
    console.print(f"{'user':<20} {'role':<9} {'changed (UTC)':<19}  by", markup=False, highlight=False)
    for u in users:
        when = str(u["written_at"])[:19]
        console.print(f"{u['username']:<20} {u['role']:<9} {when:<19}  {u['written_by'] or '-'}",
                      markup=False, highlight=False)


def _change(case_dir: Path, name: str, change: str, password: str | None = None) -> None:
    from undercount.store.case import default_username
    from undercount.web.auth import change_account

    user = change_account(open_case(case_dir), name, change, password=password, written_by=default_username())
    done = {"disable": "disabled", "remove": "removed", "password": "has a new password"}[change]
    console.print(f"User {user.username} {done}; their open sessions have ended.", markup=False, highlight=False)


@user_app.command("disable")
@handle_errors
def user_disable_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    name: str = typer.Argument(..., help="Login name."),
) -> None:
    """Disable an account (its sessions end; 'user add NAME --role R' opens it again)."""
    _change(case_dir, name, "disable")


@user_app.command("remove")
@handle_errors
def user_remove_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    name: str = typer.Argument(..., help="Login name."),
) -> None:
    """Remove an account (its sessions end; its decisions and audit entries stay)."""
    _change(case_dir, name, "remove")


@user_app.command("passwd")
@handle_errors
def user_passwd_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    name: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Set a new password for an account (its open sessions end)."""
    open_case(case_dir)  # a missing case is said before the password is asked for
    _change(case_dir, name, "password", _read_password(password_stdin))


@app.command("serve")
@handle_errors
def serve_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow a non-loopback --host (others on the network can reach the app)."
    ),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host", help="A host name the app answers to, besides 127.0.0.1, localhost and ::1 "
        "(repeat for several; e.g. the name of an HTTPS proxy in front of it)."
    ),
    trusted_proxy: list[str] = typer.Option(
        [], "--trusted-proxy", help="Address of a reverse proxy whose X-Forwarded-For/-Proto are believed "
        "(repeat for several; none by default)."
    ),
    session_idle: int = typer.Option(30 * 60, "--session-idle", min=1, help="Seconds of inactivity that end a session."),
    session_lifetime: int = typer.Option(
        12 * 3600, "--session-lifetime", min=1, help="Seconds after login that end a session, however active."
    ),
) -> None:
    """Serve the review app for a case (log in with an account made by 'undercount user add')."""
    import uvicorn

    from undercount.web import create_app
    from undercount.web.app import server_options
    from undercount.web.auth import list_users
    from undercount.web.settings import LOCAL_HOSTS, WebSettings

    if not is_loopback(host):
        if not allow_remote:
            raise ConfigError(
                f"--host {host} is not a loopback address: anyone who can reach it could try to log in; "
                "add --allow-remote to do this on purpose"
            )
        err_console.print(
            f"Warning: serving on {host}, reachable from other machines. The app speaks plain HTTP: "
            "put it behind an HTTPS reverse proxy and keep the accounts' passwords strong.",
            markup=False,
            highlight=False,
        )
    # The address served on is a name the app answers to (unless it is a wildcard).
    listening = [] if host.strip("[]") in ("0.0.0.0", "::") else [host]
    settings = WebSettings(
        allowed_hosts=tuple(dict.fromkeys([*LOCAL_HOSTS, *listening, *allowed_host])),
        trusted_proxies=tuple(trusted_proxy),
        session_idle=session_idle,
        session_lifetime=session_lifetime,
    )
    application = create_app(case_dir, settings=settings)
    case = open_case(case_dir)
    if port_in_use(host, port):
        raise ConfigError(f"port {port} on {host} is in use (another 'undercount serve'?): choose another with --port")
    if not [u for u in list_users(case) if u["role"] != "disabled"]:
        err_console.print(
            f"No accounts yet: add one with 'undercount user add {case_dir} NAME --role admin'",
            markup=False,
            highlight=False,
        )
    console.print(f"Serving {case.path} on http://{host}:{port}/ (Ctrl-C stops)", markup=False, highlight=False)
    # Paths are logged, never form bodies: searches by name or ID are POSTed.
    uvicorn.run(application, host=host, port=port, log_level="info", **server_options(settings))
