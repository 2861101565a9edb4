"""A griffe extension: read this project's ``name : description`` docstring entries.

The project's numpydoc sections write a parameter or attribute as ``name : what it is``
on one line (the type is in the signature), where numpydoc proper puts the type after
the colon and the description below. Read as numpydoc, the description would land in
the *type* column of the API reference; this extension moves it to the description
(an entry that also has an indented description keeps both as written).
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|obj|exc):`~?([^`]+)`")


def _markdown(text: str) -> str:
    """Sphinx roles (``:class:`~a.b.C```) as code (`` `C` ``): the site is not Sphinx."""
    return _ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1]}`", text)


_KINDS = (
    griffe.DocstringSectionKind.parameters,
    griffe.DocstringSectionKind.other_parameters,
    griffe.DocstringSectionKind.attributes,
)


class TypesAsDescriptions(griffe.Extension):
    """Move one-line ``name : description`` entries' text from the type to the description."""

    def on_instance(self, *, obj, **kwargs) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is None:
            return
        sections = docstring.parse("numpy", warnings=False, warn_unknown_params=False)
        for section in sections:
            if section.kind is griffe.DocstringSectionKind.text:
                section.value = _markdown(section.value)
                continue
            if section.kind not in _KINDS:
                continue
            for item in section.value:
                text = str(item.annotation) if item.annotation is not None else ""
                if text and " " in text.strip():  # a sentence, not a type
                    item.description = f"{text} {item.description}".strip()
                    item.annotation = None
                item.description = _markdown(item.description or "")
        docstring.__dict__["parsed"] = sections
