"""Reference pages generated from the code: every config key and every CLI option.

The documentation site's configuration and command-line references are written by
:func:`config_reference_markdown` and :func:`cli_reference_markdown`, from the pydantic
models and the CLI itself, so that a key or an option cannot exist undocumented: the
tests compare them with :func:`config_key_paths` and the commands walked independently.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

#: how a key path shows a mapping's own keys and a list's items
ANY_KEY = "<name>"
ANY_ITEM = "[]"


@dataclass(frozen=True)
class Key:
    """One documented config key."""

    path: str
    type: str
    default: str
    bounds: str
    description: str


def _models_in(annotation: Any) -> tuple[list[type[BaseModel]], str]:
    """Models inside ``annotation`` and how they nest: ``""``, ``"dict"`` or ``"list"``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation], ""
    if origin in (typing.Union, types.UnionType):
        found: list[type[BaseModel]] = []
        how = ""
        for arg in args:
            models, nest = _models_in(arg)
            found += models
            how = how or nest
        return found, how
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin in (dict, Mapping):  # get_origin(typing.Mapping[...]) is abc.Mapping
        models, _ = _models_in(args[1]) if len(args) == 2 else ([], "")
        return models, "dict" if models else ""
    if origin in (list, tuple, set, frozenset):
        models, _ = _models_in(args[0]) if args else ([], "")
        return models, "list" if models else ""
    return [], ""


def _type_name(annotation: Any) -> str:
    """Return a readable type: ``float``, ``'strict' | 'lenient'``, ``Path | None``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if annotation is type(None):
        return "null"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args if a is not Ellipsis)}]"
    if inspect.isclass(annotation):
        if issubclass(annotation, BaseModel):
            return "mapping"
        return annotation.__name__
    return str(annotation).replace("typing.", "")


_SIGNS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
_LENGTHS = (("min_length", "length >="), ("max_length", "length <="))


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}" if isinstance(value, float) else f"{value:,}"


def _bounds(info: FieldInfo) -> str:
    """Return the numeric and length bounds of a field, e.g. ``>= 0, <= 1,000,000``."""
    items = list(info.metadata)
    if typing.get_origin(info.annotation) is typing.Annotated:
        items += list(typing.get_args(info.annotation)[1:])
    for item in list(items):
        if isinstance(item, FieldInfo):
            items += list(item.metadata)
    parts = []
    for item in items:
        for attr, sign in (*_SIGNS, *_LENGTHS):
            value = getattr(item, attr, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                parts.append(f"{sign} {_number(value)}")
        if getattr(item, "allow_inf_nan", None) is False:
            parts.append("finite")
    return ", ".join(dict.fromkeys(parts))


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        try:
            value = info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return "(see its keys)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list | frozenset | set):
        return "[" + ", ".join(str(v) for v in value) + "]"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ATTR_LINE = re.compile(r"^(\w+)\s*:\s*(.*)$")


def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field -> description, from the numpydoc ``Attributes`` section of the model's docstring.

    Also reads the ``Parameters`` section, and falls back to ``Field(description=...)``.
    """
    out: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        doc = inspect.getdoc(klass) if klass.__dict__.get("__doc__") else None
        if not doc:
            continue
        lines = doc.splitlines()
        inside = False
        current = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if stripped in ("Attributes", "Parameters") and set(nxt) == {"-"}:
                inside, current = True, None
                continue
            if inside and set(stripped) == {"-"} and stripped:
                continue
            if inside and stripped and not line.startswith(" ") and nxt and set(nxt) == {"-"}:
                inside = False  # the next section
                continue
            if not inside:
                continue
            match = _ATTR_LINE.match(line)
            if match and not line.startswith(" "):
                current = match.group(1)
                out[current] = match.group(2).strip()
            elif current and stripped:
                out[current] = f"{out[current]} {stripped}".strip()
            elif not stripped:
                current = None
    for name, info in model.model_fields.items():
        if info.description and name not in out:
            out[name] = info.description
    return out


def _walk(model: type[BaseModel], prefix: str) -> Iterator[Key]:
    docs = attribute_docs(model)
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        models, how = _models_in(info.annotation)
        description = " ".join(docs.get(name, "").split())
        yield Key(path, _type_name(info.annotation), _default(info), _bounds(info), description)
        inner = path + {"": "", "dict": f".{ANY_KEY}", "list": f".{ANY_ITEM}"}[how]
        seen: set[type[BaseModel]] = set()
        for sub in models:
            if sub in seen:
                continue
            seen.add(sub)
            yield from _walk(sub, inner)


def config_keys(model: type[BaseModel] | None = None) -> list[Key]:
    """Every key of the run config (or of ``model``), depth first, as documented."""
    if model is None:
        from ics_model.config import RunConfig

        model = RunConfig
    keys: dict[str, Key] = {}
    for key in _walk(model, ""):
        keys.setdefault(key.path, key)
    return list(keys.values())


