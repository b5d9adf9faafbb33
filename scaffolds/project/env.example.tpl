# Copy to .env (never commit .env). Values here fill gaps the process environment leaves.
# MEGA__APP__DEBUG=true
# MEGA__APP__LOG_LEVEL=debug
