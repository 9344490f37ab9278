"""The Host/Origin check in front of every route of `convolab serve` (unit level; tests/serve/test_server.py
sends the same requests to a real server)."""

from __future__ import annotations

import pytest

from convolab.dashboards.server import allowed_hosts, refusal

PORT = 8866


@pytest.mark.parametrize("host", ["127.0.0.1:8866", "localhost:8866", "LOCALHOST:8866"])
@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:8866", "http://localhost:8866"])
def test_the_server_s_own_host_and_origin_pass(host: str, origin: str | None) -> None:
    assert refusal(host, origin, PORT) is None


@pytest.mark.parametrize("host", [
    "evil.example:8866",      # DNS rebinding: the attacker's name, resolving to 127.0.0.1
    "evil.example",
    "127.0.0.1",              # no port
    "127.0.0.1:8867",         # another port
    "localhost.evil.example:8866",
    "0.0.0.0:8866",
    "[::1]:8866",             # the server listens on 127.0.0.1 only
    "",
    None,
])
def test_a_foreign_host_is_refused(host: str | None) -> None:
    assert "Host" in refusal(host, None, PORT)


@pytest.mark.parametrize("origin", [
    "http://evil.example:8866", "null", "https://127.0.0.1:8866", "http://127.0.0.1:8867",
    "http://localhost", "", "http://127.0.0.1:8866.evil.example",
])
def test_a_foreign_origin_is_refused_even_with_the_right_host(origin: str) -> None:
    assert "Origin" in refusal("127.0.0.1:8866", origin, PORT)


def test_allowed_hosts_are_exactly_the_server_s_own() -> None:
    assert allowed_hosts(9000) == {"127.0.0.1:9000", "localhost:9000"}
