"""pytest plugin (entry point ``jivo_ops_sandbox``): the ``sandbox`` fixture.

A fresh sandbox per test, wired and with instant operators. Settings per test::

    @pytest.mark.sandbox(online=False, chunked=False)
    def test_offline(sandbox): ...

or indirect parametrization: ``@pytest.mark.parametrize("sandbox", [{"configured": False}], indirect=True)``.
"""

from __future__ import annotations

import pytest

__all__ = ["sandbox"]


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sandbox(**settings): settings for the `sandbox` fixture (SandboxSettings fields)")


@pytest.fixture
def sandbox(request):
    """A running `jivo_ops.sandbox.Sandbox`, stopped after the test."""
    from jivo_ops.sandbox import Sandbox

    settings: dict = {}
    marker = request.node.get_closest_marker("sandbox")
    if marker is not None:
        settings.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        settings.update(param)
    with Sandbox(**settings) as sb:
        yield sb
