"""The {{ Name }} model: collection ``{{ snake }}s`` on MongoDB.

Fields are document fields; the primary key is ``_id``. ``Json`` holds embedded documents and
arrays as they are. See docs/db.md and docs/plugins/mongo.md in mega's repository.
"""

from mega.plugins.db import Index, Json, Model, String, Text


class {{ Name }}(Model):
    __table__ = "{{ snake }}s"
    __timestamps__ = True  # created_at / updated_at, set by mega
    __indexes__ = [Index("name")]

    # `id = BigInt(primary_key=True)` is added for you (stored as the document's _id)
    name = String(120)
    notes = Text(nullable=True)
    tags = Json(default=list)  # an array in the document
