"""`python -m practice users ...`: add users, change passwords, list and disable them.

The command's arguments are declared in practice/cli.py with every other command's; this
module carries out the action they name.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from practice import auth
from practice.bootstrap import open_database
from practice.formatting import plain_table, users_table


def run_users(args: argparse.Namespace) -> int:
    """Carry out one users action."""
    engine = open_database(args.db, seed=False)
    try:
        with engine.begin() as conn:
            if args.users_action == "list":
                users = auth.list_users(conn)
                print(
                    plain_table(users_table(users))  # role names, yes/no
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
                    locations=args.locations,
                    actor=auth.cli_actor(),
                )
                limited = f" limited to {', '.join(args.locations)}" if args.locations else ""
                print(f"added {args.role} {args.username}{limited}")
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
