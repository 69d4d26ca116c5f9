"""JsonlSource: merging, gzip, filters, damaged input, strictness, streaming."""

from __future__ import annotations

import gzip
import os
from datetime import timedelta
from pathlib import Path

import pytest
from bussdcc.event import Event
from bussdcc.message import Message, RuntimeBooting
from bussdcc_framework_replay import JsonlSource, ReplayDataError
from replay_helpers import (
    CODEC,
    ORIGINAL,
    PumpFault,
    SoilMoisture,
    WateringStarted,
    Zone,
    at,
    event,
    readings,
    registry,
    write_log,
)

from bussdcc_framework.codec import default_registry


def source(*paths: object, **options: object) -> JsonlSource:
    return JsonlSource([*paths], registry=registry(), **options)  # type: ignore[arg-type]


def percents(events: list[Event[Message]]) -> list[float]:
    return [e.payload.percent for e in events]  # type: ignore[attr-defined]


def test_a_file_reads_as_events_with_their_recorded_times(tmp_path: Path) -> None:
    recorded = [
        event(0, RuntimeBooting(version="0.42.0")),
        event(1, SoilMoisture(sensor="bed-1", percent=41.5)),
        event(
            2,
            WateringStarted(
                zone=Zone.NORTH, seconds=30, planned_at=at(1), tags=("a",), extra={"why": ["dry", 1]}
            ),
        ),
        event(3, PumpFault(code=7)),
    ]
    log = write_log(tmp_path / "log.jsonl", recorded)

    replayed = list(JsonlSource(str(log), registry=registry()))

    assert replayed == recorded


def test_directory_segments_are_merged_by_time_with_file_then_line_tie_break(
    tmp_path: Path,
) -> None:
    # Two overlapping recordings and equal times: time first, then path order, then line.
    write_log(tmp_path / "a" / "1.jsonl", readings([1, 3, 5, 5]))
    write_log(tmp_path / "b" / "1.jsonl", readings([2, 3, 4, 5], sensor="b"))

    replayed = list(source(tmp_path / "a", tmp_path / "b"))

    assert [(e.payload.sensor, e.payload.percent) for e in replayed] == [  # type: ignore[attr-defined]
        ("bed-1", 1),
        ("b", 2),
        ("bed-1", 3),
        ("b", 3),
        ("b", 4),
        ("bed-1", 5),
        ("bed-1", 5),
        ("b", 5),
    ]
    # Given the other way round, the tie-break follows the order of the paths.
    swapped = list(source(tmp_path / "b", tmp_path / "a"))
    assert [e.payload.sensor for e in swapped if e.payload.percent == 3] == ["b", "bed-1"]  # type: ignore[attr-defined]


def test_sequential_segments_are_opened_one_at_a_time(tmp_path: Path) -> None:
    for i in range(40):
        write_log(tmp_path / "2026-03-09" / f"12-{i:02d}-00.jsonl", readings([i * 60, i * 60 + 1]))
    src = source(tmp_path)
    most_open = 0
    seen = []
    for evt in src:
        most_open = max(most_open, len(src._opened))
        seen.append(evt.payload.percent)  # type: ignore[attr-defined]

    assert seen == sorted(seen) and len(seen) == 80
    assert most_open == 1


def test_gzip_segments_are_read_transparently(tmp_path: Path) -> None:
    write_log(tmp_path / "2026-03-09" / "12-00-00.jsonl.gz", readings([1, 2]))
    write_log(tmp_path / "2026-03-09" / "12-10-00.jsonl", readings([600]))

    assert percents(list(source(tmp_path))) == [1, 2, 600]


