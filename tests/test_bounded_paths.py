"""`paths` and `trace` are bounded by design (issue 13): no inf or NaN in any output, even where a
path's product or a local derivative is past float64's range; counts exact up to 10^40 and
estimated past it in memory linear in the program; --max-paths under a ceiling measured in memory;
running out of memory is a limit error, exit 2. The heavy attacks run in a child process whose
address space is capped, so the suite never endangers the machine."""

from __future__ import annotations

import math
import re
import resource
import subprocess
import sys
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest
from checks import strict_json, tally
from fuzzing import assert_json_document, cli
from hypothesis import given
from hypothesis import strategies as st
from profiles import examples

from backprop import evaluate, parse
from backprop.graph import paths as paths_module
from backprop.graph.paths import EXACT_COUNTS, MAX_PATHS, count_paths, estimate_count, path_report
from backprop.graph.trace import Scaled, scaled_sum

ROOT = Path(__file__).resolve().parent.parent


def halving_chain(lines: int) -> str:
    """x1 = (a + a)/2; x2 = (x1 + x1)/2; …: 2^lines paths from a, each of 2·lines edges, while the
    value and the gradient stay 1 (x_i = x_{i-1} + x_{i-1} would overflow past 1023 lines)."""
    return "; ".join(["x1 = (a + a)/2"] + [f"x{i} = (x{i - 1} + x{i - 1})/2" for i in range(2, lines + 1)])


def run_capped(*args: str, stdin: str = "", address_space: int = 400 << 20) -> tuple[int, str, str]:
    """`python -m backprop ARGS` from this checkout, in a child whose address space is capped."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    done = subprocess.run(
        [sys.executable, "-m", "backprop", *args],
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=cap,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-2000:]
    return done.returncode, done.stdout.decode("utf-8"), stderr


def no_infinity(text: str) -> None:
    assert not re.search(r"\b(inf|nan|infinity)\b", text, re.IGNORECASE), text


# -- products and local derivatives past float64's range ---------------------------------------


def test_a_product_whose_partial_product_overflows_is_still_the_gradient(run, run_json):
    """1e300 · 1e10 · 1e-110 = 1e200: a float64 product from a upwards was inf; Scaled's is not."""
    program = ["u = a*1e300; v = u*1e10; v*1e-110", "--a", "1e-300", "--wrt", "a"]
    code, document = run_json("paths", *program)
    assert code == 0
    assert document["paths"][0]["product"] == pytest.approx(1e200, rel=1e-15)
    assert document["sum"] == pytest.approx(document["gradient"], rel=1e-15)
    code, out, _ = run("paths", *program)
    assert code == 0 and "sum over the 1 path: 1e+200; ∂b/∂a by backprop: 1e+200" in out
    no_infinity(out)


def test_products_past_float64_are_said_in_words_and_still_sum_to_the_gradient(run):
    """Two paths of ±1e310 cancel; the third is the gradient, 1. Before: `inf`, `-inf`, sum `nan`."""
    program = ["u = a*1e300; v = u*1e10 - u*1e10; v + a", "--a", "1e-300", "--wrt", "a"]
    code, out, _ = run("paths", *program, "--json")
    document = strict_json(out)
    assert code == 0 and document["sum"] == document["gradient"] == 1.0
    assert [path["product"] for path in document["paths"]] == [None, None, 1.0]
    assert document["paths"][0]["note"] == "the product is 1e+310, too large for a float64"
    assert document["paths"][1]["note"] == "the product is -1e+310, too large for a float64"
    code, out, _ = run("paths", *program)
    assert code == 0 and "sum over the 3 paths: 1; ∂d/∂a by backprop: 1" in out
    assert "2 paths hold a number too large for a float64" in out
    no_infinity(out)


