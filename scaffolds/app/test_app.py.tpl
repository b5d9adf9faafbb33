import importlib


def test_{{ snake }}_app_imports():
    app = importlib.import_module("apps.{{ snake }}")
    services = importlib.import_module("apps.{{ snake }}.services")
    assert app.__name__ == "apps.{{ snake }}"
    assert services.__doc__.startswith("Services of the {{ snake }} app")
