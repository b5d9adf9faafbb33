# {{ name }}

A [mega](https://pypi.org/project/mega-framework/) project.

    mega serve          # http://127.0.0.1:8000 (the API docs at /docs); Ctrl-C stops it
    mega run            # boot the app without serving HTTP; Ctrl-C shuts it down gracefully
    mega routes         # every route: method, path, name, handler
    mega plugins        # what is installed, enabled, and what each plugin registered
    mega g --list       # what you can generate
    mega g service billing
    pytest              # the app fixture boots this project from mega.toml

Configuration lives in `mega.toml`; secrets go in `.env` (see `.env.example`).
