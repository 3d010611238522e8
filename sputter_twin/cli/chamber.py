"""``sputter-twin chamber doc|show``: every chamber parameter with unit, meaning and source."""

from __future__ import annotations

from pathlib import Path

from twin import Chamber
from twin.config import toml_value


def register(sub) -> None:
    p = sub.add_parser("chamber", help="document or print a chamber's parameters")
    p.add_argument("action", choices=("doc", "show"), help="doc: every parameter documented; show: a chamber")
    p.add_argument("--chamber", type=Path, help="chamber TOML (show); default: built-in")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.action == "doc":  # valid TOML: a chamber file of the defaults, every line documented
        print("# Every chamber parameter: its default, then unit, [allowed range], meaning and source tag.")
        print(f"name = {toml_value(Chamber().name)}")
        section = None
        for row in Chamber.parameter_docs():
            if row["section"] != section:
                section = row["section"]
                print(f"\n[{section}]")
            rng = "" if row.get("low") is None else f" [{row['low']}, {row['high']}]"
            print(f"{row['name']} = {toml_value(row['default'])}  # {row['unit']}{rng} {row['doc']} {row['source']}")
    else:
        chamber = Chamber.from_toml(args.chamber) if args.chamber else Chamber()
        print(chamber.to_toml(), end="")
    return 0
