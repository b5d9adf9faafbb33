from apps.main.controllers.auth import AuthController as Auth
from apps.main.middleware import FormPage

from mega.plugins.auth import GuardLogin
from mega.plugins.http import get, post

register_page = FormPage("auth/register.html")
login_page = FormPage("auth/login.html")

routes = [
    get("/register", Auth.register_form, name="auth.register_form", page=True),
    post("/register", Auth.register, name="auth.register", middleware=[register_page], page=True),
    get("/login", Auth.login_form, name="auth.login_form", page=True),
    # GuardLogin: a locked-out address is refused before the form is read
    post("/login", Auth.login, name="auth.login", middleware=[GuardLogin, login_page], page=True),
    post("/logout", Auth.logout, name="auth.logout", page=True),
    get("/locale/{lang}", Auth.switch_locale, name="locale", page=True),
    # the JSON API: same handlers
    post("/api/register", Auth.register, name="api.register", status=201),
    post("/api/login", Auth.login, name="api.login", middleware=[GuardLogin]),
    post("/api/logout", Auth.logout, name="api.logout"),
    get("/api/session", Auth.session, name="api.session"),
]
