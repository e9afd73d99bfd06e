"""The hint for an unknown function: a name from another tool mapped to ours, a near-typo, or the list.

A suggestion is taken as written, so it must not change the maths: `arctan` is our `atan`, `sigmod`
is a typo of `sigmoid`, but `atanh` is one letter from `atan` and `tanh` and is neither, and `log1p`
one from `log10`. Only names within one edit (Damerau: an insertion, deletion, substitution or swap
of neighbours; two for names of six letters or more) are offered, and never for a name that is a
different well-known function. Imported only when a program calls an unknown function.
"""

from __future__ import annotations

from collections.abc import Collection

OTHER_NAMES = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "logistic": "sigmoid", "expit": "sigmoid",
    "fabs": "abs", "absolute": "abs", "fmax": "max", "fmin": "min", "maximum": "max", "minimum": "min",
    "power": "pow", "prelu": "leaky_relu", "logsoftmax": "log_softmax", "sgn": "sign", "signum": "sign",
    "exponential": "exp", "square_root": "sqrt", "sine": "sin", "cosine": "cos", "tangent": "tan",
}  # fmt: skip
"""Other tools' names (NumPy, PyTorch, C, spreadsheets) and the English words for our functions. Lower case: `ReLU` and
`LeakyReLU` are looked up as `relu` and `leakyrelu`."""

DIFFERENT = frozenset(
    {
        "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "sinc", "cot",
        "coth", "sec", "csc", "sech", "csch", "exp2", "expm1", "log1p", "logb", "lg", "lb", "elu",
        "gelu", "selu", "relu6", "crelu", "silu", "swish", "mish", "isqrt", "cbrt", "amax", "amin",
        "argmax", "argmin", "softmin", "softsign", "logit", "erf", "floor", "ceil", "round", "sign",
        "gamma", "hypot", "mod", "cumsum", "prod", "std", "var", "norm",
    }
)  # fmt: skip
"""Well-known functions that are near one of ours but are not it: never offered a correction."""

NOTES = {
    "e": "e is the constant 2.718…, not a function: write exp(x), or e**x",
    "sqr": "sqr is the square root in some languages and the square in others: "
    "write sqrt(x) for the root, x**2 for the square",
    "lg": "lg is log10 in some books and log2 in others: write log10(x) or log2(x)",
}
"""Names whose meaning differs between tools: the hint names each reading in our spelling."""


def hint(name: str, functions: Collection[str]) -> str:
    """What to say about an unknown function `name`, given the language's function names."""
    key = name.lower()
    if key in NOTES:
        return NOTES[key]
    if key in functions:  # Sin, ReLU
        return f"did you mean {key}? (names are lower case)"
    ours = OTHER_NAMES.get(key)
    if ours in functions:
        return f"did you mean {ours}?"
    listed = f"the functions are: {', '.join(functions)}"
    near = [] if key in OTHER_NAMES else _nearest(key, functions)
    if near and key in DIFFERENT:
        return f"{name} is not available ({' and '.join(near)} {_are(near)}); {listed}"
    return f"did you mean {' or '.join(near)}?" if near else listed


def _are(names: list[str]) -> str:
    return "is a different function" if len(names) == 1 else "are different functions"


def _nearest(name: str, functions: Collection[str]) -> list[str]:
    """Our names within the allowed distance of `name`, the closest first (ties all kept)."""
    found: dict[int, list[str]] = {}
    for candidate in functions:
        allowed = 2 if min(len(name), len(candidate)) >= 6 else 1
        distance = edit_distance(name, candidate, allowed)
        if distance <= allowed:
            found.setdefault(distance, []).append(candidate)
    return found[min(found)] if found else []


def edit_distance(a: str, b: str, most: int) -> int:
    """Damerau's distance (optimal string alignment) between a and b, or most + 1 if it is larger."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    before, row = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)  # two neighbours swapped
        before, row = row, current
    return min(row[-1], most + 1)
