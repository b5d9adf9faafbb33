"""Peer: FastAPI, the same two routes."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello():
    return {"ok": True, "data": {"message": "hello"}}


@app.get("/items/{item_id}")
async def item(item_id: int):
    return {"ok": True, "data": {"id": item_id}}
