"""Conventions shared by every ``attngrad`` subcommand: exit statuses, one-line errors, the files
a command reads and writes, and the memory limit ``--max-memory``.

A subcommand refuses by raising :class:`CommandError` (a message and an exit status);
``attngrad.cli.main`` prints it as one line, ``attngrad CMD: message``, on stderr.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

OK, FAILED, USAGE, REFUSED, TOO_LARGE, FILE_ERROR, PLUGIN_ERROR = 0, 1, 2, 3, 4, 5, 6
SAT, UNSAT = 10, 20  # the SAT-solver convention
INTERRUPTED = 130    # the shell's 128 + SIGINT

EXIT_CODES = (
    (OK, "success"),
    (FAILED, "check: a statement failed; stress: the claim failed (--model: an error exceeded "
              "its certified bound)"),
    (USAGE, "bad usage or input (a malformed option, file or value)"),
    (REFUSED, "decide: REFUSED (the error budget or the oracle cannot be trusted)"),
    (TOO_LARGE, "too large: the estimated memory exceeds --max-memory"),
    (FILE_ERROR, "a file cannot be read or written (missing directory, a directory, no permission)"),
    (PLUGIN_ERROR, "a plug-in (--oracle module:function) raised an exception"),
    (SAT, "decide: SAT"),
    (UNSAT, "decide: UNSAT"),
)


def exit_codes_text() -> str:
    """The table of exit statuses, as printed by ``attngrad --help``."""
    return "exit status:\n" + "\n".join(f"  {code:>3}  {what}" for code, what in EXIT_CODES)


def run(command: str, fn, args) -> int:
    """``fn(args)``'s exit status; a refusal, an exhausted memory or an interrupt ends it with
    one line ``attngrad COMMAND: message`` on stderr and its status."""
    try:
        return fn(args)
    except CommandError as exc:
        status, message = exc.status, str(exc)
    except MemoryError:  # an estimate fell short: still one line, with the same status
        status = TOO_LARGE
        message = "ran out of memory; lower the sizes (or --max-memory, which estimates first)"
    except KeyboardInterrupt:
        status, message = INTERRUPTED, "interrupted"
    print(f"attngrad {command}: " + " ".join(message.split()), file=sys.stderr)
    return status


def count(k: int, noun: str) -> str:
    """"1 statement", "2 statements"."""
    return f"{k} {noun}" + ("" if k == 1 else "s")


class CommandError(Exception):
    """A refusal of a subcommand: printed as one line, the command exits with ``status``."""

    def __init__(self, message: str, status: int = USAGE):
        super().__init__(message)
        self.status = status


def seed(text: str) -> int:
    """argparse's type for --seed: an integer >= 0 (what numpy's generators accept)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


# --------------------------------------------------------------------------
# sizes and the memory limit

_UNITS = {"": 1, "B": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40, "P": 2 ** 50}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from "4G", "512MiB", "1.5T", "1000000" (binary units); argparse's type for --max-memory."""
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive size such as 8G or 512M, got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def format_size(nbytes: int) -> str:
    """"8.0 TiB"; beyond the EiB, a power of two ("2^130 bytes")."""
    for unit, scale in (("EiB", 2 ** 60), ("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30),
                        ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if nbytes >= scale:
            if nbytes >= 1024 * scale and unit == "EiB":
                return f"2^{nbytes.bit_length() - 1} bytes"
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def default_max_memory() -> int:
    """4 GiB, or half the physical memory where that is less."""
    limit = 4 * 2 ** 30
    try:
        limit = min(limit, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows) or no such name
        pass
    return limit


def add_max_memory(parser) -> None:
    parser.add_argument("--max-memory", type=parse_size, default=None, metavar="SIZE",
                        help="refuse work estimated to need more memory than SIZE (e.g. 16G; "
                             f"default {format_size(default_max_memory())}: 4 GiB or half the "
                             "physical memory)")


def require_memory(args, need: int, what: str, *, at_least: bool = False) -> None:
    """CommandError (TOO_LARGE) naming ``what`` (the flag and its value) when ``need`` bytes
    exceed ``args.max_memory``."""
    limit = args.max_memory if args.max_memory is not None else default_max_memory()
    if need > limit:
        size = ("more than " if at_least else "about ") + format_size(need)
        raise CommandError(f"{what} needs {size}, over --max-memory {format_size(limit)} "
                           "(raise it with --max-memory SIZE)", TOO_LARGE)


# --------------------------------------------------------------------------
# files


def input_file(path, flag: str) -> Path:
    """``path`` as a readable regular file, else CommandError (FILE_ERROR) naming ``flag``."""
    p = Path(path)
    if not p.exists():
        raise CommandError(f"{flag} {path}: no such file", FILE_ERROR)
    if p.is_dir():
        raise CommandError(f"{flag} {path}: is a directory, not a file", FILE_ERROR)
    if not os.access(p, os.R_OK):
        raise CommandError(f"{flag} {path}: not readable (permission denied)", FILE_ERROR)
    return p


def output_file(path, flag: str, *, suffix: str | None = None) -> Path:
    """``path`` as a file that can be written (checked before any work is done): CommandError
    naming ``flag``: USAGE for a wrong suffix, FILE_ERROR for a directory, a missing or
    read-only parent directory."""
    p = Path(path)
    if p.is_dir():
        raise CommandError(f"{flag} {path}: is a directory; give a file name", FILE_ERROR)
    if suffix and p.suffix != suffix:
        raise CommandError(f"{flag} {path}: the name must end in {suffix}", USAGE)
    parent = p.parent
    if not parent.is_dir():
        raise CommandError(f"{flag} {path}: the directory {str(parent)!r} does not exist",
                           FILE_ERROR)
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise CommandError(f"{flag} {path}: not writable (permission denied)", FILE_ERROR)
    return p


def output_dir(path, flag: str) -> Path:
    """``path`` as a directory (created with its parents), else CommandError (FILE_ERROR)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CommandError(f"{flag} {path}: exists and is not a directory", FILE_ERROR)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{flag} {path}: cannot create the directory ({exc.strerror})",
                           FILE_ERROR) from None
    if not os.access(p, os.W_OK):
        raise CommandError(f"{flag} {path}: not writable (permission denied)", FILE_ERROR)
    return p


@contextmanager
def writing(flag: str, path):
    """Turns an OSError while writing ``path`` into a one-line CommandError (FILE_ERROR)."""
    try:
        yield
    except OSError as exc:
        raise CommandError(f"{flag} {path}: cannot write ({exc.strerror or exc})",
                           FILE_ERROR) from None


# --------------------------------------------------------------------------
# plug-ins


def plugin(flag: str, spec: str):
    """The callable named by ``spec`` = "module:function" (:func:`attngrad.validate.load_callable`,
    the rule every plug-in option shares), wrapped so that an exception it raises ends the
    command with one line and PLUGIN_ERROR."""
    from .validate import load_callable

    fn = load_callable(flag, spec)

    def guarded(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure of foreign code, reported as such
            raise CommandError(f"{flag} {spec} raised {type(exc).__name__}: {exc}",
                               PLUGIN_ERROR) from exc

    return guarded
