"""Run records: schema, validation and atomic writes."""

import json

import pytest

from nengo_pc.results import (
    REQUIRED_KEYS, SCHEMA, emit_record, make_record, read_record, validate_record,
    write_json_atomic,
)


def _record():
    return make_record("train", config={"epochs": 1}, seed=3,
                       metrics={"test_accuracy": 0.9}, seconds={"train": 1.5},
                       history=[{"epoch": 1}])


def test_record_schema():
    record = _record()
    assert record["schema"] == SCHEMA
    for key, kind in REQUIRED_KEYS.items():
        assert isinstance(record[key], kind), key
    for package in ("python", "nengo", "nengo-dl", "tensorflow", "numpy", "nengo-pc"):
        assert record["versions"][package], package
    assert record["machine"]["cpu_count"] >= 1
    assert record["history"] == [{"epoch": 1}]


def test_record_roundtrip(tmp_path):
    path = write_json_atomic(tmp_path / "a" / "run.json", _record())
    assert read_record(path)["metrics"] == {"test_accuracy": 0.9}
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.json"]


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda r: r.pop("metrics"), "missing required key 'metrics'"),
        (lambda r: r.update(seed="0"), "'seed' should be int"),
        (lambda r: r.update(schema="other/1"), "schema"),
        (lambda r: r["metrics"].update(loss=float("nan")), "NaN"),
    ],
)
def test_validate_rejects(change, match):
    record = _record()
    change(record)
    with pytest.raises(ValueError, match=match):
        validate_record(record)


def test_emit_record_writes_and_prints(tmp_path, capsys):
    record = _record()
    assert emit_record(record, tmp_path / "out.json") is record
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(record))
    assert read_record(tmp_path / "out.json") == json.loads(json.dumps(record))
    emit_record(record)  # no path: printed only
    assert json.loads(capsys.readouterr().out)["seed"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "run.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"a": float("nan")})  # JSON has no NaN
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_atomic_write_permissions(tmp_path):
    import os

    path = write_json_atomic(tmp_path / "r.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
