# {{ name }}

A [mega](https://pypi.org/project/mega-framework/) project.

    mega run            # boot the app; Ctrl-C shuts it down gracefully
    mega plugins        # what is installed, enabled, and what each plugin registered
    mega g --list       # what you can generate
    mega g service billing
    pytest              # the app fixture boots this project from mega.toml

Configuration lives in `mega.toml`; secrets go in `.env` (see `.env.example`).
