"""The hypothesis profiles, chosen by HYPOTHESIS_PROFILE: `ci` (the default: part of `pytest -q`) and
`long`, and the one place where a property's size follows them.

Every property is one test. Its example count is the profile's (100, or 5,000 in the long run) unless
it says otherwise with `examples`; a size that grows in the long run (deeper programs) comes from
`sized`. The long run is the whole suite under the long profile, slow suites included:

    HYPOTHESIS_PROFILE=long python -m pytest -m "slow or not slow" -s
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("long", max_examples=5000, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

LONG = PROFILE == "long"


def sized(fast, long):
    """`fast` in the ci profile, `long` in the long one (a program's depth, say)."""
    return long if LONG else fast


def examples(fast: int, long: int | None = None) -> settings:
    """A property's own example count: `fast` in the ci profile; in the long one `long`, or the profile's."""
    if LONG:
        return settings(max_examples=long) if long is not None else settings()
    return settings(max_examples=fast)
