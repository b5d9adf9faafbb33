"""Who may scrape /metrics on a running `mega serve`: private networks by default, not the
internet, not through a proxy the server does not trust; a bearer token on top when set."""

from __future__ import annotations

import httpx


def serve(project, enable, mega, mega_serve, http: str = "", metrics: str = "") -> str:
    enable("metrics", extra=f"\n[plugins.metrics]\n{metrics}")
    toml = project / "mega.toml"
    toml.write_text(toml.read_text().replace("[plugins.http]\n", f"[plugins.http]\n{http}", 1))
    _server, url = mega_serve(project, mega.env())
    return url


def test_metrics_are_open_to_private_networks_only(project, enable, mega, mega_serve):
    url = serve(project, enable, mega, mega_serve, http='trusted_proxies = ["127.0.0.1"]\n')
    assert httpx.get(f"{url}/metrics").status_code == 200  # the machine itself
    inside = httpx.get(f"{url}/metrics", headers={"x-forwarded-for": "10.1.2.3"})
    assert inside.status_code == 200
    # before: 200 for anyone who reached the main port
    outside = httpx.get(f"{url}/metrics", headers={"x-forwarded-for": "203.0.113.9"})
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "metrics.forbidden"
    assert "203.0.113.9" in outside.json()["error"]["message"]


def test_a_scrape_through_an_untrusted_proxy_is_refused(project, enable, mega, mega_serve):
    url = serve(project, enable, mega, mega_serve)
    # a reverse proxy on this machine: its peer address is loopback, the client unknown
    proxied = httpx.get(f"{url}/metrics", headers={"x-forwarded-for": "203.0.113.9"})
    assert proxied.status_code == 403
    assert "trusted_proxies" in proxied.json()["error"]["message"]
    assert httpx.get(f"{url}/metrics").status_code == 200


def test_a_bearer_token_is_required_when_set(project, enable, mega, mega_serve):
    token = "t" * 32
    url = serve(
        project,
        enable,
        mega,
        mega_serve,
        metrics=f'bearer_token = "{token}"\nallow_networks = ["0.0.0.0/0", "::/0"]\n',
    )
    missing = httpx.get(f"{url}/metrics")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "metrics.unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.get(f"{url}/metrics", headers={"authorization": "Bearer " + "x" * 32})
    assert wrong.status_code == 401
    right = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {token}"})
    assert right.status_code == 200 and "process_uptime_seconds" in right.text


def test_an_invalid_network_fails_the_boot(project, enable, mega):
    enable("metrics", extra='\n[plugins.metrics]\nallow_networks = ["10.0.0.0/33"]\n')
    failed = mega("routes", cwd=project, ok=False)
    assert failed.returncode != 0
    assert "allow_networks" in failed.stderr and "10.0.0.0/33" in failed.stderr
