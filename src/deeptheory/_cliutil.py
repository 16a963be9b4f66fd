"""Small pieces shared by the subcommands with their own parser (``verify``, ``sweep``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["OneLineParser", "UsageError", "parse_or_status"]


class UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` (no usage dump, no exit)."""

    def error(self, message: str):
        raise UsageError(message)


def parse_or_status(parser: argparse.ArgumentParser,
                    argv: Sequence[str]) -> argparse.Namespace | int:
    """``parser.parse_args(argv)``, or the exit status of ``--help`` (0) instead of
    raising SystemExit, so that the command can be called in-process."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
