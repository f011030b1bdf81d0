"""Schemas: reading from every kind of source, the checks, errors, and shipped schemas."""

from __future__ import annotations

import copy
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import SCHEMA_ID

from telemetry_core import (
    EventLog,
    InvalidSchemaError,
    SchemaLoadError,
    SchemaNotRegisteredError,
    SchemaRegistrationError,
)
from telemetry_core._privacy import PII_CATEGORY, property_categories
from telemetry_core._schema_registry import (
    SCHEMAS_DIR,
    builtin_schema_paths,
    builtin_schemas,
    meta_schema,
    schema_problems,
)

# -- sources ------------------------------------------------------------------------------


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over ``tmp_path`` (a real server, on a free port)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def _versions(schema: dict[str, Any], *versions: int) -> list[dict[str, Any]]:
    out = []
    for v in versions:
        s = copy.deepcopy(schema)
        s["version"] = v
        out.append(s)
    return out


def test_every_kind_of_source(schema, tmp_path: Path, http_dir):
    base, served = http_dir
    s1, s2, s3, s4, s5, s6, s7 = _versions(schema, 1, 2, 3, 4, 5, 6, 7)
    (served / "over-http.json").write_text(json.dumps(s1))
    file_url = tmp_path / "file-url.yaml"
    file_url.write_text(yaml.safe_dump(s2))
    as_path = tmp_path / "as-path.yaml"
    as_path.write_text(yaml.safe_dump(s3))
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    log.register_schema(f"{base}/over-http.json")
    log.register_schema(file_url.as_uri())
    log.register_schema(as_path)
    log.register_schema(str(as_path).replace("as-path", "as-path"))  # str path, same v3
    log.register_schema(yaml.safe_dump(s4))  # YAML text
    log.register_schema(json.dumps(s5))  # JSON text
    log.register_schema(json.dumps(s6, indent=None).replace("\n", ""))  # one-line JSON
    log.register_schema(s7)  # a dict
    assert log.schemas.versions(SCHEMA_ID) == ["1", "2", "3", "4", "5", "6", "7"]


def test_unreadable_sources_are_clear_load_errors(tmp_path: Path, http_dir):
    base, _ = http_dir
    log = EventLog()
    with pytest.raises(SchemaLoadError, match="no such schema file"):
        log.register_schema(str(tmp_path / "missing.yaml"))
    with pytest.raises(SchemaLoadError, match="cannot read the schema file"):
        log.register_schema(tmp_path / "missing.yaml")
    with pytest.raises(SchemaLoadError, match="could not fetch the schema"):
        log.register_schema(f"{base}/missing.json")
    bad = tmp_path / "bad.yaml"
    bad.write_text("properties: [unclosed\n")
    with pytest.raises(SchemaLoadError, match="bad.yaml: not valid YAML or JSON"):
        log.register_schema(bad)
    with pytest.raises(SchemaLoadError, match="cannot read a schema from a int"):
        log.register_schema(42)  # type: ignore[arg-type]
    assert isinstance(SchemaLoadError("x"), ValueError)


# -- checks and their errors --------------------------------------------------------------


def test_invalid_json_schema_is_a_schema_error_naming_id_version_and_path(schema):
    schema["properties"]["count"]["type"] = "intger"
    with pytest.raises(InvalidSchemaError) as info:
        EventLog().register_schema(schema)
    assert isinstance(info.value, jsonschema.SchemaError)
    message = str(info.value)
    assert SCHEMA_ID in message and "version 1" in message
    assert "$.properties.count.type" in message


@pytest.mark.parametrize("missing", ["$id", "version"])
def test_missing_id_or_version_is_a_value_error(schema, missing: str):
    del schema[missing]
    with pytest.raises(SchemaRegistrationError, match=f"'\\{missing}' is required" if
                       missing == "$id" else "'version' is required") as info:
        EventLog().register_schema(schema)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("version", [None, 1.5, True, "", [1]])
def test_version_must_be_an_integer_or_a_string(schema, version: Any):
    schema["version"] = version
    with pytest.raises(SchemaRegistrationError, match="'version' must be an integer or a string"):
        EventLog().register_schema(schema)


def test_reserved_property_name_is_a_value_error(schema):
    schema["properties"]["__timestamp__"] = {"type": "string"}
    with pytest.raises(SchemaRegistrationError,
                       match=r"\$.properties.__timestamp__: .*reserved for the envelope"):
        EventLog().register_schema(schema)


