"""Log: the audit trail, range-partitioned by month.

On PostgreSQL ``logs`` is a partitioned table (``logs_2026_11``, ``logs_2026_12``, ...) whose
partitions the KeepLogPartitions schedule creates ahead of time; dropping a month of logs is
dropping a table. SQLite and MariaDB have no native partitions here: ``logs`` is a plain table
with an index on ``at`` (examples/crud/docs/log-partitions.md).
"""

from mega.plugins.db import BigInt, DateTime, Index, Json, Model, PartitionBy, String


class Log(Model):
    __table__ = "logs"
    __partition__ = PartitionBy("at", interval="month")
    __indexes__ = [Index("at"), Index("user_id", "at")]

    id = BigInt(primary_key=True)
    at = DateTime()
    user_id = BigInt(nullable=True)  # no foreign key: the trail outlives deleted users
    action = String(40)
    detail = Json(nullable=True)