def test_an_overflowing_local_derivative_is_found_at_a_tiny_seed(run):
    """0*log(x) at 5e-324: ∂log(x)/∂x = 1/x = 2^1074, which is no float64; its path's product is 0."""
    code, out, _ = run("paths", "0*log(x)", "--x", "5e-324", "--wrt", "x", "--json")
    path = strict_json(out)["paths"][0]
    assert code == 0 and path["local_values"] == [None, 0.0] and path["product"] == 0.0
    assert path["note"] == "local derivative 1 is 2.02402e+323, too large for a float64"
    code, out, _ = run("paths", "0*log(x)", "--x", "5e-324", "--wrt", "x")
    assert code == 0 and "2.02402e+323 × 0" in out
    no_infinity(out)


def test_trace_says_an_overflowing_local_derivative_in_words(run):
    code, out, _ = run("trace", "0*log(x)", "--x", "5e-324", "--json")
    step = strict_json(out)["backward"][-1]
    assert code == 0 and step["local_value"] is None
    assert step["local_note"] == "2.02402e+323, too large for a float64"
    assert (
        step["text"]
        == "x.grad += a.grad · 1/x = 0 · (2.02402e+323, too large for a float64) = 0 → x.grad = 0"
    )
    code, out, _ = run("trace", "0*log(x)", "--x", "5e-324")
    assert code == 0 and step["text"] in out
    no_infinity(out)


def test_scaled_numbers_round_once_and_sum_without_overflow():
    big = Scaled.of(1e300).times(Scaled.of(1e10))
    assert big.as_float() is None and big.text() == "1e+310" and big.text(3) == "1e+310"
    assert big.times(Scaled.of(1e-110)).as_float() == pytest.approx(1e200, rel=1e-15)
    assert scaled_sum([big, big.times(Scaled.of(-1.0)), Scaled.of(1e-10)]).as_float() == 1e-10
    assert scaled_sum([Scaled.of(0.1)] * 10).as_float() == 1.0  # fsum: correctly rounded
    assert Scaled.of(1.0, -2000).as_float() == 0.0  # underflow is 0.0, as in IEEE
    assert Scaled.of(-3.0, 10**9).text() == "-1.38389e+301029996"
    assert Scaled.of(math.inf).words() == scaled_sum([Scaled.of(math.nan)]).words() == "not finite"


HOSTILE_VALUES = st.sampled_from(["5e-324", "1e-310", "1e-300", "1e-150", "0.5", "1e150", "1e300", "-1e300"])
HOSTILE_STEPS = st.sampled_from(
    [
        "{} * {}",
        "{} / {}",
        "{} + {}",
        "{} - {}",
        "log({})",
        "0*log({})",
        "{} * 1e300",
        "{} * 1e-300",
        "sqrt({})",
    ]
)


@st.composite
def hostile_programs(draw) -> tuple[str, list[str]]:
    """A few statements over x and y whose local derivatives and path products reach past float64."""
    names, statements = ["x", "y"], []
    for i in range(draw(st.integers(1, 5))):
        step = draw(HOSTILE_STEPS)
        statements.append(
            f"v{i} = " + step.format(*(draw(st.sampled_from(names)) for _ in range(step.count("{}"))))
        )
        names.append(f"v{i}")
    return "; ".join(statements), ["--x", draw(HOSTILE_VALUES), "--y", draw(HOSTILE_VALUES)]


def exactly(number: Scaled) -> Fraction:
    return Fraction(number.mantissa) * Fraction(2) ** number.exponent


@examples(30, long=2000)
@given(hostile_programs(), st.sampled_from(["x", "y"]))
def test_paths_and_trace_at_hostile_magnitudes(case, wrt):
    """Exit 0 or 2, strict JSON, no inf or nan in the text; and where every path is listed, each
    product and their sum are the exact rational ones up to rounding (Σ|product| · 2^-40). Not
    always the engine's gradient: `v3 = x * log(x); y * v3` at x = 5e-324, y = 1e-150 sends
    g = 1e-150 · 5e-324, which underflows to 0, down one path, whose product (1e-150) paths keeps."""
    source, values = case
    for command in (["trace"], ["paths", "--wrt", wrt]):
        code, out, _ = cli(*command, source, *values, "--json")
        document = assert_json_document(code, out)
        no_infinity(cli(*command, source, *values)[1])
        tally(f"{command[0]}: exit {code}")
    if code != 0 or not document["complete"]:
        return
    program = parse(source)
    given_values = dict(zip(values[::2], values[1::2], strict=True))
    evaluation = evaluate(program, {name: float(given_values[f"--{name}"]) for name in program.inputs})
    report = path_report(evaluation, program.inputs[wrt], 100)
    if all(factor.finite for path in report.paths for factor in path.factors):
        products = [
            math.prod((exactly(factor) for factor in path.factors), start=Fraction(1))
            for path in report.paths
        ]
        spread = sum(map(abs, products))
        assert abs(exactly(report.weight) - sum(products)) <= spread * Fraction(2) ** -40


