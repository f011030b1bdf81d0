"""Code and config written for jupyter_telemetry and jupyter_events keep working."""

from __future__ import annotations

import copy
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from conftest import SCHEMA_ID
from traitlets import TraitError
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from telemetry_core import EventLog

# -- jupyter_telemetry's documented API ---------------------------------------------------


def test_jupyter_telemetry_readme_example(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    schema = {
        "$id": "url.to.event.schema",
        "title": "My Event",
        "description": "All events must have a name property.",
        "type": "object",
        "properties": {"name": {"title": "Name", "description": "Name of event",
                                "type": "string"}},
        "required": ["name"],
        "version": 1,
    }
    handler = logging.FileHandler("events.log")
    eventlog = EventLog(handlers=[handler], allowed_schemas=["url.to.event.schema"])
    eventlog.register_schema(schema)
    eventlog.record_event("url.to.event.schema", 1, {"name": "example event"})
    handler.close()
    (line,) = Path("events.log").read_text().splitlines()
    assert json.loads(line)["name"] == "example event"


def test_schema_name_keyword_and_positional_arguments(eventlog, stream):
    eventlog.record_event(schema_name=SCHEMA_ID, version=1, event={"name": "kw"})
    eventlog.record_event(SCHEMA_ID, 1, {"name": "pos"}, None)
    names = [json.loads(line)["name"] for line in stream.getvalue().splitlines()]
    assert names == ["kw", "pos"]


def test_register_schema_file_yaml_json_and_open_file(tmp_path: Path, schema):
    import yaml

    yaml_path = tmp_path / "event.yaml"
    yaml_path.write_text(yaml.safe_dump(schema))
    json_schema = copy.deepcopy(schema)
    json_schema["version"] = 2
    json_path = tmp_path / "event.json"
    json_path.write_text(json.dumps(json_schema))
    file_schema = copy.deepcopy(schema)
    file_schema["version"] = 3
    (tmp_path / "three.yaml").write_text(yaml.safe_dump(file_schema))

    log = EventLog(allowed_schemas=[SCHEMA_ID])
    log.register_schema_file(str(yaml_path))
    log.register_schema_file(json_path)
    with open(tmp_path / "three.yaml") as f:
        log.register_schema_file(f)
    assert log.schemas.versions(SCHEMA_ID) == ["1", "2", "3"]
    for version in (1, 2, 3):
        assert log.record_event(SCHEMA_ID, version, {"name": "a"}) is not None


def test_schemas_attribute_answers_old_style_membership(eventlog):
    assert (SCHEMA_ID, 1) in eventlog.schemas
    assert (SCHEMA_ID, "1") in eventlog.schemas
    assert SCHEMA_ID in eventlog.schemas
    assert (SCHEMA_ID, 2) not in eventlog.schemas


GOOD_CONFIG = f"""
import logging
c.EventLog.handlers = [logging.StreamHandler()]
c.EventLog.allowed_schemas = ["{SCHEMA_ID}"]
"""


def _config_from_file(tmp_path: Path, text: str) -> Config:
    (tmp_path / "config.py").write_text(text)
    return PyFileConfigLoader("config.py", str(tmp_path)).load_config()


def test_handlers_in_a_config_file(tmp_path: Path, schema):
    cfg = _config_from_file(tmp_path, GOOD_CONFIG)
    log = EventLog(config=cfg)
    assert len(log.handlers) == 1 and isinstance(log.handlers[0], logging.StreamHandler)
    assert log.allowed_schemas == [SCHEMA_ID]
    # The same config again (traitlets deep-copies config values): handlers are shared,
    # not copied, and the config object still holds them.
    again = EventLog(config=cfg)
    assert again.handlers[0] is log.handlers[0]
    assert isinstance(cfg.EventLog.handlers, list)


def test_config_with_an_unpicklable_handler_is_not_deep_copied(tmp_path: Path, schema):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # holds an RLock: copy.deepcopy fails on it
    cfg = Config({"EventLog": {"handlers": [handler], "allowed_schemas": [SCHEMA_ID]}})
    log = EventLog(config=cfg)
    log.register_schema(schema)
    log.record_event(SCHEMA_ID, 1, {"name": "a"})
    assert json.loads(stream.getvalue())["name"] == "a"
    assert log.handlers[0] is handler


@pytest.mark.parametrize("bad", [
    "c.EventLog.handlers = [0]",
    "c.EventLog.handlers = ['foo']",
    "c.EventLog.handlers = [logging.StreamHandler(), 1]",
    "c.EventLog.handlers = 'not a list'",
])
def test_bad_handlers_in_config_raise_trait_error(tmp_path: Path, bad: str):
    cfg = _config_from_file(tmp_path, "import logging\n" + bad)
    with pytest.raises(TraitError):
        EventLog(config=cfg)


def test_handler_that_is_not_a_logging_handler_raises_trait_error():
    with pytest.raises(TraitError, match="logging.Handler"):
        EventLog(handlers=[object()])


def test_handlers_as_a_callable():
    handler = logging.NullHandler()
    assert EventLog(handlers=lambda: [handler]).handlers == [handler]


@pytest.mark.parametrize("bad", [
    {SCHEMA_ID: {"allowed_categories": ["x"], "alowed_properties": ["typo"]}},
    {SCHEMA_ID: {"allowed_categories": "user-identifiable-information"}},
    {SCHEMA_ID: ["allowed_categories"]},
    [SCHEMA_ID, 3],
    "just a string",
])
def test_allowed_schemas_with_unknown_keys_or_types_raise_trait_error(bad: Any):
    with pytest.raises(TraitError):
        EventLog(allowed_schemas=bad)


def test_allowed_schemas_dict_form_in_config(tmp_path: Path):
    cfg = _config_from_file(tmp_path, (
        f"c.EventLog.allowed_schemas = {{'{SCHEMA_ID}': "
        "{'allowed_categories': ['user-identifiable-information']}}"))
    log = EventLog(config=cfg)
    policy = log.policy_for(SCHEMA_ID)
    assert policy is not None
    assert policy.allowed_categories == frozenset({"user-identifiable-information"})


# -- schemas written for jupyter_events / jupyter_server ---------------------------------

# In the style of jupyter_server's event schemas: draft-07, a URL id, a string version,
# personal data marked with `personal-data: true`.
JUPYTER_SERVER_STYLE = """
"$id": https://events.jupyter.org/jupyter_server/contents_service/v1
version: "1"
title: Contents Manager activities
personal-data: true
description: |
  Record actions on files via the ContentsManager.
type: object
required:
  - action
  - path
properties:
  action:
    enum: [get, create, save, upload, rename, copy, delete]
    description: Action performed by the ContentsManager API.
  path:
    type: string
    description: Logical path on which the operation was performed.
  source_path:
    type: string
    personal-data: true
    description: Source path of an operation when action is 'copy' or 'rename'
"""


def test_jupyter_server_style_schema_registers_unchanged(tmp_path: Path):
    path = tmp_path / "contents.yaml"
    path.write_text(JUPYTER_SERVER_STYLE)
    sid = "https://events.jupyter.org/jupyter_server/contents_service/v1"
    log = EventLog(allowed_schemas=[sid])
    log.register_schema(path)
    recorded = log.record_event(sid, "1", {"action": "rename", "path": "b.ipynb",
                                            "source_path": "a.ipynb"})
    assert recorded["__schema_version__"] == "1"
    assert recorded["path"] == "b.ipynb"
    assert recorded["source_path"] is None  # personal-data: redacted by default
    # jupyter_events' emit() records the same event.
    assert log.emit(schema_id=sid, data={"action": "get", "path": "c"})["action"] == "get"


def test_jupyter_events_schema_registers_in_jupyter_events_too(tmp_path: Path):
    """The test schema above really is a jupyter_events schema (checked by it)."""
    from jupyter_events import EventLogger

    EventLogger().register_event_schema(JUPYTER_SERVER_STYLE)


def test_jupyter_events_add_modifier_signature(eventlog, stream):
    def modifier(*, schema_id: str, data: dict[str, Any]) -> dict[str, Any]:
        data["name"] = data["name"].upper()
        return data

    eventlog.add_modifier(schema_id=SCHEMA_ID, modifier=modifier)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "quiet"})
    assert json.loads(stream.getvalue())["name"] == "QUIET"
