"""What an op is, and the `@op` decorator that puts one in the tables; the entries are in ops.py.

OPS and FUNCTIONS are filled as ops.py is imported, so read them from there.
"""

from __future__ import annotations

from collections.abc import Callable


class Op:
    """A named primitive: forward value, vector-Jacobian product, and how to talk about it.
    (A plain class, compared by identity: the engine puts ops in sets and dicts.)"""

    __slots__ = (
        "name", "arity", "forward", "vjp", "symbol", "domain", "kink", "sides", "local",
        "callable_by_name", "max_arity", "static_from", "elementwise", "wants", "shape", "adjoint",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        arity: int,  # the number of inputs it needs
        forward: Callable | None,
        vjp: Callable | None,
        *,
        symbol: str | None = None,
        domain: str | None = None,
        kink: Callable | None = None,
        sides: Callable | None = None,
        local: Callable | None = None,
        callable_by_name: bool = False,
        max_arity: int | None = -1,  # the most inputs it takes (None: any number; -1: same as arity)
        static_from: int | None = None,
        elementwise: bool = False,
        shape: Callable | None = None,
        adjoint: Callable | None = None,
    ) -> None:
        self.name, self.arity, self.forward, self.vjp = name, arity, forward, vjp
        self.symbol, self.domain, self.kink, self.local = symbol, domain, kink, local
        self.sides = sides  # the one-sided derivatives at a kink (ops.py says what each function is)
        self.callable_by_name, self.static_from, self.elementwise = callable_by_name, static_from, elementwise
        self.max_arity = arity if max_arity == -1 else max_arity
        self.shape = shape  # the output's shape from the inputs' (None: elementwise, or a leaf)
        self.adjoint = adjoint  # the vjp written as terms (graph/terms.py), for `backprop diff`
        # True if vjp takes `wants` (which inputs need a gradient), read from its code object.
        code = getattr(vjp, "__code__", None)
        self.wants = code is not None and "wants" in code.co_varnames[: code.co_argcount]

    def takes(self, count: int) -> bool:
        """True if the op can be applied to `count` inputs."""
        return self.arity <= count and (self.max_arity is None or count <= self.max_arity)

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


OPS: dict[str, Op] = {}
"""Every op by name, including the leaves `input` and `const`."""

FUNCTIONS: dict[str, Op] = {}
"""The ops a program may call by name, e.g. `sigmoid(x)`."""

ALL = (True, True)
"""The default `wants` of a binary vjp: a gradient for both inputs."""

CONSTANTS = {"pi": 3.141592653589793, "e": 2.718281828459045}
"""The named constants of the language."""

REBINDABLE = frozenset({"e"})
"""Constants a program may bind to a value of its own (`e = c * d`, as the lecture names its
nodes a, b, c, d, e): from that statement on, the name is the program's. Used before it, it is
the constant, and binding it afterwards is refused."""

# Leaves: their values come from the caller (inputs) or the program text (constants).
INPUT = OPS["input"] = Op("input", 0, None, None)
CONST = OPS["const"] = Op("const", 0, None, None)

CO_VARARGS = 0x04  # inspect.CO_VARARGS, without importing inspect


def _arity(forward: Callable) -> tuple[int, int | None]:
    """(required, most) inputs of a forward function; most is None for `*rest`. Read from the
    code object (inspect.signature would cost milliseconds at every start)."""
    code = getattr(forward, "__code__", None)
    if code is None:  # a C function such as operator.add: '($module, a, b, /)'
        names = [p.strip() for p in forward.__text_signature__.strip("()").split(",")]
        count = len([p for p in names if p and p not in ("/", "$module")])
        return count, count
    positional = code.co_argcount
    required = positional - len(forward.__defaults__ or ())
    return required, None if code.co_flags & CO_VARARGS else positional


def op(
    name: str,
    *,
    symbol: str | None = None,
    domain: str | None = None,
    function: bool = True,
    static_from: int | None = None,
    elementwise: bool = False,
):
    """Register the decorated class's `forward`/`vjp` (and optional `kink`, `sides`, `local`, `shape`,
    `adjoint`) as the op `name`.

    symbol       the infix spelling (`+`) for rendering; ops without one are called as functions `exp(x)`.
    domain       what the inputs must satisfy, said in words, for the error when forward fails.
    function     False for an op written with an operator or brackets, never called by name.
    static_from  inputs from this position on must be whole numbers written in the program (an
                 axis, a subscript): the parser checks them, and their gradient is None.
    elementwise  True for ops applied element by element with broadcasting (arithmetic and the
                 scalar functions); batch mode vectorises only programs made of these.
    """

    def register(namespace: type) -> Op:
        forward = namespace.forward
        required, most = _arity(forward)
        entry = Op(
            name=name,
            arity=required,
            max_arity=most,
            static_from=static_from,
            elementwise=elementwise,
            forward=forward,
            vjp=namespace.vjp,
            symbol=symbol,
            domain=domain,
            kink=getattr(namespace, "kink", None),
            sides=getattr(namespace, "sides", None),
            local=getattr(namespace, "local", None),
            shape=getattr(namespace, "shape", None),
            adjoint=getattr(namespace, "adjoint", None),
            callable_by_name=function,
        )
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice")
        if not elementwise and entry.shape is None and forward is not None:
            raise ValueError(f"op {name!r} is not elementwise, so it needs a shape rule")
        if (entry.kink is None) != (entry.sides is None):
            raise ValueError(f"op {name!r} needs both kink and sides, or neither")
        OPS[name] = entry
        if function:
            FUNCTIONS[name] = entry
        return entry

    return register
