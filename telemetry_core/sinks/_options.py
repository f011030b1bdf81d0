"""Sink options, declared once: name, type, default, bounds and a one-line description.

A sink declares its options as one dataclass whose fields are made with :func:`option`
(the field's type says the kind, ``option`` the default, bounds and description), and
receives them as one instance of it; :func:`declared_options` reads that dataclass as
:class:`Option` values, and the framework lists its own (:data:`FRAMEWORK_OPTIONS`).
:func:`check_options` validates a configuration against both when the sink is built,
so ``rotate_bytes="10MB"``, ``compress="no"`` or ``batch_size=0`` fail at once with a
:class:`SinkConfigError` that names the option, what it expects and what it got, and
an unknown option gets a "did you mean". ``telemetry sinks`` prints the same declarations.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import SinkConfigError

#: The kinds an option may have, and how each is described in errors.
_KIND_WORDS = {
    "int": "a whole number", "float": "a number", "bool": "true or false",
    "str": "a string", "path": "a path", "mode": "permission bits such as 0o640 (416 in JSON)",
    "list": "a list", "dict": "a mapping", "any": "a value",
}


@dataclass(frozen=True)
class Option:
    """One option of a sink: how configuration spells it and what it accepts.

    ``kind`` is one of int, float, bool, str, path, mode, list, dict, any. ``minimum``
    and ``maximum`` bound numbers; ``choices`` lists the accepted values; ``nullable``
    accepts None (the default then means "not set"); ``check`` may raise ValueError
    with a message for rules the fields above cannot say.
    """

    name: str
    kind: str
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    required: bool = False
    nullable: bool = False
    check: Callable[[Any], None] | None = field(default=None, compare=False)

    def convert(self, where: str, value: Any, *, given: bool = True) -> Any:
        """``value`` checked (and a path normalised), or SinkConfigError.

        ``given=False``: the option was left out, so its default applies. A None given
        for an option that has no "not set" meaning is an error, not the default: a
        ``read_timeout: null`` meant as "no timeout" must not silently become 30 s.
        """
        if value is None:
            if self.required:
                raise SinkConfigError(f"{where}: {self.name!r} is required: {self.doc}")
            if self.nullable or self.default is None:
                return None
            if given:
                raise SinkConfigError(f"{where}: {self.name!r} must be "
                                      f"{_KIND_WORDS[self.kind]}, got None; leave it out for "
                                      f"the default ({self.default!r})")
            value = self.default
        kind = self.kind
        ok = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "mode": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0o777,
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "str": lambda v: isinstance(v, str),
            "path": lambda v: isinstance(v, (str, os.PathLike)),
            "list": lambda v: isinstance(v, (list, tuple)),
            "dict": lambda v: isinstance(v, Mapping),
            "any": lambda v: True,
        }[kind](value)
        if not ok:
            raise SinkConfigError(
                f"{where}: {self.name!r} must be {_KIND_WORDS[kind]}, got {value!r}")
        if self.choices and value not in self.choices:
            raise SinkConfigError(
                f"{where}: {self.name!r} must be one of "
                f"{', '.join(repr(c) for c in self.choices)}, got {value!r}")
        if kind in ("int", "float"):
            if self.minimum is not None and value < self.minimum:
                raise SinkConfigError(
                    f"{where}: {self.name!r} must be >= {_number(self.minimum)}, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise SinkConfigError(
                    f"{where}: {self.name!r} must be <= {_number(self.maximum)}, got {value!r}")
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                raise SinkConfigError(f"{where}: {self.name!r}: {exc}") from None
        if kind == "path":  # text, so that a trailing "/" (a directory) survives
            return os.path.expanduser(os.fspath(value))
        return value


def _number(bound: float) -> str:
    """A bound as a reader writes it: 5242880, not 5.24288e+06."""
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


def _positive(kind: str, name: str, default: Any, doc: str, **more: Any) -> Option:
    return Option(name, kind, default, doc, minimum=more.pop("minimum", 1), **more)


#: Options every sink accepts; the framework (delivery, spool, dead-letter) uses them.
FRAMEWORK_OPTIONS: tuple[Option, ...] = (
    Option("name", "str", None, "tells two sinks of one type apart; names the spool dir "
           "(default: derived from the sink's destination)", nullable=True),
    _positive("int", "batch_size", None, "events per write_batch call (default: the sink's "
              "own)", nullable=True),
    Option("batch_age", "float", None, "seconds the first event of a batch may wait for more "
           "(default: the sink's own)", minimum=0, nullable=True),
    _positive("int", "queue_max_events", 100_000, "bound of the in-memory queue, in events"),
    _positive("int", "queue_max_bytes", 64 * 2**20, "bound of the in-memory queue, in bytes "
              "of JSON (64 MiB)"),
    Option("emit_timeout", "float", 0.0, "seconds a caller may wait for room when the queue "
           "is full", minimum=0),
    Option("drop_policy", "str", "drop_newest", "when queue and spool are full: which event "
           "is dropped", choices=("drop_newest", "drop_oldest")),
    Option("retry_initial", "float", 0.1, "first retry delay in seconds, doubled with "
           "jitter", minimum=0),
    Option("retry_max", "float", 30.0, "longest retry delay in seconds", minimum=0),
    _positive("int", "max_attempts", 3, "direct attempts before a batch goes to the spool"),
    Option("spool", "bool", True, "false keeps everything in memory (no disk spool)"),
    Option("spool_dir", "path", None, "this sink's spool directory (default $XDG_STATE_HOME/"
           "telemetry/spool/<type>-<name>, else ~/.local/state/...)", nullable=True),
    _positive("int", "spool_max_bytes", 2**30, "bound of the spool on disk per process "
              "(1 GiB)"),
    _positive("int", "spool_segment_bytes", 16 * 2**20, "size at which a new spool segment "
              "file starts (16 MiB)"),
    Option("spool_fsync", "str", "batch", "never, batch (fsync each spool write) or always "
           "(each event)", choices=("never", "batch", "always")),
    Option("spool_at", "float", 0.5, "fraction of the queue bound at which events start "
           "going to disk", minimum=0.001, maximum=1),
    Option("dead_letter_path", "path", None, "JSON-lines file of rejected events (default "
           "<spool slot>/dead-letter.jsonl)", nullable=True),
    _positive("int", "dead_letter_max_bytes", 100 * 2**20, "size at which the dead-letter "
              "file rotates to .1 (100 MiB)"),
    Option("file_mode", "mode", 0o600, "permissions of every file the sink and the framework "
           "create (outputs, spool, dead-letter, stats); directories get the matching "
           "search bits (0o600 -> 0o700): events are about people"),
    Option("close_timeout", "float", 30.0, "seconds close() and interpreter exit wait to "
           "deliver", minimum=0),
    Option("stats_interval", "float", 10.0, "seconds between stats-file writes; 0 turns them "
           "off", minimum=0),
    _positive("int", "max_slots", 64, "processes that may spool under one spool_dir at once"),
)


def describe(options: Iterable[Option]) -> dict[str, str]:
    """``{name: "description (default ...)"}``, as ``telemetry sinks`` prints them."""
    out = {}
    for opt in options:
        shown = oct(opt.default) if opt.kind == "mode" else repr(opt.default)
        default = "" if opt.required or opt.default is None else f" (default {shown})"
        out[opt.name] = ("required: " if opt.required else "") + opt.doc + default
    return out


def check_options(
    where: str,
    config: Mapping[str, Any],
    sink_options: Iterable[Option],
    *,
    accepts_extra: Callable[[str], bool] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Split and validate ``config``: (framework options, sink options, extra settings).

    Every declared option appears in its dict (its default when not given). A key that
    no declaration knows is an extra setting if ``accepts_extra(key)`` says so (Kafka
    passes librdkafka's settings on), else a SinkConfigError with the closest names.
    """
    own = {opt.name: opt for opt in sink_options}
    framework = {opt.name: opt for opt in FRAMEWORK_OPTIONS}
    clash = own.keys() & framework.keys()
    if clash:  # a plugin bug, not a user's: name it for the plugin's author
        raise TypeError(f"{where}: declares framework option(s) {sorted(clash)}; set the "
                        "class attributes batch_size/batch_age for its own defaults")
    known = {**framework, **own}
    extra: dict[str, Any] = {}
    for key in config:
        if key in known:
            continue
        if accepts_extra is not None and accepts_extra(key):
            extra[key] = config[key]
            continue
        close = difflib.get_close_matches(str(key), list(known), n=3, cutoff=0.6)
        hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
                else f"; its options: {', '.join(own) or '(none)'}; options of every sink: "
                     f"{', '.join(framework)}")
        raise SinkConfigError(f"{where}: unknown option {key!r}{hint}")
    for opt in own.values():
        if opt.required and config.get(opt.name) in (None, ""):
            raise SinkConfigError(f"{where}: {opt.name!r} is required: {opt.doc}")
    values = {name: opt.convert(where, config.get(name), given=name in config)
              for name, opt in known.items()}
    return {k: values[k] for k in framework}, {k: values[k] for k in own}, extra


