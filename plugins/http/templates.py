"""Jinja2 templates from ``apps/<app>/views/``, autoescaped, with ``t``, ``url_for``,
``csrf_field`` and the session available in every template."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from mega import MegaConfigError

if TYPE_CHECKING:
    from .context import HttpCtx


class Views:
    def __init__(self, root: Path | None, paths: dict[str, str]) -> None:
        import jinja2

        dirs = sorted(str(p) for p in root.glob("apps/*/views")) if root else []
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(dirs),
            autoescape=jinja2.select_autoescape(("html", "htm", "xml"), default=True),
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
        )
        self.paths = paths  # route name -> path template

    def url_for(self, name: str, **params: Any) -> str:
        try:
            template = self.paths[name]
        except KeyError:
            raise MegaConfigError(
                "http.unknown_route_name",
                f"url_for: no route named {name!r}; see `mega routes`",
                {"name": name},
            ) from None
        try:
            return template.format(**{k: quote(str(v), safe="") for k, v in params.items()})
        except KeyError as exc:
            raise MegaConfigError(
                "http.missing_route_param",
                f"url_for({name!r}): the path {template} needs {exc.args[0]!r}",
                {"name": name},
            ) from None

    def require(self, name: str, setting: str) -> None:
        """Fail the boot unless template ``name`` exists (a setting names it)."""
        import jinja2

        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise MegaConfigError(
                "http.template_not_found",
                f"{setting} = {name!r}, which is not in any apps/*/views/ folder",
                {"template": name, "setting": setting},
            ) from None

    def render(self, ctx: HttpCtx, name: str, variables: dict[str, Any]) -> str:
        import jinja2

        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise MegaConfigError(
                "http.template_not_found",
                f"template {name!r} is not in any apps/*/views/ folder",
                {"template": name},
            ) from None
        session = ctx.request.scope.get("session")

        def csrf_field() -> Markup:
            return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
                ctx.csrf_token
            )

        return template.render(
            t=ctx.t,
            url_for=self.url_for,
            csrf_field=csrf_field,
            session=session,
            request=ctx.request,
            ctx=ctx,
            locale=ctx.locale,
            **variables,
        )
