from apps.main.controllers.users import UsersController as Users
from apps.main.controllers.users import form_context, may_create, may_delete, may_edit
from apps.main.middleware import Allow, FormPage

from mega.plugins.auth import SignedIn
from mega.plugins.http import delete, get, patch, post

# who may do what: services/access.py; Allow asks it before the request's body is read
login = [SignedIn]
page = {"page": True}  # HTML, redirects, form pages: what the OpenAPI document says
creating = [SignedIn, Allow(may_create)]
editing = [SignedIn, Allow(may_edit)]
deleting = [SignedIn, Allow(may_delete)]
form = FormPage("users/form.html", form_context)

routes = [
    get("/users", Users.index, name="users.index", middleware=login, **page),
    get("/users/new", Users.new, name="users.new", middleware=creating, **page),
    post("/users", Users.create, name="users.create", middleware=[*creating, form], **page),
    get("/users/{user_id}/edit", Users.edit, name="users.edit", middleware=editing, **page),
    post(
        "/users/{user_id}", Users.update, name="users.update", middleware=[*editing, form], **page
    ),
    post("/users/{user_id}/delete", Users.delete, name="users.delete", middleware=deleting, **page),
    get("/users/{user_id}/avatar", Users.avatar, name="users.avatar", middleware=login, **page),
    # the JSON API: same handlers
    get("/api/users", Users.index, name="api.users.index", middleware=login),
    post("/api/users", Users.create, name="api.users.create", middleware=creating, status=201),
    get("/api/users/{user_id}", Users.show, name="api.users.show", middleware=login),
    patch("/api/users/{user_id}", Users.update, name="api.users.update", middleware=editing),
    delete("/api/users/{user_id}", Users.delete, name="api.users.delete", middleware=deleting),
]
