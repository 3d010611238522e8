"""``sputter-twin``: one entry point, one module per command group.

Each command module defines ``register(subparsers)``, which adds its parser and sets ``func`` to a function
``(args) -> int``. Exit status: 0 done; 2 bad input (one line on standard error: file, field, value, allowed
range); 1 a failure at run time (tool fault, interlock); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sqlite3
import sys

from twin.errors import InputError, SputterTwinError, ToolError

COMMAND_MODULES = tuple(f"sputter_twin.cli.{name}" for name in ("simulate", "chamber", "campaign", "whatif", "tool",
                                                                  "dashboard"))
"""Command modules, registered in this order; a module that is not installed is skipped."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for every bad input
        self.exit(2, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sputter-twin", description="Digital twin and optimiser for RF sputtering.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except InputError as exc:  # one line; one per problem for an error that lists several (campaign import)
        for line in str(exc).splitlines() or [""]:
            print(f"sputter-twin: {line}", file=sys.stderr)
        return 2
    except ToolError as exc:
        print(f"sputter-twin: run-time failure: {exc}", file=sys.stderr)
        return 1
    except SputterTwinError as exc:  # a store that is full, locked or failing: the change was rolled back
        print(f"sputter-twin: run-time failure: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # the store translates SQLite's errors; anything else still gets one line
        print(f"sputter-twin: run-time failure: SQLite: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sputter-twin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the reader left: not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # writing an export or a report: a full disk, a folder without write permission
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"sputter-twin: run-time failure: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