# -- options declared as one dataclass ------------------------------------------------


@dataclass(frozen=True)
class NoOptions:
    """The options of a sink that declares none."""


_SPEC = "telemetry_sink_option"


@dataclass(frozen=True)
class _Spec:
    doc: str
    kind: str | None
    key: str | None
    extra: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    required: bool = False
    check: Callable[[Any], None] | None = None


def option(default: Any, doc: str, *, kind: str | None = None, key: str | None = None,
           minimum: float | None = None, maximum: float | None = None,
           choices: tuple[Any, ...] = (), required: bool = False,
           check: Callable[[Any], None] | None = None) -> Any:
    """One field of a sink's options dataclass: ``rotate_bytes: int = option(0, "...")``.

    The field's type gives the kind (``int``, ``float``, ``bool``, ``str``, a list or
    mapping type; anything else is ``any``) and ``X | None`` makes None mean "not set";
    ``kind`` overrides it (``path``, ``mode``). ``key`` is how configuration spells the
    option when that is not a Python name (Kafka's ``bootstrap.servers``). The other
    arguments are those of :class:`Option`.
    """
    spec = _Spec(doc, kind, key, minimum=minimum, maximum=maximum, choices=choices,
                 required=required, check=check)
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default),  # type: ignore[call-arg]
                     metadata={_SPEC: spec})
    return field(default=default, metadata={_SPEC: spec})


