.venv/
__pycache__/
.env
*.sqlite3
.pytest_cache/
