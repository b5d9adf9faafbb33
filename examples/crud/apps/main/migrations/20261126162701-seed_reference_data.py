"""seed reference data: the user types and levels every install starts with.

Plain INSERTs every dialect runs; `down` removes exactly these rows.
"""

from mega.plugins.db.migrations import Migration, op

TYPES = [("member", "Member"), ("staff", "Staff"), ("admin", "Administrator")]
LEVELS = [("bronze", "Bronze", 1), ("silver", "Silver", 2), ("gold", "Gold", 3)]

migration = Migration(
    up=[
        *(op.sql(f"INSERT INTO user_types (code, name) VALUES ('{c}', '{n}')") for c, n in TYPES),
        *(
            op.sql(f"INSERT INTO user_levels (code, name, rank) VALUES ('{c}', '{n}', {r})")
            for c, n, r in LEVELS
        ),
    ],
    down=[
        op.sql("DELETE FROM user_levels WHERE code IN ('bronze', 'silver', 'gold')"),
        op.sql("DELETE FROM user_types WHERE code IN ('member', 'staff', 'admin')"),
    ],
)
