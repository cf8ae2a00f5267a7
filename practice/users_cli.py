"""`python -m practice users ...`: add users, change passwords, list and disable them."""

from __future__ import annotations

import argparse
import getpass
import sys

from practice import auth, config
from practice.bootstrap import open_database
from practice.formatting import plain_table


def add_users_command(commands: argparse._SubParsersAction) -> None:
    """Register `users add|passwd|list|disable` on the command line."""
    parser = commands.add_parser(
        "users", help="manage who may sign in (owner, therapist, front desk)"
    )
    actions = parser.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (asks for the password)")
    add.add_argument("username", metavar="NAME")
    add.add_argument("--role", choices=config.ROLES, required=True)
    add.add_argument(
        "--therapist",
        metavar="NAME",
        default=None,
        help="for a therapist: their name as the exports spell it",
    )
    passwd = actions.add_parser(
        "passwd", help="set a new password (and forget the name's failed sign-ins)"
    )
    passwd.add_argument("username", metavar="NAME")
    actions.add_parser("list", help="list users (never their passwords)")
    disable = actions.add_parser("disable", help="stop a user from signing in")
    disable.add_argument("username", metavar="NAME")
    for sub in (add, passwd):
        sub.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (for scripts)",
        )
    for sub in (add, passwd, disable, *actions.choices.values()):
        if not any(a.dest == "db" for a in sub._actions):
            sub.add_argument("--db", metavar="URL", default=None, help="database URL")
    parser.set_defaults(handler=run_users)


def run_users(args: argparse.Namespace) -> int:
    """Carry out one users action."""
    engine = open_database(args.db, seed=False)
    try:
        with engine.begin() as conn:
            if args.users_action == "list":
                users = auth.list_users(conn)
                print(
                    plain_table(users)
                    if not users.empty
                    else "no users yet (the app runs in demo mode)"
                )
            elif args.users_action == "add":
                auth.add_user(
                    conn,
                    args.username,
                    args.role,
                    _read_password(args),
                    therapist_name=args.therapist,
                    actor=auth.cli_actor(),
                )
                print(f"added {args.role} {args.username}")
            elif args.users_action == "passwd":
                auth.set_password(conn, args.username, _read_password(args), actor=auth.cli_actor())
                print(f"new password set for {args.username}")
            else:
                auth.disable_user(conn, args.username, actor=auth.cli_actor())
                print(f"disabled {args.username}")
    except auth.UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise auth.UserError("the two passwords differ")
    return first
