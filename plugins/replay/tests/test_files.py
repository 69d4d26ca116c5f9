"""Discovery of log files: recursion, order, compressed twins, missing paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from bussdcc_framework_replay.files import discover
from replay_helpers import readings, write_log


def test_directory_is_walked_recursively_in_path_order(tmp_path: Path) -> None:
    for name in [
        "2026-03-10/00-00-00.jsonl",
        "2026-03-09/12-10-00.jsonl",
        "2026-03-09/12-00-00.jsonl.gz",
        "2026-03-09/12-00-00_001.jsonl",
    ]:
        write_log(tmp_path / name, readings([1]))
    (tmp_path / "2026-03-09" / "notes.txt").write_text("not a log")
    (tmp_path / "2026-03-09" / "12-20-00.jsonl.gz.tmp").write_bytes(b"partial")
    (tmp_path / ".hidden").mkdir()
    write_log(tmp_path / ".hidden" / "x.jsonl", readings([1]))

    found = discover([tmp_path])

    assert [f.relative_to(tmp_path).as_posix() for f in found.files] == [
        "2026-03-09/12-00-00.jsonl.gz",
        "2026-03-09/12-00-00_001.jsonl",
        "2026-03-09/12-10-00.jsonl",
        "2026-03-10/00-00-00.jsonl",
    ]


def test_compressed_twin_of_a_plain_segment_is_left_out(tmp_path: Path) -> None:
    plain = write_log(tmp_path / "d" / "12-00-00.jsonl", readings([1, 2]))
    twin = write_log(tmp_path / "d" / "12-00-00.jsonl.gz", readings([1, 2]))

    found = discover([tmp_path])

    assert found.files == [plain]
    assert found.shadowed == [twin]


def test_a_path_given_twice_is_read_once_and_order_of_paths_is_kept(tmp_path: Path) -> None:
    a = write_log(tmp_path / "a.jsonl", readings([1]))
    b = write_log(tmp_path / "sub" / "b.jsonl", readings([1]))

    found = discover([b, tmp_path / "a.jsonl", a, tmp_path])

    assert found.files == [b, a]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such file or directory: .*nope"):
        discover([tmp_path / "nope"])
