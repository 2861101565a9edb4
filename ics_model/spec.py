"""The one configuration layer: frozen models, YAML reading, validation with key paths.

Every configuration file of the toolkit (run configs, composite specs, rule sets,
scenarios) is a frozen pydantic model derived from :class:`Frozen` and validated by
:func:`validate_as`. A failure raises :class:`ConfigError`, whose message lists every
problem as ``key.path: what is wrong (allowed: ...); given: value``.

This module sits at the bottom of the package: it imports only :mod:`ics_model.inputs`.

Examples
--------
>>> from pydantic import Field
>>> class Draws(Frozen):
...     draws: int = Field(100, ge=1)
>>> validate_as(Draws, {"draws": 0}, "uncertainty spec").draws
Traceback (most recent call last):
...
ics_model.spec.ConfigError: invalid uncertainty spec <dict>:
  draws: Input should be greater than or equal to 1; given: 0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from ics_model.inputs import MAX_TEXT_BYTES, InputError, SourceReadError, clip, echo, read_input

T = TypeVar("T")


class Frozen(BaseModel):
    """Base of every configuration model: immutable, and unknown keys are errors.

    A validated config is the record of a run, so it is never edited in place: derive a new
    one with :meth:`with_updates` (nested keys merged, the result validated again).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse assignment with a message that says what to do instead."""
        raise ConfigError(
            f"{type(self).__name__} is frozen (a config is the record of a run): instead of "
            f"setting {name!r}, derive a new config with .with_updates({{{name!r}: ...}})"
        )

    def with_updates(self, updates: Mapping[str, Any]) -> Self:
        """Return a copy with ``updates`` merged in (nested mappings merge) and re-validated.

        Nested mappings are merged key by key, so ``{"composite": {"pillars": {"quality":
        {"weight": 2}}}}`` changes one weight and keeps the pillar's indicators; any other
        value (a number, a string, a list) replaces the old one. Errors name the key path,
        the allowed values and the value given (:func:`validate_as`).

        Examples
        --------
        >>> class Inner(Frozen):
        ...     weight: float = 1.0
        ...     names: tuple[str, ...] = ("a",)
        >>> class Outer(Frozen):
        ...     inner: Inner = Inner()
        ...     draws: int = 10
        >>> Outer().with_updates({"inner": {"weight": 2}}).inner
        Inner(weight=2.0, names=('a',))
        >>> Outer().with_updates({"inner": {"wieght": 2}})
        Traceback (most recent call last):
        ...
        ics_model.spec.ConfigError: invalid config update:
          inner.wieght: unknown key (given: 2)
        """
        if not isinstance(updates, Mapping):
            raise ConfigError(f"with_updates takes a mapping, got {type(updates).__name__}")
        merged = deep_merge(self.model_dump(mode="python"), updates)
        return validate_as(type(self), merged, "config", source="update")


def deep_merge(base: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``updates`` into a copy of ``base``: mappings key by key, other values replaced.

    Examples
    --------
    >>> deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 5}, "d": [2, 3]})
    {'a': {'b': 5, 'c': 2}, 'd': [2, 3]}
    """
    out = dict(base)
    for key, value in updates.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = deep_merge(old, value)
        else:
            out[key] = value
    return out


class ConfigError(InputError, ValueError):
    """A configuration is unreadable or invalid; the message names every bad key path."""


def _number(x: float) -> str:
    """Write a bound for a message: ``1,000,000`` rather than ``1e+06``."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def finite_float(
    *, ge: float | None = None, gt: float | None = None, le: float | None = None
) -> Any:
    """Return a float type that must be finite and within the bounds (``Annotated``).

    Every failure (NaN, infinity, out of range, not a number) gets one message naming the
    whole allowed range, so 1e308 or ``.inf`` in a config never reaches numpy.

    Examples
    --------
    >>> class Weighted(Frozen):
    ...     weight: finite_float(ge=0, le=1e6) = 1.0
    >>> validate_as(Weighted, {"weight": 1e308}, "spec")
    Traceback (most recent call last):
    ...
    ics_model.spec.ConfigError: invalid spec <dict>:
      weight: Input should be a finite number greater than or equal to 0 and less than or equal to 1,000,000; given: 1e+308
    """  # noqa: E501
    parts = []
    if ge is not None:
        parts.append(f"greater than or equal to {_number(ge)}")
    if gt is not None:
        parts.append(f"greater than {_number(gt)}")
    if le is not None:
        parts.append(f"less than or equal to {_number(le)}")
    text = " ".join(["Input should be a finite number", " and ".join(parts)]).strip()

    def check(value: Any, handler: Callable[[Any], float]) -> float:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("finite_range", text) from None

    bounds = Field(ge=ge, gt=gt, le=le, allow_inf_nan=False)
    return Annotated[float, bounds, WrapValidator(check)]


def key_path(loc: Sequence[Any], *, prefix: str = "") -> str:
    """Join a pydantic error location into a dotted key path (``composite.pillars.quality``).

    Examples
    --------
    >>> key_path(("metrics", "directions", "gini"))
    'metrics.directions.gini'
    >>> key_path((), prefix="uncertainty")
    'uncertainty'
    """
    parts = [prefix] if prefix else []
    parts += [str(p) for p in loc]
    return ".".join(parts) or "<root>"


def format_error(err: Mapping[str, Any], *, prefix: str = "") -> str:
    """Format one pydantic error as ``key.path: message (allowed: ...); given: value``.

    Parameters
    ----------
    err : one entry of :meth:`pydantic.ValidationError.errors`.
    prefix : a key path to put before the error's own location (e.g. ``"uncertainty"``
        when a section is validated on its own).

    Examples
    --------
    >>> format_error({"loc": ("views", "sectors", 0), "type": "literal_error",
    ...               "msg": "Input should be 'nhs_trust' or 'gp_practice'",
    ...               "input": "trusts"})
    "views.sectors.0: Input should be 'nhs_trust' or 'gp_practice'; given: 'trusts'"
    """
    path = clip(key_path(err.get("loc", ()), prefix=prefix))
    given = echo(err.get("input"))
    if err.get("type", "") == "extra_forbidden":
        return f"{path}: unknown key (given: {given})"
    text = f"{path}: {err.get('msg', 'invalid value')}"
    allowed = (err.get("ctx") or {}).get("expected")
    if allowed and "allowed" not in text:
        text += f" (allowed: {allowed})"
    return f"{text}; given: {given}"


def validate_as(
    model: type[T] | TypeAdapter[T],
    data: Any,
    what: str,
    *,
    source: str = "<dict>",
    error_line: Callable[[Mapping[str, Any]], str] = format_error,
) -> T:
    """Validate ``data`` as ``model`` or raise :class:`ConfigError` listing every problem.

    Parameters
    ----------
    model : a :class:`Frozen` model class or a :class:`pydantic.TypeAdapter` (e.g. a
        discriminated union).
    data : the parsed YAML (a mapping; ``None`` means an empty mapping).
    what : what is being validated, for the message (``"config"``, ``"rule set"``...).
    source : where the data came from (a path), for the message.
    error_line : formats one pydantic error (default :func:`format_error`).

    Returns
    -------
    The validated model.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{what} {source}: the top level must be a mapping, got {type(data).__name__}"
        )
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        lines = [error_line(e) for e in exc.errors()]
        raise ConfigError(f"invalid {what} {source}:\n  " + "\n  ".join(lines)) from None


