"""The built-in file sink: JSON lines, path templates, rotation, gzip, fsync, clear errors."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from telemetry_core.sinks import (
    FileSink,
    SinkConfigError,
    SinkEvent,
    SinkHandler,
    clean,
    create_sink,
)

KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened/v1"


def event(i: int, schema: str = KERNEL, ts: str = "2026-03-04T05:06:07.000Z",
          version: str = "1.0") -> SinkEvent:
    return SinkEvent.from_json(orjson.dumps({
        "__event_id__": f"id{i}", "__schema__": schema, "__schema_version__": version,
        "__timestamp__": ts, "n": i}))


def file_sink(path: object, **options: Any) -> FileSink:
    """A file sink built as configuration builds it (options checked), used directly."""
    sink = SinkHandler(FileSink, path=path, **options).sink
    assert isinstance(sink, FileSink)
    return sink


@pytest.fixture(autouse=True)
def _state_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default spool dir lives under XDG_STATE_HOME: keep it out of the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def test_readme_demo_config_splits_by_schema_and_date(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    sink = create_sink({"type": "file", "path": "events/"})
    assert isinstance(sink.sink, FileSink)
    sink.start()
    sent = [event(1), event(2, OPENED), event(3, ts="2026-03-05T00:00:01Z"), event(4)]
    for e in sent:
        sink.submit(e)
    sink.close()
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "events").rglob("*.jsonl"))
    kernel = "events/telemetry.jupyter.org_schemas_events_kernel_code-executed"
    assert files == [
        "events/telemetry.jupyter.org_schemas_events_contents_opened_v1/2026-03-04.jsonl",
        f"{kernel}/2026-03-04.jsonl", f"{kernel}/2026-03-05.jsonl"]
    day1 = (tmp_path / kernel / "2026-03-04.jsonl").read_bytes()
    assert day1 == sent[0].json + b"\n" + sent[3].json + b"\n"  # the core's bytes, as they are
    assert sink.stats()["delivered"] == 4


def test_default_names_are_one_directory_per_schema_id(tmp_path: Path) -> None:
    # Both ids end in "opened": a directory per last segment would mix them in one file.
    lab = "https://telemetry.jupyter.org/schemas/events/jupyterlab/notebook/opened"
    contents = "https://telemetry.jupyter.org/schemas/events/contents/opened"
    sink = file_sink(str(tmp_path) + "/")
    sink.open()
    sink.write_batch([event(1, lab), event(2, contents)])
    sink.close()
    files = list(tmp_path.rglob("*.jsonl"))
    assert len({f.parent for f in files}) == 2
    for f in files:  # each file holds its own schema's event, under the id made safe
        (line,) = f.read_bytes().splitlines()
        assert f.parent.name == clean(orjson.loads(line)["__schema__"])


def test_file_path_with_variables_and_a_plain_file(tmp_path: Path) -> None:
    templated = file_sink(str(tmp_path / "{year}/{month}/{schema}-{version}-{hour}.jsonl"))
    templated.open()
    templated.write_batch([event(1)])
    templated.close()
    [written] = list(tmp_path.rglob("*.jsonl"))
    assert written.relative_to(tmp_path) == Path(
        "2026/03/telemetry.jupyter.org_schemas_events_kernel_code-executed-1.0-05.jsonl")
    plain = file_sink(tmp_path / "all.jsonl")
    plain.open()
    plain.write_batch([event(1), event(2, OPENED)])
    plain.close()
    assert len((tmp_path / "all.jsonl").read_bytes().splitlines()) == 2


@pytest.mark.parametrize(("config", "message"), [
    ({}, "'path' is required"),
    ({"path": "x/{schema_nme}.jsonl"}, r"uses \{schema_nme\}; did you mean \{schema_name\}"),
    ({"path": "x.jsonl", "template": "{date}.jsonl"}, "'template' needs 'path' to be a directory"),
    ({"path": "x/{date", }, "is malformed"),
    ({"path": "x/", "colour": "red"}, "file sink: unknown option 'colour'; its options: path"),
    ({"path": "x/", "rotate_bytes": "10MB"}, "'rotate_bytes' must be a whole number, got '10MB'"),
    ({"path": "x/", "compress": "no"}, "'compress' must be true or false, got 'no'"),
    ({"path": "x/", "batch_size": 0}, "'batch_size' must be >= 1, got 0"),
    ({"path": "x/", "rotate_byte": 10}, "unknown option 'rotate_byte'; did you mean "
                                        "'rotate_bytes'"),
])
def test_bad_configuration_is_explained(config: dict[str, Any], message: str) -> None:
    with pytest.raises(SinkConfigError, match=message):
        create_sink({"type": "file", **config})


def test_unwritable_directory_fails_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    sink = create_sink({"type": "file", "path": str(blocker / "events") + "/",
                        "spool_dir": str(tmp_path / "spool")})
    with pytest.raises(SinkConfigError, match="cannot create the directory .*a-file/events"):
        sink.start()


def test_a_write_error_retries_only_that_files_events(tmp_path: Path) -> None:
    sink = file_sink(str(tmp_path / "out") + "/")
    sink.open()
    (tmp_path / "out" / clean(OPENED)).write_text("a file where a directory should be")
    result = sink.write_batch([event(1), event(2, OPENED), event(3)])
    assert result is not None and [e.event_id for e in result.retry] == ["id2"]
    written = tmp_path / "out" / clean(KERNEL) / "2026-03-04.jsonl"
    assert len(written.read_bytes().splitlines()) == 2
    sink.close()


@pytest.mark.parametrize("compress", [False, True])
def test_rotation_by_size_keeps_every_line_in_order(tmp_path: Path, compress: bool) -> None:
    sink = file_sink(str(tmp_path) + "/", template="{schema_name}.jsonl", rotate_bytes=1000,
                    compress=compress)
    sink.open()
    for start in range(0, 100, 10):
        sink.write_batch([event(i) for i in range(start, start + 10)])
    sink.close()
    current = tmp_path / "code-executed.jsonl"
    rotated = sorted(p for p in tmp_path.iterdir() if p != current)
    assert len(rotated) >= 5
    assert all(p.name.endswith(".jsonl.gz" if compress else ".jsonl") for p in rotated)
    lines: list[bytes] = []
    for p in [*rotated, current]:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        lines.extend(data.splitlines())
    assert [orjson.loads(x)["n"] for x in lines] == list(range(100))
    assert all(p.stat().st_size <= 1000 + 10 * 200 for p in [current])


def test_rotation_by_time(tmp_path: Path) -> None:
    sink = file_sink(tmp_path / "e.jsonl", rotate_seconds=3600)
    sink.open()
    sink.write_batch([event(1)])
    sink.write_batch([event(2)])
    assert [p.name for p in tmp_path.iterdir()] == ["e.jsonl"]
    for handle in sink._files.values():
        handle.opened -= 3601  # as if the file had been open for an hour
    sink.write_batch([event(3)])
    sink.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("e.") and names[1] == "e.jsonl"
    assert (tmp_path / "e.jsonl").read_bytes() == event(3).json + b"\n"


def test_fsync_makes_each_batch_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    lazy = file_sink(tmp_path / "lazy.jsonl")
    lazy.open()
    lazy.write_batch([event(1)])
    assert synced == []
    durable = file_sink(tmp_path / "durable.jsonl", fsync=True)
    durable.open()
    durable.write_batch([event(1), event(2)])
    durable.write_batch([event(3)])
    assert len(synced) == 2  # once per file per batch
    lazy.close()
    durable.close()


def test_new_files_are_private_unless_configured(tmp_path: Path) -> None:
    private = file_sink(tmp_path / "a.jsonl")
    shared = file_sink(tmp_path / "b.jsonl", file_mode=0o640)
    for sink in (private, shared):
        sink.open()
        sink.write_batch([event(1)])
        sink.close()
    # Exactly the configured mode, whatever the umask (tests/test_private_files.py).
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "b.jsonl").stat().st_mode & 0o777 == 0o640
    with pytest.raises(SinkConfigError, match="'file_mode' must be permission bits"):
        file_sink(tmp_path / "c.jsonl", file_mode="rw-r-----")


def test_open_files_are_bounded(tmp_path: Path) -> None:
    sink = file_sink(str(tmp_path) + "/", template="{hour}.jsonl", max_open_files=2)
    sink.open()
    for hour in range(5):
        sink.write_batch([event(hour, ts=f"2026-03-04T{hour:02d}:00:00Z")])
        assert len(sink._files) <= 2
    sink.close()
    assert len(list(tmp_path.glob("*.jsonl"))) == 5


def test_two_file_sinks_get_their_own_spool_dirs(tmp_path: Path) -> None:
    a = create_sink({"type": "file", "path": str(tmp_path / "a") + "/"})
    b = create_sink({"type": "file", "path": str(tmp_path / "b") + "/"})
    assert a.spool_dir != b.spool_dir
    assert Path(a.spool_dir).name.startswith("file-a-")