def test_truncated_gzip_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    body = b"".join(write_log(tmp_path / "plain.jsonl", readings(range(2000))).read_bytes().splitlines(True))
    compressed = gzip.compress(body)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(compressed[: len(compressed) // 2])

    src = source(cut)
    replayed = percents(list(src))

    assert 0 < len(replayed) < 2000
    assert replayed == [float(i) for i in range(len(replayed))]
    assert src.stats.skipped == {"bad_gzip": 1}


def test_every_kind_of_damage_is_skipped_counted_and_located() -> None:
    allowed = default_registry(plugins=False)
    allowed.allow_import("greenhouse")
    src = JsonlSource(ORIGINAL, registry=allowed)

    replayed = list(src)

    assert len(replayed) == 17
    assert dict(src.stats.skipped) == {
        "bad_json": 1,
        "missing_key": 1,
        "bad_type_name": 1,
        "unknown_type": 1,
        "invalid_data": 1,
        "bad_time": 1,
        "torn_line": 1,
    }
    assert "12-00-00.jsonl:10: " in src.stats.examples["bad_json"][0]
    assert "12-00-00.jsonl:12: " in src.stats.examples["missing_key"][0]
    assert ":13: " in src.stats.examples["bad_type_name"][0]
    assert ":24: incomplete last line" in src.stats.examples["torn_line"][0]
    assert src.stats.unknown_types == {"greenhouse.legacy:ValveOpened": 1}
    assert src.stats.files[0].records == 17 and src.stats.files[0].damaged == 6
    # A record of an unknown type is well-formed: not damage, counted apart.
    assert src.stats.files[0].unknown == 1 and src.stats.damaged == 6 and src.stats.unknown == 1


def test_strict_stops_at_the_first_damaged_line_with_its_location() -> None:
    allowed = default_registry(plugins=False)
    allowed.allow_import("greenhouse")
    src = JsonlSource(ORIGINAL, registry=allowed, strict=True)

    with pytest.raises(ReplayDataError) as caught:
        list(src)

    assert str(caught.value).endswith(caught.value.detail)
    assert "12-00-00.jsonl:10: bad_json:" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_blank_lines_are_not_damage(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([1]), tail=b"\n  \n")
    src = source(log)

    assert percents(list(src)) == [1]
    assert src.stats.damaged == 0


def test_time_window_absolute_and_relative(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings(range(10)))

    assert percents(list(source(log, start=at(3), end=at(5)))) == [3, 4, 5]
    naive = at(7).replace(tzinfo=None)
    assert percents(list(source(log, start=naive))) == [7, 8, 9]
    relative = source(log, start=timedelta(seconds=8))
    assert percents(list(relative)) == [8, 9]
    assert relative.stats.outside_window == 8


def test_segments_starting_after_the_end_are_not_read(tmp_path: Path) -> None:
    write_log(tmp_path / "d" / "1.jsonl", readings([1, 2]))
    write_log(tmp_path / "d" / "2.jsonl", readings([100, 101]), tail=b"garbage\n")

    src = source(tmp_path, end=at(50))

    assert percents(list(src)) == [1, 2]
    assert [f.skipped_after_end for f in src.stats.files] == [False, True]
    assert src.stats.damaged == 0


def test_type_patterns_full_name_short_name_and_exclusion(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "x.jsonl",
        [
            event(0, RuntimeBooting(version="1")),
            event(1, SoilMoisture(sensor="a", percent=1)),
            event(2, PumpFault(code=1)),
        ],
    )

    def kinds(*patterns: str) -> list[str]:
        return [type(e.payload).__name__ for e in source(log, types=patterns)]

    assert kinds("SoilMoisture") == ["SoilMoisture"]
    assert kinds("greenhouse.messages:*") == ["SoilMoisture", "PumpFault"]
    assert kinds("bussdcc.*:*,Pump*") == ["RuntimeBooting", "PumpFault"]
    assert kinds("!SoilMoisture") == ["RuntimeBooting", "PumpFault"]
    assert kinds("greenhouse.*", "!Pump*") == ["SoilMoisture"]


def test_filtered_records_are_not_decoded_nor_counted_as_damaged(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "x.jsonl",
        readings([1]),
        tail=(
            b'{"time":"2026-03-09T12:00:02+00:00","type":"gone.module:Unknown","data":{}}\n'
            b'{"time":"2026-03-09T12:00:03+00:00","type":"bad:type:name","data":{}}\n'
            b'{"time":"2026-03-09T12:00:04+00:00","type":"greenhouse.messages:PumpFault",'
            b'"data":{"code":"not a number"}}\n'
            b'{"time":"2026-03-09T13:00:00+00:00","type":"gone.module:Late","data":{}}\n'
        ),
    )

    src = source(log, types=["SoilMoisture"], end=at(3599), strict=True)
    assert percents(list(src)) == [1]
    assert src.stats.damaged == 0 and not src.stats.unknown_types
    assert src.stats.filtered_type == 3 and src.stats.outside_window == 1
    assert src.stats.records == 5

    # Without the filters, the same lines are damage.
    unfiltered = source(log)
    assert percents(list(unfiltered)) == [1]
    assert dict(unfiltered.stats.skipped) == {"unknown_type": 2, "bad_type_name": 1, "invalid_data": 1}


def test_type_filter_judges_an_alias_by_its_class(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([1]))
    log.write_bytes(log.read_bytes().replace(b"greenhouse.messages:SoilMoisture", b"old.names:Moist"))
    aliased = registry()
    aliased.alias("old.names:Moist", SoilMoisture)

    src = JsonlSource(log, types=["SoilMoisture"], registry=aliased)
    assert percents(list(src)) == [1]
    assert percents(list(JsonlSource(log, types=["Moist"], registry=aliased))) == []


def test_source_is_re_iterable_and_stats_describe_the_last_pass(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([1, 2]), tail=b"{oops}\n")
    src = source(log)

    assert len(list(src)) == 2
    assert len(list(src)) == 2
    assert src.stats.damaged == 1 and src.stats.records == 2


def test_files_are_streamed_not_loaded(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings(range(20000)))
    src = source(log)
    iterator = iter(src)
    next(iterator)
    done, total = src.progress()

    assert total == os.path.getsize(log)
    assert 0 < done < total  # only the read-ahead buffer has been read
    iterator.close()  # type: ignore[attr-defined]
    assert not src._opened


def test_missing_path_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        JsonlSource(tmp_path / "missing")


def test_unreadable_file_is_counted_and_others_still_read(tmp_path: Path) -> None:
    write_log(tmp_path / "d" / "a.jsonl", readings([1]))
    (tmp_path / "d" / "b.jsonl").symlink_to(tmp_path / "gone.jsonl")  # dangling: open() fails

    src = source(tmp_path)

    assert percents(list(src)) == [1]
    assert src.stats.skipped == {"unreadable": 1}
    assert "b.jsonl: FileNotFoundError" in src.stats.examples["unreadable"][0]


def test_original_import_path_still_works() -> None:
    from bussdcc_framework.io.jsonl import JsonlSource as Shimmed

    assert Shimmed is JsonlSource


def test_a_span_of_a_file_reads_from_a_line_start_to_a_line(tmp_path: Path) -> None:
    from bussdcc_framework_replay.logfile import FileBudget
    from bussdcc_framework_replay.reader import ReadOptions, Span, read_file
    from bussdcc_framework_replay.stats import FileStats, SourceStats

    lines = [CODEC.encode_record(e) + b"\n" for e in readings(range(10))]
    body = lines[0] + lines[1] + b"\n\n" + b"garbage\n" + b"".join(lines[2:])
    starts = [0]
    for line in body.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    for name in ("a.jsonl", "a.jsonl.gz"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
        for max_open in (None, 0):
            stats = SourceStats()
            fstats = FileStats(path=str(path), size=0)
            # From the line after the garbage to the line of the record 7, both included.
            span = Span(begin=starts[5], stop=starts[10], skipped=2)
            got = list(
                read_file(path, 0, CODEC, stats, fstats, ReadOptions(), set(), FileBudget(max_open), span)
            )
            assert [item[3].payload.percent for item in got] == [2, 3, 4, 5, 6, 7], (name, max_open)
            assert stats.outside_window == 2 and stats.damaged == 0
            # Damage inside a span is located by byte offset (its line number is not known).
            stats = SourceStats()
            list(read_file(path, 0, CODEC, stats, fstats, ReadOptions(), set(), None, Span(begin=starts[2])))
            assert stats.blank_lines == 2 and stats.examples["bad_json"][0].startswith(
                f"{path}@{starts[4]}: "
            )