@pytest.mark.parametrize("path, value, expect", [
    (("user", "pii"), "yes", "'yes' is not of type 'boolean'"),
    (("location", "categories"), "geo", "'geo' is not of type 'array'"),
    (("details", "properties", "email", "pii"), 1, "1 is not of type 'boolean'"),
])
def test_meta_schema_rules_are_schema_errors(schema, path, value, expect):
    target = schema["properties"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(InvalidSchemaError, match=expect) as info:
        EventLog().register_schema(schema)
    assert info.value.json_path_in_schema == "$.properties." + ".".join(path)


def test_not_a_mapping_is_a_schema_error():
    with pytest.raises(InvalidSchemaError, match="a schema is a mapping"):
        EventLog().register_schema("- just\n- a list\n")


def test_schema_problems_lists_everything(schema):
    del schema["$id"]
    schema["properties"]["__x"] = {}
    schema["properties"]["user"]["pii"] = "yes"
    kinds = [(p.kind, p.json_path) for p in schema_problems(schema)]
    assert ("registration", "$") in kinds
    assert ("registration", "$.properties.__x") in kinds
    assert ("invalid", "$.properties.user.pii") in kinds


def test_not_registered_error_lists_what_is(eventlog):
    with pytest.raises(SchemaNotRegisteredError, match="register it first"):
        eventlog.schemas.get("https://example.org/none", 1)


def test_newest_version_sorts_numerically(schema):
    log = EventLog()
    for s in _versions(schema, 2, 10, 9):
        log.register_schema(s)
    assert log.schemas.versions(SCHEMA_ID) == ["2", "9", "10"]
    assert log.schemas.latest(SCHEMA_ID).version == "10"


# -- the meta-schema and the shipped schemas ------------------------------------------------


def test_meta_schema_is_valid_json_schema_and_has_an_id_and_version():
    meta = meta_schema()
    jsonschema.validators.validator_for(meta).check_schema(meta)
    assert meta["$id"].startswith("https://") and meta["version"] == 1
    assert (SCHEMAS_DIR / "meta" / "event-schema.yaml").exists()


def test_shipped_schemas_cover_the_jupyter_events_the_issue_names():
    titles = {s.title for s in builtin_schemas()}
    assert titles == {
        "Code executed on a kernel", "JupyterLab command or click", "File or dataset opened",
        "Server session started or stopped", "Kernel started or stopped",
        # the server-side hooks of telemetry_core.jupyter (issue #19)
        "Dataset opened", "File saved", "JupyterHub login",
        "JupyterHub user server spawning, started or stopped", "Consent decision",
        # the JupyterLab / Notebook 7 extension (plugins/jupyterlab-telemetry, issue #19)
        "JupyterLab document opened", "Notebook opened", "Notebook saved",
        "Notebook shown or hidden", "Notebook scrolled", "Active cell changed",
        "Notebook cell added", "Notebook cell removed", "Notebook cell edited",
        "Notebook cell executed", "Notebook clipboard copy, cut or paste",
        "JupyterLab click that ran no command",
        # the alerts of telemetry-detect's Sigma rules (plugins/telemetry-detect, issue #26)
        "Detection alert",
        # terminals, for the "new address then a terminal" correlation (issue #26)
        "Terminal started or stopped"}


@pytest.mark.parametrize("path", builtin_schema_paths(), ids=lambda p: p.name)
def test_shipped_schema_is_documented_for_the_notice(path: Path):
    schema = yaml.safe_load(path.read_text())
    assert schema_problems(schema) == []
    assert schema["title"] and schema["description"]

    def walk(props: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, prop in props.items():
            yield name, prop
            yield from walk(prop.get("properties", {}))

    props = list(walk(schema["properties"]))
    for name, prop in props:
        assert prop.get("title") and prop.get("description"), f"{path.name}: {name}"
    # Every shipped schema names who did it, as personal data.
    assert PII_CATEGORY in property_categories(schema["properties"]["user"])


def test_shipped_schemas_are_registered_by_default_and_can_be_left_out():
    ids = {s.id for s in builtin_schemas()}
    assert ids <= {s.id for s in EventLog().schemas}
    assert len(EventLog(register_builtin_schemas=False).schemas) == 0


def test_schema_files_config_registers_at_start(tmp_path: Path, schema):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(schema))
    log = EventLog(schema_files=[str(path)], allowed_schemas=[SCHEMA_ID])
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"}) is not None
