"""Baseline: bare Starlette, the same two routes."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request):
    return JSONResponse({"ok": True, "data": {"message": "hello"}})


async def item(request):
    return JSONResponse({"ok": True, "data": {"id": int(request.path_params["item_id"])}})


app = Starlette(routes=[Route("/hello", hello), Route("/items/{item_id}", item)])
