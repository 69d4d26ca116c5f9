"""pytest plugin of a staged mutmut run: subprocesses of a test see and report the mutants.

Loaded with ``-p mutmut_children`` inside ``mutants/``. It points ``MUTMUT_STAGE_SRC`` at the
mutated sources (``children_hook.py`` puts them first on a child's ``sys.path``), and during
mutmut's "stats" run it gives each test a file where children write the mutated functions they
called; after the test those names join mutmut's own record, so a function that only a
``bussdcc`` subprocess calls is still mapped to the test that runs it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["MUTMUT_STAGE_SRC"] = str(Path("src").resolve())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return (yield)
    fd, hits = tempfile.mkstemp(prefix="mutmut-child-hits-")
    os.close(fd)
    os.environ["MUTMUT_CHILD_HITS"] = hits
    try:
        return (yield)
    finally:
        del os.environ["MUTMUT_CHILD_HITS"]
        names = Path(hits).read_text().split()
        os.unlink(hits)
        if names:
            from mutmut.state import state

            state()._stats.update(names)
