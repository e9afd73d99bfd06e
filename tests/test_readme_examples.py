"""Every fenced example of the README runs as printed, and prints what the README shows.

```sh blocks: each command line (a trailing backslash continues it) must exit 0 without a traceback.
```text blocks: a `$ ` line is a command and the lines up to the next one are what it prints: the
whole of its stdout, of its stderr or of both, or, where the README elides with a `…` line, each
shown line in order among them; `$ echo $?` shows the command's exit status. ```python blocks run
whole. Commands run through bash, as a reader would paste them (the README is ours), from a copy of
`examples/` with `backprop` on PATH as this checkout's `python -m backprop`, at 120 columns (so a
line printed under a table is not wrapped); a block whose prose says "from the repository's top
folder" runs from there. What cannot run here is skipped with the reason."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ELISION = "…"
TOP_FOLDER = "repository's top folder"


@dataclass(frozen=True)
class Example:
    """One runnable piece of the README: a command (with what it prints, if shown) or a Python block."""

    line: int
    kind: str  # "sh", "text" or "python"
    code: str
    shown: tuple[str, ...] | None = None
    status: int | None = None
    from_top: bool = False

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.kind}"


def fenced_blocks(text: str) -> list[tuple[str, int, list[str], str]]:
    """(language, line of the first body line, body lines, the prose just before) of each fenced block."""
    blocks, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        opening = re.match(r"^```(\w*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        end = lines.index("```", index + 1)
        prose = "\n".join(lines[max(0, index - 4) : index])
        blocks.append((opening.group(1), index + 2, lines[index + 1 : end], prose))
        index = end + 1
    return blocks


def sh_commands(start: int, body: list[str], from_top: bool) -> list[Example]:
    """Each command line of a ```sh block, continuation lines joined; comment lines dropped."""
    examples, pending, first = [], "", start
    for number, line in enumerate(body, start):
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            first = number
        pending += line + "\n"
        if not line.endswith("\\"):
            examples.append(Example(first, "sh", pending, from_top=from_top))
            pending = ""
    return examples


def text_commands(start: int, body: list[str]) -> list[Example]:
    """Each `$ ` line of a ```text block with the lines it prints, and a following `$ echo $?`'s status."""
    starts = [i for i, line in enumerate(body) if line.startswith("$ ")]
    examples: list[Example] = []
    for position, i in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(body)
        command, shown = body[i][2:], tuple(body[i + 1 : end])
        if command.strip() == "echo $?":
            examples[-1] = Example(**{**examples[-1].__dict__, "status": int(shown[0])})
        else:
            examples.append(Example(start + i, "text", command, shown))
    return examples


def readme_examples() -> list[Example]:
    examples: list[Example] = []
    for language, start, body, prose in fenced_blocks(README.read_text(encoding="utf-8")):
        if language == "sh":
            examples += sh_commands(start, body, TOP_FOLDER in prose)
        elif language == "text":
            examples += text_commands(start, body)
        elif language == "python":
            examples.append(Example(start, "python", "\n".join(body) + "\n"))
    return examples


EXAMPLES = readme_examples()


def skip_reason(code: str) -> str | None:
    """Why a command cannot run in the suite, or None."""
    if "bench/run.py" in code:
        return "installs the peers (PyTorch, JAX, micrograd, SymPy) and runs for minutes"
    if "pip install" in code:
        return "installs backprop into a new environment (the suite itself runs in such an install)"
    if "HYPOTHESIS_PROFILE=long" in code:
        return "the long run takes about half an hour (its last results are the table under it)"
    if re.search(r"\|\s*dot\b", code) and shutil.which("dot") is None:
        return "needs Graphviz's dot on PATH, which this machine lacks"
    if re.search(r"\bjq\b", code) and shutil.which("jq") is None:
        return "needs jq on PATH, which this machine lacks"
    return None


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> dict:
    """A scratch top folder: a copy of examples/, the checkout's tests/ and bench/ linked, `backprop` on PATH."""
    top = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", top / "examples")
    (top / "tests").symlink_to(ROOT / "tests")
    (top / "bench").symlink_to(ROOT / "bench")  # the short benchmark runs (`bench/batch.py`)
    (top / "bin").mkdir()
    shim = top / "bin" / "backprop"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m backprop "$@"\n')
    shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "PYTHONSTARTUP")}
    paths = [str(top / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
    env.update(PATH=os.pathsep.join(paths), PYTHONPATH=str(ROOT), COLUMNS="120", NO_COLOR="1", TERM="dumb")
    return {"top": top, "env": env}


def run(example: Example, place: dict) -> subprocess.CompletedProcess:
    cwd = place["top"] if example.from_top else place["top"] / "examples"
    words = [sys.executable, "-c", example.code] if example.kind == "python" else ["bash", "-c", example.code]
    return subprocess.run(
        words,
        cwd=cwd,
        env=place["env"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def assert_shows(shown: tuple[str, ...], out: str, err: str) -> None:
    """The shown lines are stdout, stderr or both whole; with a `…` line, each other line in order."""
    expected = [line.rstrip() for line in shown]
    if ELISION not in expected:
        assert expected in (lines(out), lines(err), lines(out) + lines(err)), (
            f"stdout:\n{out}\nstderr:\n{err}"
        )
        return
    real, at = lines(out) + lines(err), 0
    for line in (line for line in expected if line != ELISION):
        assert line in real[at:], f"not shown in order: {line!r}\nstdout:\n{out}\nstderr:\n{err}"
        at = real.index(line, at) + 1


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_readme_example_runs_as_printed(example: Example, place: dict):
    reason = skip_reason(example.code)
    if reason:
        pytest.skip(reason)
    done = run(example, place)
    assert "Traceback" not in done.stderr, done.stderr
    if example.kind in ("sh", "python"):
        assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        return
    if example.status is not None:
        assert done.returncode == example.status
    assert_shows(example.shown, done.stdout, done.stderr)


def test_the_readme_has_examples_of_every_kind():
    kinds = {example.kind for example in EXAMPLES}
    assert kinds == {"sh", "text", "python"} and len(EXAMPLES) > 40
    assert all(ELISION not in example.code.split("#")[0] for example in EXAMPLES if example.kind != "python")
