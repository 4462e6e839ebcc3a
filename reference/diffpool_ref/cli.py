"""The shared `main` of the trainer's command-line modules (train, crossval,
select): parse, record the exact command, run, and turn the errors a user can
cause (bad config, bad dataset files, bad values, I/O) into one line on
stderr and exit status 1."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Callable, Optional, Sequence

from .config import ConfigError
from .tu import TUFormatError


def run_main(module: str, build_parser: Callable[[], argparse.ArgumentParser],
             run: Callable[[argparse.Namespace, str], object],
             argv: Optional[Sequence[str]] = None) -> int:
    """Runs `run(args, command)` for `python3 -m diffpool_ref.<module> argv`
    (sys.argv[1:] when argv is None); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    command = f"python3 -m diffpool_ref.{module} " + " ".join(shlex.quote(a) for a in argv)
    try:
        run(args, command)
    except (ConfigError, TUFormatError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
