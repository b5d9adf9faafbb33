from apps.main.controllers.users import UsersController as Users
from apps.main.controllers.users import form_context
from apps.main.middleware import FormPage, RequireLogin

from mega.plugins.http import delete, get, patch, post

login = [RequireLogin]
page = {"page": True}  # HTML, redirects, form pages: what the OpenAPI document says
user_form = [RequireLogin, FormPage("users/form.html", form_context)]

routes = [
    get("/users", Users.index, name="users.index", middleware=login, **page),
    get("/users/new", Users.new, name="users.new", middleware=login, **page),
    post("/users", Users.create, name="users.create", middleware=user_form, **page),
    get("/users/{user_id}/edit", Users.edit, name="users.edit", middleware=login, **page),
    post("/users/{user_id}", Users.update, name="users.update", middleware=user_form, **page),
    post("/users/{user_id}/delete", Users.delete, name="users.delete", middleware=login, **page),
    get("/users/{user_id}/avatar", Users.avatar, name="users.avatar", middleware=login, **page),
    # the JSON API: same handlers
    get("/api/users", Users.index, name="api.users.index", middleware=login),
    post("/api/users", Users.create, name="api.users.create", middleware=login, status=201),
    get("/api/users/{user_id}", Users.show, name="api.users.show", middleware=login),
    patch("/api/users/{user_id}", Users.update, name="api.users.update", middleware=login),
    delete("/api/users/{user_id}", Users.delete, name="api.users.delete", middleware=login),
]
