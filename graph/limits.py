"""Defaults of the checks, and resource limits with defaults a user can raise (`--max-nodes`, `--max-elements`).

They keep hostile or mistaken input from exhausting the machine: a program of more nodes than
MAX_NODES is refused while it is parsed, and a tensor of more elements than MAX_ELEMENTS is
refused when it is given or computed (each error names the limit and the option that raises it).
"""

DEFAULT_EPS = 1e-6  # the gradient check's relative step (PyTorch's gradcheck for float64)
DEFAULT_TOL = 1e-4  # the gradient check's and --expect's tolerance
DEFAULT_SAMPLES = 32  # elements of a tensor input the gradient check compares at most

MAX_NODES = 5_000_000  # ~1.5 GB of tape, values and gradients at ~300 bytes a node
MAX_ELEMENTS = 50_000_000  # 400 MB for one float64 tensor


def nodes_error(limit: int):
    from .errors import LimitError

    return LimitError(
        f"the program has more than {limit:,} nodes",
        hint=f"raise the limit with --max-nodes (now {limit:,}), or split the program",
    )


def elements_error(what: str, count: int, limit: int):
    from .errors import LimitError

    return LimitError(
        f"{what} would have {count:,} elements, more than the limit of {limit:,}",
        hint=f"raise the limit with --max-elements (now {limit:,})",
    )
