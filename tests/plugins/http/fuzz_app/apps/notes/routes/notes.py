from apps.notes.controllers.notes import NotesController

from mega.plugins.http import delete, get, post, put

routes = [
    get("/notes", NotesController.index, name="notes.index"),
    get("/notes/{note_id}", NotesController.show, name="notes.show"),
    post("/notes", NotesController.create, name="notes.create"),
    put("/notes/{note_id}", NotesController.update, name="notes.update"),
    delete("/notes/{note_id}", NotesController.remove, name="notes.delete"),
]
