from typing import Any

from apps.main.controllers.boards import BoardsController as Boards
from apps.main.middleware import FormPage
from apps.main.services.boards_service import BoardsService

from mega.plugins.auth import RequireRole, SignedIn
from mega.plugins.http import HttpCtx, delete, get, post


async def boards_context(ctx: HttpCtx) -> dict[str, Any]:
    return {"boards": await BoardsService(ctx).all()}


async def board_context(ctx: HttpCtx) -> dict[str, Any]:
    service = BoardsService(ctx)
    board_id = int(ctx.request.path_params["board_id"])
    return {"board": await service.get(board_id), "notes": await service.notes(board_id)}


login = [SignedIn]
admin = [RequireRole("admin")]  # the audit log names people and addresses; 401 when anonymous
page = {"page": True}  # HTML, redirects, form pages: what the OpenAPI document says

routes = [
    get("/boards", Boards.index, name="boards.index", middleware=login, **page),
    post(
        "/boards",
        Boards.create,
        name="boards.create",
        middleware=[SignedIn, FormPage("boards/list.html", boards_context)],
        **page,
    ),
    get("/boards/{board_id}", Boards.show, name="boards.show", middleware=login, **page),
    post(
        "/boards/{board_id}/notes",
        Boards.add_note,
        name="boards.add_note",
        middleware=[SignedIn, FormPage("boards/show.html", board_context)],
        **page,
    ),
    post(
        "/boards/{board_id}/delete", Boards.delete, name="boards.delete", middleware=login, **page
    ),
    get("/logs", Boards.logs, name="logs", middleware=admin, **page),
    # the JSON API: same handlers
    get("/api/boards", Boards.index, name="api.boards.index", middleware=login),
    post("/api/boards", Boards.create, name="api.boards.create", middleware=login, status=201),
    get("/api/boards/{board_id}", Boards.show, name="api.boards.show", middleware=login),
    post(
        "/api/boards/{board_id}/notes",
        Boards.add_note,
        name="api.boards.add_note",
        middleware=login,
        status=201,
    ),
    delete("/api/boards/{board_id}", Boards.delete, name="api.boards.delete", middleware=login),
    get("/api/logs", Boards.logs, name="api.logs", middleware=admin),
]
