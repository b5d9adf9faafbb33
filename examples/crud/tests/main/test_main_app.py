import importlib


def test_main_app_imports():
    app = importlib.import_module("apps.main")
    services = importlib.import_module("apps.main.services")
    assert app.__name__ == "apps.main"
    assert services.__doc__.startswith("Services of the main app")
