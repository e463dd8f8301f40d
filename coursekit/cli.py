"""The ``coursekit`` command."""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coursekit", description="The deep-learning workbook's command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check versions, CPU/GPU and the widget front-end")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from .device import doctor

        findings = doctor()
        return 0 if all(f.ok for f in findings) else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
