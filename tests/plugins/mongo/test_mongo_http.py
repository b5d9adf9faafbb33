"""CRUD routes written for SQL run unchanged on mongo: the quickstart's Product model behind an
HTTP controller using ``ctx.db()``, with keyset pages, a 409 on a duplicate and bad input
that is a 4xx."""

from __future__ import annotations

from typing import Any

from mega.plugins.mongo import MongoOptions

MODEL = """
from mega.plugins.db import Decimal, Index, Int, Model, String, Text


class Product(Model):
    __table__ = "products"
    __timestamps__ = True
    __indexes__ = [Index("stock", "name")]  # one index per key pattern: name has its unique one

    name = String(120, unique=True)
    notes = Text(nullable=True)
    price = Decimal(10, 2, nullable=True)
    stock = Int(default=0)
"""

CONTROLLER = """
from decimal import Decimal

from pydantic import BaseModel, Field

from mega.plugins.http import HttpCtx

from apps.main.models.product import Product


class NewProduct(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    price: Decimal | None = None
    stock: int = 0


def public(row):
    price = None if row["price"] is None else str(row["price"])
    stamps = {k: row[k].isoformat() for k in ("created_at", "updated_at")}
    return {**row, "price": price, **stamps}


class ProductsController:
    async def index(self, ctx: HttpCtx, limit: int = 2, after: str | None = None):
        page = await ctx.db().page(Product, Product.stock >= 0, order_by="name", limit=limit,
                                   after=after)
        return {"items": [public(r) for r in page.items], "next": page.next}

    async def show(self, ctx: HttpCtx, item_id: int):
        row = await ctx.db().get(Product, item_id)
        if row is None:
            ctx.status = 404
            return {"id": item_id}
        return public(row)

    async def create(self, ctx: HttpCtx, body: NewProduct):
        key = await ctx.db().insert(Product, body.model_dump())
        ctx.status = 201
        return {"id": key}

    async def restock(self, ctx: HttpCtx, item_id: int, body: dict):
        changed = await ctx.db().update(Product, {"stock": body["stock"]}, Product.id == item_id)
        return {"changed": changed}

    async def remove(self, ctx: HttpCtx, item_id: int):
        return {"deleted": await ctx.db().delete(Product, Product.id == item_id)}
"""

ROUTES = """
from mega.plugins.http import delete, get, patch, post

from apps.main.controllers.products import ProductsController as C

routes = [
    get("/products", C.index, name="products.index"),
    get("/products/{item_id}", C.show, name="products.show"),
    post("/products", C.create, name="products.create"),
    patch("/products/{item_id}", C.restock, name="products.restock"),
    delete("/products/{item_id}", C.remove, name="products.remove"),
]
"""


async def test_crud_routes_run_unchanged_on_mongo(
    http_project: Any, mongo_options: MongoOptions
) -> None:
    from mega.plugins.db import CreateTable

    files = {
        "apps/main/models/product.py": MODEL,
        "apps/main/controllers/products.py": CONTROLLER,
        "apps/main/routes/products.py": ROUTES,
    }
    adapters = {"db": {"default": {"driver": "mongo", **mongo_options.model_dump()}}}
    async with http_project(files, plugins=("db", "mongo", "http"), adapters=adapters) as (
        app,
        client,
    ):
        from apps.main.models.product import Product  # type: ignore[import-not-found]

        await app.ctx().db().apply([CreateTable(Product.table_def())])
        keys = []
        for name, price in (("pear", "1.50"), ("apple", "0.99"), ("fig", None)):
            created = await client.post("/products", json={"name": name, "price": price})
            assert created.status_code == 201, created.text
            keys.append(created.json()["data"]["id"])
        duplicate = await client.post("/products", json={"name": "fig"})
        assert duplicate.status_code == 409
        assert duplicate.json()["error"]["code"] == "db.unique_violation"
        shown = (await client.get(f"/products/{keys[0]}")).json()["data"]
        assert shown["name"] == "pear" and shown["price"] == "1.50" and shown["stock"] == 0
        assert (await client.get("/products/424242")).status_code == 404
        names, after = [], None
        while True:
            params = {"limit": 2, **({"after": after} if after else {})}
            data = (await client.get("/products", params=params)).json()["data"]
            names += [item["name"] for item in data["items"]]
            after = data["next"]
            if after is None:
                break
        assert names == ["apple", "fig", "pear"]
        restocked = await client.patch(f"/products/{keys[1]}", json={"stock": 7})
        assert restocked.json()["data"] == {"changed": 1}
        bad = await client.get("/products", params={"after": "not-a-cursor"})
        assert bad.status_code == 400
        assert (await client.delete(f"/products/{keys[2]}")).json()["data"] == {"deleted": 1}
        assert await app.ctx().db().count(Product) == 2
