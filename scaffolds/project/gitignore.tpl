.venv/
__pycache__/
.env
.pytest_cache/
# runtime state (databases, job store, file stores, locks); the migration journal is source
.mega/*
!.mega/journal/
*.sqlite3
