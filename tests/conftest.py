import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def english(monkeypatch):
    """Run a test in English: its assertions are the English sentences of the code (issue 15 §3)."""
    monkeypatch.setenv("JIVO_OPS_LANG", "en")
