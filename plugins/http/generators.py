"""``mega g controller|route|middleware|locale``: the generators the http plugin owns."""

from __future__ import annotations

from mega import PluginRegistry


def register_generators(registry: PluginRegistry) -> None:
    from mega import scaffolds_dir

    base = scaffolds_dir() / "http"
    registry.generator(
        "controller",
        dir=base,
        description="A controller with index/show/create, its routes, and a test",
        files=[
            {"path": "apps/{{ app }}/controllers/{{ snake }}.py", "template": "controller.py.tpl"},
            {
                "path": "apps/{{ app }}/routes/{{ snake }}.py",
                "template": "controller_routes.py.tpl",
            },
            {
                "path": "tests/{{ app }}/test_{{ snake }}_controller.py",
                "template": "test_controller.py.tpl",
            },
        ],
    )
    registry.generator(
        "route",
        dir=base,
        description="A routes module with one handler, and a test",
        files=[
            {"path": "apps/{{ app }}/routes/{{ snake }}.py", "template": "route.py.tpl"},
            {"path": "tests/{{ app }}/test_{{ snake }}_route.py", "template": "test_route.py.tpl"},
        ],
    )
    registry.generator(
        "middleware",
        dir=base,
        description="Route middleware (before/after/error), and a test",
        files=[
            {"path": "apps/{{ app }}/middleware/{{ snake }}.py", "template": "middleware.py.tpl"},
            {
                "path": "tests/{{ app }}/test_{{ snake }}_middleware.py",
                "template": "test_middleware.py.tpl",
            },
        ],
    )
    registry.generator(
        "locale",
        dir=base,
        description="A server locale file (mega g locale ko), and a test that keys match",
        files=[
            {
                "path": "apps/{{ app }}/locales/server/{{ name }}.json",
                "template": "locale.json.tpl",
            },
            {
                "path": "tests/{{ app }}/test_locale_{{ snake }}.py",
                "template": "test_locale.py.tpl",
            },
        ],
    )
