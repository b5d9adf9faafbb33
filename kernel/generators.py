"""Generator definitions (what ``mega g <name>`` writes) and their rendering.

A generator is a directory of Jinja templates and a list of ``{path, template}`` entries. Both the
output path and the template body see these tokens, derived from the target the user typed
(``mega g service user-profile``):

- ``Name`` = ``UserProfile`` (class names)
- ``name`` = ``user-profile`` (kebab case: URLs, file names)
- ``camelName`` = ``userProfile``
- ``snake`` = ``user_profile`` (modules, functions, tables)
- ``app`` = ``main`` (the ``--app`` option)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .errors import MegaConfigError

TOKENS = ("Name", "name", "camelName", "snake", "app")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_TARGET = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class GeneratorFile(NamedTuple):
    path: str
    template: str


class GeneratorDef(NamedTuple):
    """A validated generator: its template directory, files and description."""

    name: str
    dir: Path
    files: tuple[GeneratorFile, ...]
    description: str = ""
    extra_tokens: Callable[[Path, dict[str, str]], dict[str, str]] | None = None

    @classmethod
    def build(
        cls,
        name: str,
        *,
        dir: Any,
        files: Any,
        description: Any = "",
        base_dir: Path,
        owner: str,
        extra_tokens: Any = None,
    ) -> GeneratorDef:
        """Validate a definition as registered: the shape, and that every template exists."""

        def bad(rule: str, got: Any) -> MegaConfigError:
            return MegaConfigError(
                "plugin.invalid_generator",
                f"generator {name!r} registered by {owner}: {rule}; got {got!r}",
                {"generator": name, "owner": owner},
            )

        if not isinstance(dir, str | Path) or not str(dir):
            raise bad("`dir` must be a non-empty path to the template directory", dir)
        if not isinstance(files, list | tuple) or not files:
            raise bad("`files` must be a non-empty list of {path, template} entries", files)
        if not isinstance(description, str):
            raise bad("`description` must be a string when given", description)
        if extra_tokens is not None and not callable(extra_tokens):
            raise bad(
                "`extra_tokens` must be a function (project_root, tokens) -> dict", extra_tokens
            )
        template_dir = Path(dir) if Path(dir).is_absolute() else base_dir / dir
        if not template_dir.is_dir():
            raise bad(f"`dir` {str(template_dir)!r} is not a directory", dir)
        checked = []
        for entry in files:
            if not (
                isinstance(entry, Mapping)
                and set(entry) == {"path", "template"}
                and isinstance(entry["path"], str)
                and entry["path"]
                and isinstance(entry["template"], str)
                and entry["template"]
            ):
                raise bad("each `files` entry must be {'path': str, 'template': str}", entry)
            if "{{" not in entry["template"] and not (template_dir / entry["template"]).is_file():
                raise bad(f"template {entry['template']!r} is missing from {template_dir}", entry)
            checked.append(GeneratorFile(entry["path"], entry["template"]))
        return cls(name, template_dir, tuple(checked), description, extra_tokens)


def tokens_for(target: str, app: str = "main") -> dict[str, str]:
    """Derive the template tokens from a target name; an unusable name is an error."""
    if not _TARGET.match(target):
        raise MegaConfigError(
            "generate.invalid_name",
            f"{target!r} cannot name generated code: start with a letter and use only letters, "
            "digits, '-' and '_' (e.g. UserProfile, user-profile or user_profile)",
            {"target": target},
        )
    if not _TARGET.match(app):
        raise MegaConfigError(
            "generate.invalid_app",
            f"app name {app!r} is invalid: start with a letter and use letters, digits, '_'",
            {"app": app},
        )
    words = [w.lower() for w in _WORDS.findall(target)]
    return {
        "Name": "".join(w.capitalize() for w in words),
        "name": "-".join(words),
        "camelName": words[0] + "".join(w.capitalize() for w in words[1:]),
        "snake": "_".join(words),
        "app": app.replace("-", "_"),
    }


class PlannedFile(NamedTuple):
    path: Path
    content: str
    exists: bool


def plan(definition: GeneratorDef, tokens: Mapping[str, str], dest: Path) -> list[PlannedFile]:
    """Render every file of a generator in memory; nothing is written."""
    import jinja2

    tokens = dict(tokens)
    if definition.extra_tokens is not None:
        tokens.update(definition.extra_tokens(dest, tokens))

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(definition.dir),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    planned = []
    for entry in definition.files:
        try:
            rel = env.from_string(entry.path).render(tokens)
            template_name = env.from_string(entry.template).render(tokens)
            content = env.get_template(template_name).render(tokens)
        except jinja2.TemplateError as exc:
            raise MegaConfigError(
                "generate.template_error",
                f"generator {definition.name!r} failed to render {entry.template!r}: {exc}; "
                f"templates may use only the tokens {', '.join(TOKENS)}",
                {"generator": definition.name, "template": entry.template},
            ) from exc
        target = (dest / rel).resolve()
        if not target.is_relative_to(dest.resolve()):
            raise MegaConfigError(
                "generate.path_escape",
                f"generator {definition.name!r} would write {rel!r}, outside the project {dest}",
                {"generator": definition.name, "path": rel},
            )
        planned.append(PlannedFile(target, content, target.exists()))
    return planned


def write(planned: list[PlannedFile], *, force: bool) -> list[Path]:
    """Write planned files; refuses (writing nothing) when one exists and ``force`` is off."""
    clashes = [p.path for p in planned if p.exists]
    if clashes and not force:
        raise MegaConfigError(
            "generate.file_exists",
            f"refusing to overwrite {', '.join(map(str, clashes))}; nothing was written. "
            "Pass --force to overwrite",
            {"files": [str(p) for p in clashes]},
        )
    for item in planned:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_text(item.content, encoding="utf-8")
    return [p.path for p in planned]
