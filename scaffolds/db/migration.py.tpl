"""{{ name }}: a hand-written migration (data steps, raw SQL).

`up` runs in order on `mega migrate up`; `down` undoes it on `mega migrate down`. Where the
database has transactional DDL (PostgreSQL, SQLite) the whole migration runs in one
transaction; set transactional=False for statements that cannot (CREATE INDEX CONCURRENTLY).
"""

from mega.plugins.db.migrations import Migration, op

migration = Migration(
    up=[
        # op.sql("UPDATE users SET full_name = trim(full_name)"),
        # op.sql("CREATE INDEX CONCURRENTLY ix_users_email ON users (email)", dialects=["postgres"]),
    ],
    down=[],
)
