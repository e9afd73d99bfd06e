"""Write the example files the README's commands read, or print a long generated program.

python make.py                 # rewrite x.npy and grid.npy (needs NumPy)
python make.py halving N       # x1 = (a + a)/2; ...; xN = (x(N-1) + x(N-1))/2: 2^N paths, gradient 1
python make.py doubling N      # x1 = a + a; ...; xN = x(N-1) + x(N-1): 2^N paths, gradient 2^N
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def chain(kind: str, lines: int) -> str:
    """The program of `lines` statements, each using the one before twice."""
    step = "(x{0} + x{0})/2" if kind == "halving" else "x{0} + x{0}"
    first = step.replace("x{0}", "a")
    return (
        "\n".join([f"x1 = {first}"] + [f"x{i} = " + step.format(i - 1) for i in range(2, lines + 1)]) + "\n"
    )


def write_arrays() -> None:
    """x.npy: 7000 × 1 (the memory estimate's example); grid.npy: rows of x, W, b for batch."""
    import numpy as np

    np.save(HERE / "x.npy", np.ones((7000, 1)))
    grid = [[x, w, b] for x in (-1.0, 0.0, 1.0) for w in (0.5, 2.0) for b in (0.0, 1.0)]
    np.save(HERE / "grid.npy", np.array(grid))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("halving", "doubling"):
        sys.stdout.write(chain(sys.argv[1], int(sys.argv[2])))
    elif len(sys.argv) == 1:
        write_arrays()
    else:
        sys.exit(__doc__)
