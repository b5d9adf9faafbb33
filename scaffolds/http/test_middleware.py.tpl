from types import SimpleNamespace

from starlette.responses import Response

from apps.{{ app }}.middleware.{{ snake }} import {{ Name }}


def test_{{ snake }}_adds_its_header():
    ctx = SimpleNamespace(request=SimpleNamespace(scope={}))
    middleware = {{ Name }}()
    middleware.before(ctx)
    response = Response("ok")
    middleware.after(ctx, response)
    assert float(response.headers[{{ Name }}.header]) >= 0
