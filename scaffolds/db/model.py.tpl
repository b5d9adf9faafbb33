{% if driver == "mongo" %}{% include "model_mongo.py.tpl" %}{% else %}"""The {{ Name }} model: table ``{{ snake }}s``.

Fields are columns; see docs/db.md in mega's repository for every field kind and option.
"""

from mega.plugins.db import Index, Model, String, Text


class {{ Name }}(Model):
    __table__ = "{{ snake }}s"
    __timestamps__ = True  # created_at / updated_at, set by mega
    __indexes__ = [Index("name")]

    # `id = BigInt(primary_key=True)` is added for you
    name = String(120)
    notes = Text(nullable=True)
{% endif %}