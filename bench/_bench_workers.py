"""A trivial worker class for bench/jobs.py (a module of its own: spawned processes import it)."""

from mega.plugins.jobs import Worker


class Trivial(Worker):
    mode = "process"
    size = 2
    queue_size = 1_000

    def run(self, payload: int) -> int:
        return payload + 1
