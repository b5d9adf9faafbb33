"""OpenAPI 3.1 from the compiled routes, at ``/openapi.json``, plus a docs page (docs_ui.py).

Parameters and bodies come from the same pydantic models that validate requests, so the schema
cannot drift from what the server accepts. Every operation documents the envelope: ``200`` with
``{"ok": true, "data": …}`` (``data`` typed from the handler's return annotation) and the error
envelope for 4xx/5xx.
"""

from __future__ import annotations

import inspect
import typing
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route as StarletteRoute

from .handlers import Compiled

if TYPE_CHECKING:
    from mega import App

    from .settings import HttpSettings

REF = "#/components/schemas/{model}"
JSON = "application/json"
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
    },
}


def _schema(
    annotation: Any, defs: dict[str, Any], mode: JsonSchemaMode = "serialization"
) -> dict[str, Any]:
    """The JSON schema of a type; a pydantic model goes to components and is referenced."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        schema = annotation.model_json_schema(ref_template=REF, mode=mode)
        defs.update(schema.pop("$defs", {}))
        defs[annotation.__name__] = schema
        return {"$ref": REF.format(model=annotation.__name__)}
    schema = TypeAdapter(annotation).json_schema(ref_template=REF, mode=mode)
    defs.update(schema.pop("$defs", {}))
    return schema


def build_document(
    app: App, compiled: list[Compiled], settings: HttpSettings | None = None
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    defs: dict[str, Any] = {"ErrorEnvelope": ERROR_ENVELOPE}
    error_page = settings is not None and bool(settings.error_page)
    for c in compiled:
        r = c.route
        operation: dict[str, Any] = {"operationId": r.name, "summary": _summary(r.handler)}
        params = []
        if c.params_model is not None:
            model_schema = c.params_model.model_json_schema(ref_template=REF)
            defs.update(model_schema.pop("$defs", {}))
            required = set(model_schema.get("required", ()))
            for name, prop in model_schema.get("properties", {}).items():
                where = "path" if name in r.path_params else "query"
                params.append(
                    {
                        "name": name,
                        "in": where,
                        "required": where == "path" or name in required,
                        "schema": prop,
                    }
                )
        if params:
            operation["parameters"] = params
        if c.body_type is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": _schema(c.body_type, defs, "validation")}
                },
            }
        operation["responses"] = _responses(c, defs, html_errors=error_page or r.page)
        paths.setdefault(r.path, {})[r.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": app.config.app.name, "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": defs},
    }


REDIRECT = {
    "description": "Redirect",
    "headers": {"location": {"schema": {"type": "string"}, "required": True}},
}
HTML = {"text/html": {"schema": {"type": "string"}}}


def _responses(c: Compiled, defs: dict[str, Any], *, html_errors: bool) -> dict[str, Any]:
    """What the route answers: its success (the envelope, or what its return annotation or
    ``page`` says), redirects of a page, the error envelope (or an error page) for 4xx/5xx,
    and the route's own ``responses``."""
    r = c.route
    declared = {str(status): _declared(value, defs) for status, value in r.responses.items()}
    found: dict[str, Any] = {}
    if not any(status.startswith("2") for status in declared):
        returns = _return_annotation(r.handler)
        if isinstance(returns, type) and issubclass(returns, Response):
            if issubclass(returns, RedirectResponse):
                found["3XX"] = REDIRECT
            else:
                found[str(r.status)] = {
                    "description": "OK",
                    "content": {_media_type(returns): {}},
                }
        elif r.page:
            found[str(r.status)] = {"description": "The page", "content": HTML}
        else:
            data_schema = _schema(returns, defs) if returns is not None else {}
            found[str(r.status)] = {
                "description": "OK",
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["ok", "data"],
                            "properties": {"ok": {"const": True}, "data": data_schema},
                        }
                    }
                },
            }
    if r.page:
        found.setdefault("3XX", REDIRECT)
    error = {JSON: {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}}
    if html_errors:
        error |= HTML
    found["4XX"] = {"description": "The request was refused", "content": error}
    found["5XX"] = {"description": "Server error", "content": error}
    return found | declared


def _declared(value: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A ``responses`` entry of a route as an OpenAPI response object."""
    if value is None:
        return {"description": "No body"}
    if isinstance(value, str):
        return {"description": value, "content": {value: {}}}
    return {"description": _describe(value), "content": {JSON: {"schema": _schema(value, defs)}}}


def _describe(value: Any) -> str:
    doc = inspect.getdoc(value) if isinstance(value, type) else None
    return doc.splitlines()[0] if doc else getattr(value, "__name__", "Response")


def _media_type(returns: type[Response]) -> str:
    """What a Response class says it sends; ``*/*`` when the class leaves it to each answer."""
    media_type = getattr(returns, "media_type", None)
    return media_type if isinstance(media_type, str) else "*/*"


def _summary(handler: Any) -> str:
    doc = inspect.getdoc(handler) or ""
    return doc.splitlines()[0] if doc else getattr(handler, "__name__", "")


def _return_annotation(handler: Any) -> Any:
    try:
        returns = typing.get_type_hints(handler).get("return")
    except Exception:
        return None
    if returns is None or returns is type(None):
        return None
    return returns


def openapi_routes(
    app: App, settings: HttpSettings, holder: dict[str, Any]
) -> list[StarletteRoute]:
    """``/openapi.json`` and the docs page (``docs_ui.py``); ``holder["compiled"]`` is filled
    after the build."""
    if not settings.openapi:
        return []
    cache: dict[str, Response] = {}

    async def document(request: Request) -> Response:
        if "json" not in cache:
            body = build_document(app, holder["compiled"], settings)
            from pydantic_core import to_json

            cache["json"] = Response(to_json(body), media_type="application/json")
        return cache["json"]

    routes = [StarletteRoute("/openapi.json", document, methods=["GET"], name="openapi")]
    if settings.docs_path:
        from .docs_ui import docs_routes

        routes += docs_routes(app, settings, holder)
    return routes
