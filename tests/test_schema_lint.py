"""Unknown schema keywords are errors with "did you mean", at lint and at registration."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry_core import EventLog, InvalidSchemaError
from telemetry_core._cli import main
from telemetry_core._schema_registry import builtin_schema_paths

SID = "https://example.org/schemas/typo"


def schema(**props: dict) -> dict:
    return {"$id": SID, "version": 1, "type": "object", "properties": props}


def test_a_misspelt_pii_mark_is_refused_at_registration_and_never_kept_in_clear():
    log = EventLog(allowed_schemas=[SID])
    with pytest.raises(InvalidSchemaError) as err:
        log.register_schema(schema(email={"type": "string", "pi": True}))
    message = str(err.value)
    assert "$.properties.email" in message and "'pi'" in message
    assert "did you mean 'pii'?" in message
    assert "x-" in message  # says how to spell an extension
    assert (SID, 1) not in log.schemas


def test_a_misspelt_properties_keyword_is_refused():
    with pytest.raises(InvalidSchemaError, match=r"'propertes' \(did you mean 'properties'\?\)"):
        EventLog().register_schema({"$id": SID, "version": 1, "type": "object",
                                    "propertes": {"name": {"type": "string"}}})


@pytest.mark.parametrize("where", ["items", "anyOf", "$defs", "patternProperties", "not_"])
def test_unknown_keywords_are_found_inside_nested_schemas(where: str):
    bad = {"type": "string", "categries": ["location"]}
    nested = {"items": {"type": "array", "items": bad},
              "anyOf": {"anyOf": [{"type": "null"}, bad]},
              "$defs": {"$ref": "#/$defs/d"},
              "patternProperties": {"type": "object", "patternProperties": {"^a": bad}},
              "not_": {"type": "object", "properties": {"inner": bad}}}[where]
    doc = schema(field=nested)
    if where == "$defs":
        doc["$defs"] = {"d": bad}
    with pytest.raises(InvalidSchemaError, match="did you mean 'categories'"):
        EventLog().register_schema(doc)


def test_extension_keywords_with_x_prefix_and_values_are_not_keywords():
    log = EventLog(allowed_schemas=[SID])
    log.register_schema({**schema(name={"type": "string", "x-ui-order": 1,
                                        "default": {"pi": 1}, "enum": [{"propertes": 1}, "a"],
                                        "examples": [{"anything": True}]}),
                         "x-owner": "team"})
    assert (SID, 1) in log.schemas


def test_schema_validate_reports_the_typo_with_its_line(tmp_path: Path, capsys):
    path = tmp_path / "typo.yaml"
    path.write_text(f"$id: {SID}\nversion: 1\ntype: object\nproperties:\n"
                    "  email:\n    type: string\n    pi: true\n")
    assert main(["schema", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5: $.properties.email: unknown keyword 'pi' (did you mean 'pii'?)" in err


def test_shipped_and_jupyter_server_schemas_use_only_known_keywords():
    import jupyter_server

    server_schemas = sorted((Path(jupyter_server.__file__).parent / "event_schemas")
                            .rglob("*.yaml"))
    assert server_schemas, "jupyter_server ships event schemas"
    log = EventLog(register_builtin_schemas=False)
    for path in [*builtin_schema_paths(), *server_schemas]:
        log.register_schema(path)  # unchanged, under the strict check
    assert len(log.schemas) == len(builtin_schema_paths()) + len(server_schemas)
