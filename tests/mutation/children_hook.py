"""Imported by a ``.pth`` file at every interpreter start; does nothing unless a staged mutmut run
(``tests/mutation/stage.py``) set ``MUTMUT_STAGE_SRC`` in the environment of a test's child."""

import os
import sys

_src = os.environ.get("MUTMUT_STAGE_SRC")
if _src:
    sys.path.insert(0, _src)
    _hits = os.environ.get("MUTMUT_CHILD_HITS")
    if _hits and os.environ.get("MUTANT_UNDER_TEST") == "stats":
        import mutmut.mutation.trampoline as _trampoline

        def _record(name: str, caller: object = None) -> None:
            with open(_hits, "a", encoding="utf-8") as out:
                out.write(name + "\n")

        _trampoline.record_trampoline_hit = _record  # type: ignore[assignment]
