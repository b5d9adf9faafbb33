"""Peer: Litestar, the same two routes."""

from litestar import Litestar, get


@get("/hello")
async def hello() -> dict:
    return {"ok": True, "data": {"message": "hello"}}


@get("/items/{item_id:int}")
async def item(item_id: int) -> dict:
    return {"ok": True, "data": {"id": item_id}}


app = Litestar(route_handlers=[hello, item])
