"""The output rule, on the installed command as a real process: a reader that closes the pipe ends
the run quietly with 141 (as SIGPIPE would), and any other failure to write the output (a full
disk) is one line on stderr and exit 74 — for tables and JSON alike, never a traceback."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from fuzzing import backprop_command

WIDE = "+".join(f"x{i}" for i in range(300))  # a table of 600 rows, written line by line
WIDE_VALUES = [word for i in range(300) for word in (f"--x{i}", "1")]


def closed_early(*args: str) -> tuple[int, bytes]:
    """Run the command with its output's reader gone before it writes; (exit code, stderr). (A
    reader that takes a few bytes first is a race: a pipe here may hold a whole 1 MB document.)"""
    process = subprocess.Popen([*backprop_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read()
    return process.wait(timeout=120), stderr


@pytest.mark.parametrize(
    "args",
    [
        ["eval", WIDE, "--all", *WIDE_VALUES],
        ["eval", WIDE, "--json", *WIDE_VALUES],
        ["trace", WIDE, *WIDE_VALUES],
        ["paths", WIDE, "--wrt", "x0", *WIDE_VALUES],
    ],
    ids=["eval-tables", "eval-json", "trace", "paths"],
)
def test_a_closed_pipe_ends_the_run_quietly_with_141(args):
    code, stderr = closed_early(*args)
    assert (code, stderr) == (141, b"")


def test_batch_stops_quietly_when_its_reader_goes():
    process = subprocess.Popen(
        [*backprop_command(), "batch", "x * y"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    feeder = threading.Thread(target=_feed_points, args=(process.stdin,))
    feeder.start()
    process.stdout.close()  # batch answers chunk by chunk, while the points still arrive
    stderr = process.stderr.read()
    assert (process.wait(timeout=120), stderr) == (141, b"")
    feeder.join(timeout=120)


def _feed_points(stdin) -> None:
    """A million points, until batch stops reading them."""
    try:
        for start in range(0, 1_000_000, 10_000):
            stdin.write(b"".join(b'{"x": %d, "y": 2}\n' % i for i in range(start, start + 10_000)))
        stdin.close()
    except BrokenPipeError:
        pass


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("flags", [["--json"], []], ids=["json", "tables"])
def test_a_full_disk_is_one_line_and_exit_74(flags):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*backprop_command(), "eval", "(a + b) * c", "--a", "7", "--b", "3", "--c", "2", *flags],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    assert result.returncode == 74
    assert result.stderr.decode() == "error: cannot write the output: No space left on device\n"