def read_yaml(path: str | Path, what: str) -> Any:
    """Read and parse a YAML file, or raise :class:`ConfigError` naming ``what`` and the path.

    Parameters
    ----------
    path : the file.
    what : what the file holds (``"config"``, ``"rule set"``, ``"scenario"``), for messages.
    """
    path = Path(path)
    try:
        data = read_input(path, MAX_TEXT_BYTES)
    except SourceReadError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.reason}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} {path} is not UTF-8 text (line {line}): {exc.reason}") from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {clip(str(exc), 600)}") from None
    except ConfigError as exc:
        raise ConfigError(f"{what} {path}: {exc}") from None


#: the most nodes a YAML document may expand to, counting every alias as a copy of its
#: anchor (a run config has a few hundred; a "billion laughs" document, billions).
MAX_YAML_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


def parse_yaml(text: str) -> Any:
    r"""Parse one YAML document safely, refusing duplicate keys and runaway aliases.

    PyYAML keeps the last of two equal keys in a mapping silently, so a setting written
    twice would be half-ignored: here a duplicate key at any level is a
    :class:`ConfigError` naming its key path and both lines. Aliases are expanded, in
    effect, by whatever reads the data (validation, dumps), so a document whose aliases
    nest ("billion laughs") is refused when its expansion passes :data:`MAX_YAML_NODES`
    nodes, before anything is built from it.

    Raises
    ------
    yaml.YAMLError
        The text is not YAML.
    ConfigError
        A duplicate key, or an expansion beyond :data:`MAX_YAML_NODES` nodes.

    Examples
    --------
    >>> parse_yaml("a: {b: 1, c: 2}")
    {'a': {'b': 1, 'c': 2}}
    >>> parse_yaml("a:\n  b: 1\n  b: 2\n")
    Traceback (most recent call last):
    ...
    ics_model.spec.ConfigError: a.b: duplicate key (line 3; first on line 2); given: 'b'
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node)
        return loader.construct_document(node)
    except RecursionError:
        raise ConfigError(
            "the document nests too deeply to read (lists or mappings inside one another)"
        ) from None
    finally:
        loader.dispose()


def _short_path(path: Sequence[str], limit: int = 200) -> str:
    """Return a key path for a message, cut to ``limit`` characters (an alias loop has no end)."""
    text = key_path(path)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_nodes(root: yaml.Node) -> None:
    """Walk the node graph as its data would expand; raise on a duplicate key or a blow-up."""
    count = 0
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise ConfigError(
                f"{_short_path(path, 80)}: the document expands to more than {MAX_YAML_NODES:,} "
                "values (aliases nested in aliases?); allowed: at most "
                f"{MAX_YAML_NODES:,} after expanding aliases"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    stack.append((value, path))
                    continue
                name = key.value if isinstance(key, yaml.ScalarNode) else repr(key.value)[:200]
                ident = (key.tag, name)
                line = key.start_mark.line + 1
                if ident in seen:
                    raise ConfigError(
                        f"{_short_path((*path, name))}: duplicate key (line {line}; first on "
                        f"line {seen[ident]}); given: {name[:200]!r}"
                    )
                seen[ident] = line
                stack.append((value, (*path, str(name))))


__all__ = [
    "MAX_YAML_NODES",
    "ConfigError",
    "Frozen",
    "finite_float",
    "format_error",
    "key_path",
    "parse_yaml",
    "read_yaml",
    "validate_as",
]