def config_key_paths(model: type[BaseModel] | None = None) -> list[str]:
    """Return the key paths of :func:`config_keys`."""
    return [k.path for k in config_keys(model)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|obj):`~?([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """Turn the reStructuredText of docstrings into Markdown: roles and literals as code.

    Examples
    --------
    >>> rst_to_markdown("see :class:`~ics_model.config.DataConfig`; ``null`` = none")
    'see `DataConfig`; `null` = none'
    """
    text = _ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    return text.replace("``", "`")


def config_reference_markdown() -> str:
    """Return the configuration reference page: one table row per key path."""
    keys = config_keys()
    sections: dict[str, list[Key]] = {"the run": []}
    for key in keys:
        nested = any(k.path.startswith(f"{key.path}.") for k in keys)
        top = key.path.split(".")[0]
        section = top if "." in key.path or nested else "the run"
        sections.setdefault(section, []).append(key)
    lines = [
        "# Configuration reference",
        "",
        "Generated from the configuration models (`ics_model.config.RunConfig` and the models",
        "it holds); do not edit by hand. A run config is YAML; every key is optional, unknown",
        "keys are errors, and `ics-model validate CONFIG` checks a file without running it.",
        f"`{ANY_KEY}` stands for a name you choose (a pillar, a scenario), `{ANY_ITEM}` for each",
        "item of a list. Paths in `data` are relative to the config file's folder.",
        "",
    ]
    for section, rows in sections.items():
        lines += [f"## {section}" if section == "the run" else f"## `{section}`", ""]
        lines += ["| key | type | default | bounds | description |", "|---|---|---|---|---|"]
        for k in rows:
            kind = k.type.replace(" | ", " or ")
            default = f"`{k.default}`" if k.default else '`""`'
            cells = [f"`{k.path}`", _cell(kind), _cell(default), k.bounds]
            cells.append(_cell(rst_to_markdown(k.description)))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the CLI


@dataclass(frozen=True)
class Command:
    """One command of the CLI: its words, help and options."""

    words: tuple[str, ...]
    help: str
    usage: str
    options: tuple[tuple[str, str, str, str], ...]  # (names, type, default, help)


def _param_type(param: Any, ctx: Any) -> str:
    """Return the type a parameter takes, as ``--help`` shows it (``path``, ``int``)."""
    try:
        shown = param.display_type(ctx)
    except (AttributeError, TypeError):
        shown = getattr(getattr(param, "type", None), "name", "")
    return re.sub(r"[<>\[\]]", "", str(shown or "")).strip().lower() or "text"


def cli_commands() -> list[Command]:
    """Every command and sub-command of ``ics-model``, with its options, from click."""
    import typer.main

    from ics_model.cli import app

    root = typer.main.get_command(app)
    out: list[Command] = []

    def visit(cmd: Any, words: tuple[str, ...], parent: Any) -> None:
        ctx = type(root.make_context("ics-model", [], resilient_parsing=True))(
            cmd, info_name=words[-1], parent=parent
        )
        options = []
        for param in cmd.params:
            option = param.param_type_name == "option"
            flag = option and getattr(param, "is_flag", False)
            kind = _param_type(param, ctx)
            if option:
                names = ", ".join([*param.opts, *param.secondary_opts])
                kind = "flag" if flag else kind
            else:
                names = (param.name or "").upper()
                kind = f"argument ({kind})"
            default = param.default
            shown = "" if default is None or callable(default) else str(default)
            if flag and default is False:
                shown = ""
            text = " ".join((getattr(param, "help", "") or "").split())
            options.append((names, kind, shown, text))
        help_text = inspect.cleandoc(cmd.help or "")
        out.append(Command(words, help_text, cmd.get_usage(ctx), tuple(options)))
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                visit(cmd.get_command(ctx, name), (*words, name), ctx)

    visit(root, ("ics-model",), None)
    return out


def cli_reference_markdown() -> str:
    """Return the CLI reference page: every command, its usage, help and options."""
    lines = [
        "# Command-line reference",
        "",
        "Generated from the command-line interface itself (`ics-model --help` and each",
        "command's `--help`); do not edit by hand. Exit codes: 0 success; 2 an invalid",
        "config, invalid input data or a bad command line; 1 an output that cannot be",
        "written (or a folder `verify` cannot certify). Always one message, no traceback.",
        "",
    ]
    for cmd in cli_commands():
        lines += [f"## `{' '.join(cmd.words)}`", "", "```text", cmd.usage, "```", ""]
        if cmd.help:
            lines += [rst_to_markdown(cmd.help.replace("\b\n", "")), ""]
        if cmd.options:
            lines += ["| option | type | default | description |", "|---|---|---|---|"]
            for names, kind, default, text in cmd.options:
                shown = f"`{_cell(default)}`" if default else ""
                lines.append(f"| `{_cell(names)}` | {_cell(kind)} | {shown} | {_cell(text)} |")
            lines.append("")
    return "\n".join(lines)
