"""The widgets' shared pieces: background jobs, status lines, masked URLs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from jivo_ops.errors import ProfileError
from jivo_ops.widgets._common import BackgroundJob, SecretUrl, StatusLine, guarded

UNIQUE_URL = "https://wh.jivosite.com/Ab3dEf6hIj9kLm2n/Qr5tUv8wXy"


def test_sync_job_reports_its_result_in_the_worker_thread():
    seen = {}
    job = BackgroundJob(lambda a, b: a + b, 2, 3, on_done=lambda r: seen.update(result=r,
                                                                               thread=threading.current_thread()))
    assert job.start().join(5)
    assert seen["result"] == 5 and seen["thread"] is not threading.main_thread() and job.error is None


def test_job_error_goes_to_on_error_not_lost():
    errors = []

    def boom():
        raise ProfileError("broken", path="x.toml")

    job = BackgroundJob(boom, on_error=errors.append).start()
    assert job.join(5)
    assert isinstance(job.error, ProfileError) and errors == [job.error]


def test_coroutine_job_can_be_cancelled_promptly():
    started = threading.Event()

    async def forever():
        started.set()
        await asyncio.sleep(60)

    errors = []
    job = BackgroundJob(forever, on_error=errors.append).start()
    assert started.wait(5)
    job.cancel()
    assert job.join(5), "cancel did not stop the coroutine"
    assert isinstance(errors[0], asyncio.CancelledError) and not job.running


def test_sync_job_sees_the_stop_event():
    def loop(stop):
        while not stop.is_set():
            stop.wait(0.01)
        return "stopped"

    job = BackgroundJob(lambda: loop(job.stop_event))
    job.start()
    job.cancel()
    assert job.join(5) and job.result == "stopped"


def test_an_exit_stops_running_jobs_and_waits_for_them(tmp_path):
    """A kernel or script that exits mid-job: the job is asked to stop and ends before the interpreter
    goes; left to be cut off mid-call (a LogExplorer drawing its plots) it aborted the process."""
    code = f"""
import pathlib, time
from jivo_ops.widgets._common import BackgroundJob
def work(stop):
    stop.wait(30)
    time.sleep(0.2)  # still busy after the stop: the exit waits
    pathlib.Path({str(tmp_path / "ended")!r}).write_text("ended")
job = BackgroundJob(lambda: work(job.stop_event))
job.start()
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ended").read_text() == "ended"


def test_secret_url_is_masked_until_revealed():
    field = SecretUrl("Уникальный URL", UNIQUE_URL)
    assert "Ab3dEf6hIj9kLm2n" not in field.shown.value and "Ab3dEf6hIj9kLm2n" not in repr(field)
    assert field.text.startswith("https://wh.jivosite.com/")
    field.reveal.value = True
    assert field.text == UNIQUE_URL and UNIQUE_URL in field.shown.value
    field.url = UNIQUE_URL.replace("Ab3", "Zz9")  # a new URL is masked again
    assert field.reveal.value is False and "Zz9" not in field.shown.value
    empty = SecretUrl("External API Endpoint", "")
    assert empty.text == "(пусто)" and empty.reveal.disabled


def test_status_line_and_guarded_handler_show_errors_redacted():
    class View:
        def __init__(self):
            self.status = StatusLine()
            self.last_error = None

        @guarded(lambda self: self.status)
        def on_click(self, _button=None):
            raise RuntimeError(f"cannot reach {UNIQUE_URL}")

    view = View()
    assert view.on_click() is None
    assert isinstance(view.last_error, RuntimeError)
    assert view.status.kind == "error" and "RuntimeError: cannot reach https://wh.jivosite.com/" in view.status.text
    assert "Ab3dEf6hIj9kLm2n" not in view.status.value
