"""Peer: bare BlackSheep (served by granian), the same two routes and bodies."""

from blacksheep import Application, json

app = Application()


@app.router.get("/hello")
async def hello():
    return json({"ok": True, "data": {"message": "hello"}})


@app.router.get("/items/{item_id}")
async def item(item_id: int):
    return json({"ok": True, "data": {"id": item_id}})