# -- counts: exact up to 10^40, estimated past it, in linear memory ----------------------------


def test_counts_are_exact_up_to_the_limit_and_estimated_past_it(run_json):
    code, document = run_json("paths", halving_chain(132), "--a", "1", "--wrt", "a", "--max-paths", "0")
    assert code == 0 and document["count"] == 2**132 < EXACT_COUNTS  # 5.4e39
    code, document = run_json("paths", halving_chain(133), "--a", "1", "--wrt", "a", "--max-paths", "0")
    assert code == 0 and document["count"] is None  # 1.09e40
    assert document["count_log10"] == pytest.approx(133 * math.log10(2), rel=1e-12)


def test_a_count_past_float64_and_past_pythons_digit_limit_is_estimated(run):
    """2^15000 has 4,516 digits: past 1.8e308 (float() of it raised) and past Python's 4,300-digit
    limit for str() (which raised too): both were exit 70."""
    source = halving_chain(15000)
    code, out, _ = run("paths", "-", "--a", "1", "--wrt", "a", "--max-paths", "0", input=source)
    assert code == 0
    assert "number of paths: more than 10^40 (≈ 2.82e+4515) by the recurrence" in out
    code, out, _ = run("paths", "-", "--a", "1", "--wrt", "a", "--max-paths", "1", "--json", input=source)
    document = strict_json(out)
    assert code == 0 and document["count"] is None and document["complete"] is False
    assert document["count_log10"] == pytest.approx(15000 * math.log10(2), rel=1e-12)


