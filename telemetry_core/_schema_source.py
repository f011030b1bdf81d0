"""Reading a schema source: a dict, a path (JSON or YAML), an open file, a URL or text.

Only reading and parsing; checking and registering are ``_schema_registry``'s.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from ._errors import SchemaLoadError

SchemaSource = dict[str, Any] | str | Path | IO[str] | IO[bytes]
URL_TIMEOUT = 10.0
#: libyaml's safe loader where PyYAML has it (several times faster), else PyYAML's own.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LoadedSource:
    """A parsed schema and where it came from (``text`` lets errors name lines)."""

    schema: Any
    origin: str
    text: str | None = None


def parse_text(text: str, origin: str, *, json_only: bool = False) -> Any:
    if json_only:  # a .json file is JSON: YAML would accept a trailing comma, say
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaLoadError(f"{origin}:{exc.lineno}: not valid JSON: {exc.msg} "
                                  f"(column {exc.colno})") from None
        except RecursionError:
            raise SchemaLoadError(f"{origin}: nested too deeply to read") from None
    try:
        # YAML is a superset of JSON: one parser for both (libyaml's, where PyYAML has it).
        return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise SchemaLoadError(f"{origin}: not valid YAML or JSON: {exc}") from exc
    except RecursionError:
        raise SchemaLoadError(f"{origin}: nested too deeply to read") from None


def _read_url(url: str) -> LoadedSource:
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT) as resp:  # noqa: S310
            text = decode(resp.read(), url)
    except SchemaLoadError:
        raise
    except (OSError, ValueError) as exc:
        raise SchemaLoadError(
            f"{url}: could not fetch the schema: {exc}; check the URL, or register a "
            "local copy of the file") from exc
    return LoadedSource(parse_text(text, url), url, text)


def _read_path(path: Path) -> LoadedSource:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemaLoadError(f"{path}: cannot read the schema file: {exc}") from exc
    text = decode(raw, str(path))
    json_only = path.suffix.lower() == ".json"
    return LoadedSource(parse_text(text, str(path), json_only=json_only), str(path), text)


def decode(raw: bytes, origin: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaLoadError(
            f"{origin}: not UTF-8 text (byte {exc.start}); save the schema as UTF-8") from None


def load_source(source: SchemaSource) -> LoadedSource:
    """Read a schema source into a Python object (not yet checked)."""
    if isinstance(source, dict):
        return LoadedSource(source, f"<dict {source.get('$id', '?')!r}>")
    if isinstance(source, Path):
        return _read_path(source)
    if hasattr(source, "read"):
        raw = source.read()
        origin = str(getattr(source, "name", "<file>"))
        text = decode(raw, origin) if isinstance(raw, bytes) else str(raw)
        return LoadedSource(parse_text(text, origin), origin, text)
    if isinstance(source, str):
        scheme = urllib.parse.urlsplit(source).scheme.lower()
        if scheme in ("http", "https", "file"):
            return _read_url(source)
        if "\n" in source or source.lstrip().startswith(("{", "$", "%YAML", "---")):
            return LoadedSource(parse_text(source, "<text>"), "<text>", source)
        path = Path(source)
        if path.exists():
            return _read_path(path)
        parsed = parse_text(source, "<text>")
        if isinstance(parsed, dict):  # one-line YAML/JSON mapping
            return LoadedSource(parsed, "<text>", source)
        raise SchemaLoadError(
            f"{source}: no such schema file, and not a URL or YAML/JSON text; give a "
            "path, a URL (http(s)://, file://), a dict, or the schema's text")
    raise SchemaLoadError(
        f"cannot read a schema from a {type(source).__name__}; give a dict, a path, "
        "an open file, a URL or YAML/JSON text")