def extra_options(doc: str) -> Any:
    """The field that receives, as a dict, the undeclared options the sink's
    ``accepts_extra`` let through (Kafka: librdkafka's settings). Not an option itself."""
    return field(default_factory=dict, metadata={_SPEC: _Spec(doc, None, None, extra=True)})


def _kind_of(hint: Any) -> tuple[str, bool]:
    """(kind, nullable) of a field's type."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        kind = _kind_of(rest[0])[0] if len(rest) == 1 else "any"
        return kind, len(rest) < len(args)
    base = typing.get_origin(hint) or hint
    for types_, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                         ((list, tuple, Sequence), "list"), ((dict, Mapping), "dict")):
        if isinstance(base, type) and issubclass(base, types_):  # type: ignore[arg-type]
            return kind, False
    return "any", False


def declared_options(options_type: type[Any]) -> tuple[Option, ...]:
    """The :class:`Option` declarations of a sink's options dataclass, in field order.

    Raises TypeError (a plugin author's mistake, not a user's) for a field not made
    with :func:`option`.
    """
    hints = typing.get_type_hints(options_type)
    found = []
    for f in dataclasses.fields(options_type):
        spec = f.metadata.get(_SPEC)
        if spec is None:
            raise TypeError(f"{options_type.__qualname__}.{f.name}: declare every field of a "
                            "sink's options with telemetry_core.sinks.option(...)")
        if spec.extra:
            continue
        kind, nullable = _kind_of(hints[f.name])
        default = (f.default_factory() if f.default_factory is not dataclasses.MISSING
                   else f.default)
        found.append(Option(spec.key or f.name, spec.kind or kind, default, spec.doc,
                            minimum=spec.minimum, maximum=spec.maximum, choices=spec.choices,
                            required=spec.required, nullable=nullable, check=spec.check))
    return tuple(found)


def build_options(options_type: type[Any], values: Mapping[str, Any],
                  extra: Mapping[str, Any]) -> Any:
    """An instance of ``options_type`` from checked ``values`` (keyed as configuration
    spells them) and the extra settings."""
    kwargs: dict[str, Any] = {}
    taken = not extra
    for f in dataclasses.fields(options_type):
        spec = f.metadata[_SPEC]
        kwargs[f.name] = dict(extra) if spec.extra else values[spec.key or f.name]
        taken = taken or spec.extra
    if not taken:  # a plugin bug: accepts_extra lets keys through that nothing receives
        raise TypeError(f"{options_type.__qualname__} has no extra_options() field for "
                        f"the settings its sink's accepts_extra lets through: {sorted(extra)}")
    return options_type(**kwargs)
