from mega.plugins.http import get, post

from apps.{{ app }}.controllers.{{ snake }} import {{ Name }}Controller

routes = [
    get("/{{ name }}", {{ Name }}Controller.index, name="{{ name }}.index"),
    get("/{{ name }}/{item_id}", {{ Name }}Controller.show, name="{{ name }}.show"),
    post("/{{ name }}", {{ Name }}Controller.create, name="{{ name }}.create"),
]