def test_counting_takes_memory_linear_in_the_program():
    """Exact counts of this chain held 2^i for every line i, so their memory grew with the square of
    its length (30,000 lines: 200 MB); saturated counts share one object."""
    program = parse(halving_chain(20000))
    tracemalloc.start()
    try:
        counts = count_paths(program)
        estimate = estimate_count(program, program.inputs["a"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * len(program)  # the counts list, its few big ints and two flat arrays
    assert counts[program.inputs["a"]] > EXACT_COUNTS
    log10 = math.log10(estimate.mantissa) + estimate.exponent * math.log10(2)
    assert log10 == pytest.approx(20000 * math.log10(2), rel=1e-12)


def test_a_long_chain_is_counted_in_a_capped_child():
    """Before: MemoryError (exit 70) at 250 MB of address space. Now: 71 MB of RSS."""
    code, out, _ = run_capped(
        "paths", "-", "--a", "1", "--wrt", "a", "--max-paths", "0", "--json",
        stdin=halving_chain(30000), address_space=200 << 20,
    )  # fmt: skip
    assert code == 0 and strict_json(out)["count"] is None


def test_the_estimate_matches_exact_counts_where_both_exist():
    source = "u = a*a + a; v = u*u + u*a; w = v*v*u + v; w*w + v*u"
    program = parse(source)
    exact = count_paths(program)[program.inputs["a"]]
    estimate = estimate_count(program, program.inputs["a"])
    assert math.ldexp(estimate.mantissa, estimate.exponent) == exact


# -- --max-paths under a ceiling measured in memory ---------------------------------------------


def test_max_paths_has_a_ceiling(run):
    code, out, err = run(
        "paths", "a * a", "--a", "2", "--wrt", "a", "--max-paths", str(MAX_PATHS + 1), "--json"
    )
    error = strict_json(out)["error"]
    assert code == 2 and error["type"] == "limit"
    assert (
        error["message"] == f"--max-paths {MAX_PATHS + 1:,} is more than can be listed: at most {MAX_PATHS:,}"
    )
    assert run("paths", "a * a", "--a", "2", "--wrt", "a", "--max-paths", str(MAX_PATHS))[0] == 0


def test_the_help_states_the_ceiling(run):
    code, out, _ = run("paths", "--help")
    assert code == 0 and f"{MAX_PATHS:,}" in out


def test_the_listing_stops_within_its_budget(run_json, monkeypatch):
    """Paths of 4 edges cost 2,000 + 4 · 600 bytes each: a budget of three holds three."""
    cost = paths_module.BYTES_PER_PATH + 4 * paths_module.BYTES_PER_EDGE
    monkeypatch.setattr(paths_module, "LISTING_BYTES", 3 * cost)
    program = [halving_chain(2), "--a", "1", "--wrt", "a"]
    code, document = run_json("paths", *program, "--max-paths", "3")
    assert code == 0 and document["listed"] == 3
    code, document = run_json("paths", *program, "--max-paths", "4")
    assert code == 2 and document["error"]["type"] == "limit"
    assert "more than 3 of them" in document["error"]["message"]
    assert "--max-paths 3" in document["error"]["hint"]


def test_a_path_too_long_for_the_budget_is_refused_before_it_is_built(monkeypatch):
    """The walk stops as deep as the budget allows: building the first path (4,000 edges) peaks
    at 2.6 MB; refusing it at 0.3 MB, the counts and the labels for the message."""
    monkeypatch.setattr(paths_module, "LISTING_BYTES", 100_000)
    evaluation = evaluate(halving_chain(2000), a=1.0)
    tracemalloc.start()
    try:
        with pytest.raises(paths_module.LimitError, match="the first path from a is too long"):
            path_report(evaluation, evaluation.program.inputs["a"], 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_a_large_request_is_refused_quickly_in_a_capped_child():
    """2^18 paths of 36 edges, 150,000 asked for: refused after the 20,000 or so that fit. Before:
    7.35 GB and counting, for 2^60 paths."""
    code, out, _ = run_capped(
        "paths", "-", "--a", "1", "--wrt", "a", "--max-paths", "150000", "--json", stdin=halving_chain(18)
    )
    error = strict_json(out)["error"]
    assert code == 2 and error["type"] == "limit" and "too long to list more than" in error["message"]


# -- running out of memory is a limit error -----------------------------------------------------


def test_a_trace_past_the_memory_there_is_a_limit_error_in_a_capped_child():
    """The trace of 90,001 nodes (its steps ~1 KB a node; the JSON is written a step at a time) in
    110 MB of address space runs out: it exited 70 (a bug, the contract says); now a limit error."""
    code, out, err = run_capped(
        "trace", "-", "--a", "1", "--json", stdin=halving_chain(30000), address_space=110 << 20
    )
    assert code == 2 and strict_json(out)["error"]["type"] == "limit"
    assert "the trace of 90,001 nodes needs more memory than this machine has" in err


def out_of_memory(*args, **kwargs):
    raise MemoryError


@pytest.mark.parametrize(
    "module, name, args",
    [
        ("backprop.graph.paths", "count_paths", ["paths", "a * b", "--wrt", "a"]),
        ("backprop.graph.paths", "enumerate_paths", ["paths", "a * b", "--wrt", "a"]),
        ("backprop.cli.render.lecture", "print_paths", ["paths", "a * b", "--wrt", "a"]),
        ("backprop.cli.render.json", "paths_json", ["paths", "a * b", "--wrt", "a", "--json"]),
        ("backprop.graph.trace", "backward_steps", ["trace", "a * b"]),
        ("backprop.cli.render.lecture", "print_trace", ["trace", "a * b"]),
        ("backprop.cli.render.json", "trace_json", ["trace", "a * b", "--json"]),
    ],
)
def test_running_out_of_memory_is_a_limit_error(run, monkeypatch, module, name, args):
    monkeypatch.setattr(f"{module}.{name}", out_of_memory)
    code, out, err = run(*args, "--a", "2", "--b", "3")
    assert code == 2 and "needs more memory than this machine has" in err
    if "--json" in args:
        assert strict_json(out)["error"]["type"] == "limit"
