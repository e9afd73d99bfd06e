"""Fuzzing the library, for volume: random text, random bytes, token soup from the grammar's own
terminals and mutated valid programs (fuzzing.py). Every outcome of parse/evaluate is a result with
finite numbers or a BackpropError with a known kind and a place inside the text — never another
exception, never a NumPy warning. Fifty thousand inputs in the long run (profiles.py).
"""

from __future__ import annotations

import warnings

import pytest
from checks import assert_clean_error, assert_finite_evaluation, tally, time_limit
from fuzzing import VALUES, any_text, decoded_bytes, language_text, mutated_programs, token_soup
from hypothesis import given
from hypothesis import strategies as st
from profiles import examples

from backprop import BackpropError, evaluate, parse


def library_outcome(text: str, values: list[float]) -> str:
    with time_limit(10), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = _library_outcome(text, values)
    # A NumPy RuntimeWarning would reach the user's terminal as `engine.py:277: RuntimeWarning: …`.
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    return outcome


def _library_outcome(text: str, values: list[float]) -> str:
    try:
        program = parse(text)
    except BackpropError as error:
        assert_clean_error(error, text)
        return f"{error.kind} error"
    point = {name: values[i % len(values)] for i, name in enumerate(program.inputs)}
    try:
        result = evaluate(program, point)
    except BackpropError as error:
        assert_clean_error(error, text)
        return f"{error.kind} error"
    assert_finite_evaluation(result)
    assert list(result.gradients) == list(program.inputs)
    return "result"


WHAT_ARRIVES = {
    # (inputs, how many in the ci profile, how many in the long run: 50,000 in all, about 7 minutes)
    "token soup": (token_soup, 300, 10_000),
    "mutated program": (mutated_programs().map(lambda pair: pair[0]), 300, 10_000),
    "random text": (st.one_of(language_text, any_text, decoded_bytes), 200, 30_000),
}


@pytest.mark.parametrize("source", list(WHAT_ARRIVES))
def test_a_result_or_a_clean_error(source):
    inputs, fast, long = WHAT_ARRIVES[source]

    @examples(fast, long)
    @given(inputs, VALUES)
    def check(text, values):
        tally(f"library, {source}: {library_outcome(text, values)}")

    check()


def test_big_integers_through_the_library_are_input_errors():
    """evaluate(…, x=10**400): float() of the int overflows; that is the caller's input, not a crash."""
    for value in (10**400, -(2**1024)):
        with pytest.raises(BackpropError) as caught:
            evaluate("x * 2", x=value)
        assert caught.value.kind == "input"
