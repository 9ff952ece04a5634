"""The Locust user: the conversation engine driven by Locust's gevent HTTP client (`FastHttpUser`).

Imported only inside a Locust process: importing locust monkey-patches the standard library for
gevent. Everything a transfer means (the script, the switch, the outcome) is the engine's
(`jivo_ops.transfer.conversation`); the mapping of its actions onto the Chat API's calls is the
runner's (`perform`); the requests and their reading are the Chat API client's (`ChatApiRequests`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable, Mapping

import gevent
import httpx
from locust import FastHttpUser, events, task
from locust.exception import StopUser
from locust.runners import STATE_SPAWNING, MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from ..channel.http import JSON_CONTENT_TYPE, NO_RETRY, check_url, connection_error
from ..channel.jaicp import BotResponse, ChatApiRequests, EventBatch
from ..errors import JivoOpsError
from ..profile import resolve_profile
from ..transfer.conversation import POLL_WINDOW_S, Conversation, Finished, Sleep
from ..transfer.results import TransferResult
from ..transfer.runner import perform
from ..transfer.script import Script, as_script, load_script

__all__ = ["TransferUser", "LocustChatApi", "play", "report", "HANDOVER", "TRANSFERS_OPTION"]

HANDOVER = "handover"
TRANSFERS_OPTION = "--transfers-per-user"
log = logging.getLogger("jivo_ops.locust")
_NO_QUIET = object()


class TransferFailed(Exception):
    """A Locust failure's reason: an outcome other than answered, or a failed check."""


@events.init_command_line_parser.add_listener
def _add_options(parser, **_kw) -> None:
    parser.add_argument(TRANSFERS_OPTION, type=int, default=0, metavar="N", include_in_web_ui=True,
                        help="each user plays N transfers and stops; Locust quits when every user has "
                             "(default 0: until stopped)")


class LocustChatApi(ChatApiRequests):
    """The Chat API's three calls over a Locust `FastHttpSession`: each is one Locust request, typed
    and named as `label` says, given `limit` seconds (the driver sets both for the action it performs)."""

    def __init__(self, url: str, session: Any, *, timeout: float):
        super().__init__(url, timeout=timeout, retry=NO_RETRY)
        self.session = session
        self.label = ("", "")  # (request_type, name)
        self.limit = timeout

    def _request(self, method: str, url: str, what: str, parse: Callable[[Any], Any], *, body: bytes | None = None,
                 params: Mapping[str, Any] | None = None, quiet: Any = _NO_QUIET) -> Any:
        """One exchange, read by `parse` (its JSON body → the value), or the typed error. `quiet`: the value
        of a long poll that brought nothing within its limit (as the httpx clients read its ReadTimeout)."""
        request_type, name = self.label
        if params:
            url = str(httpx.URL(url, params=params))
        headers = {"Content-Type": JSON_CONTENT_TYPE, "Accept": "application/json"} if body is not None else None
        started, clock = time.time(), time.perf_counter()
        # gevent's own Timeout (a BaseException): the session would take a TimeoutError for a failed response.
        timer = gevent.Timeout(self.limit)
        try:
            with timer:
                response = self.session.request(method, url, name=name, data=body, headers=headers,
                                                catch_response=True)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            failure = None if quiet is not _NO_QUIET else TransferFailed(f"{what}: no answer within {self.limit:g} s")
            self._fire(request_type, name, started, clock, failure)
            if failure is not None:
                raise TimeoutError(str(failure)) from None
            return quiet
        with response:
            response.request_meta["request_type"] = request_type
            try:
                value = parse(self._read(response, method, url, what))
            except JivoOpsError as exc:
                response.failure(str(exc))
                raise
            response.success()
            return value

    def _read(self, response: Any, method: str, url: str, what: str) -> Any:
        status = response.status_code
        if not status:  # no answer at all: refused, reset (geventhttpclient's error is kept on the response)
            raise connection_error(response.error, url, what, 1)
        if 200 <= status < 300:
            try:
                return json.loads(response.content)
            except (TypeError, ValueError):
                pass
        # The error path: the channel's own rules read the status, JAICP's error body, a body that is not JSON.
        return self.read_answer(httpx.Response(status, content=response.content or b"",
                                               request=httpx.Request(method, url)), what)

    def _fire(self, request_type: str, name: str, started: float, clock: float, exc: Exception | None) -> None:
        self.session.request_event.fire(request_type=request_type, name=name, start_time=started,
                                        response_time=(time.perf_counter() - clock) * 1000, response_length=0,
                                        response=None, context={}, exception=exc, url=None)

    def send_query(self, client_id: str, text: str, *, data: Mapping | None = None) -> BotResponse:
        return self._request("POST", self.url, "Chat API query", BotResponse.from_json,
                             body=self.query_body(client_id, text, data))

    def send_event(self, client_id: str, event: str, data: Mapping | None = None) -> BotResponse:
        return self._request("POST", self.url, "Chat API event", BotResponse.from_json,
                             body=self.event_body(client_id, event, data))

    def poll_events(self, client_id: str, *, ts: int | None = None, timeout: float = 30.0) -> EventBatch:
        params, http_timeout = self.poll_params(client_id, ts, timeout)
        self.limit = min(self.limit, http_timeout.read)
        return self._request("GET", self.events_url, "Chat API events poll",
                             lambda body: EventBatch.from_json(body, ts=ts), params=params,
                             quiet=EventBatch(events=(), last_ts=ts))


def play(conversation: Conversation, api: LocustChatApi) -> TransferResult | None:
    """Drive one conversation to its end over `api`, as `runner.play` does with asyncio; each request is
    labelled with the step being played. None when Locust stops the user mid-transfer (the test is
    ending: that transfer is no result)."""
    script = conversation.script.name
    try:
        while not isinstance(action := conversation.next_action(), Finished):
            if isinstance(action, Sleep):
                gevent.sleep(action.seconds)
                conversation.receive(None)
                continue
            # Once the outcome is decided, what is left is the engine's cleanup close.
            step = "cleanup" if conversation.outcome else conversation.current.action
            api.label, api.limit = (step, f"{script}:{step}"), action.limit
            try:
                value = perform(api, action)
            except Exception as exc:  # noqa: BLE001 - the engine decides what a failure means
                conversation.fail(exc)
            else:
                conversation.receive(value)
        return action.result
    except gevent.GreenletExit:
        conversation.interrupt()
        raise


def report(result: TransferResult, request_event: Any) -> None:
    """The hand-over as Locust entries: its timings (`handover` / "<script>: time to switch", "<script>:
    operator wait"), and one "<script>: transfer" entry, a failure unless the transfer passed (the outcome the
    script expects, default answered, and no failed check); each failed check a failure of "<script>: check"."""
    script = result.script

    def fire(name: str, seconds: float | None, failure: str | None = None) -> None:
        request_event.fire(request_type=HANDOVER, name=f"{script}: {name}", start_time=result.started_at.timestamp(),
                           response_time=(seconds or 0.0) * 1000, response_length=0, response=None, context={},
                           exception=TransferFailed(failure) if failure else None, url=None)

    if result.time_to_switch_s is not None:
        fire("time to switch", result.time_to_switch_s)
    if result.wait_s is not None:
        fire("operator wait", result.wait_s)
    took = (result.ended_at - result.started_at).total_seconds()
    if result.passed:
        fire("transfer", took)
    else:
        fire("transfer", took, f"{result.outcome}: {result.error}" if result.error else result.outcome)
    for check in result.failed_checks:
        fire("check", None, f"step {check.step} {check.check}: {check.message}")


class TransferUser(FastHttpUser):
    """A Locust user that plays transfer scripts: one simulated client, one transfer after another.

    Subclass it in a locustfile (`jivo-ops load --print-locustfile` prints one) and set `profile` (a
    profile file; None: ``$JIVO_OPS_PROFILE``), `script` (a script file, a Script or plain steps; None:
    the built-in one) and `step_timeout`. The profile's ``[jaicp] chat_api_url`` is where it goes;
    Locust's host is only that URL's origin (the token stays out of Locust's pages)."""

    abstract = True
    profile: Any = None
    script: Any = None
    step_timeout: float = 10.0
    poll_window: float = POLL_WINDOW_S
    connection_timeout = 5.0

    def __init__(self, environment):
        url, self.the_script = _settings(type(self))
        if self.host is None:
            parts = httpx.URL(url)
            self.host = f"{parts.scheme}://{parts.netloc.decode('ascii')}"
        self.network_timeout = self.step_timeout + self.poll_window + 5.0
        super().__init__(environment)
        self.chat_api_url = url
        self.api = LocustChatApi(url, self.client, timeout=self.step_timeout)
        self.played = 0
        self.prefix = f"jivo-ops-load-{uuid.uuid4().hex[:8]}"
        _PLAYING.add(self)  # here, not in on_start: Locust makes every user before spawning_complete

    @task
    def transfer(self) -> None:
        limit = getattr(self.environment.parsed_options, "transfers_per_user", 0) or 0
        self.played += 1
        conversation = Conversation(self.the_script, chat=f"{self.prefix}-{self.played:05d}",
                                    transfer_id=f"{self.prefix}-{self.played:05d}", step_timeout=self.step_timeout,
                                    url=self.chat_api_url, poll_window=self.poll_window)
        result = play(conversation, self.api)
        if result is not None:
            report(result, self.environment.events.request)
        if limit and self.played >= limit:
            self._done()

    def _done(self) -> None:
        """This user has played its transfers: it stops, and the last one of this process says so."""
        _PLAYING.discard(self)
        _FINISHED.add(self)
        _check_done(self.environment)
        raise StopUser()


# The users of this process still playing and those done, and whether this process has said it is done.
_PLAYING: set[TransferUser] = set()
_FINISHED: set[TransferUser] = set()
_SAID_DONE: set[int] = set()
DONE_MESSAGE = "jivo_ops_transfers_done"


def _check_done(environment) -> None:
    """Once every user here has played its transfers (and no more are being spawned), tell the master
    (a local runner tells itself). Workers do not quit on their own: the master would hand their users
    to the others."""
    runner = environment.runner
    if runner is None or _PLAYING or not _FINISHED or runner.state == STATE_SPAWNING or id(runner) in _SAID_DONE:
        return
    if not getattr(environment.parsed_options, "transfers_per_user", 0):
        return
    _SAID_DONE.add(id(runner))
    if isinstance(runner, WorkerRunner):
        # this worker's last figures go first, on the same ordered channel: the master quits half a second
        # after the last process is done, and a loaded worker's own final report came too late (lost transfers)
        data: dict[str, Any] = {}
        environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
        runner.send_message("stats", data)
    runner.send_message(DONE_MESSAGE, len(_FINISHED))


@events.init.add_listener
def _listen_for_done(environment, **_kw) -> None:
    """`--transfers-per-user`: the run ends when every process has said its users are done."""
    runner = environment.runner
    if runner is None:
        return
    environment.events.spawning_complete.add_listener(lambda **_kw: _check_done(environment))
    if isinstance(runner, WorkerRunner):
        return
    done: dict[str, int] = {}  # process → how many of its users have played their transfers

    def finish() -> None:
        # a master waits for every user it asked for, not for the workers it has heard from so far: a
        # worker slow to spawn (a loaded machine) has not reported its users yet when another is done
        if isinstance(runner, MasterRunner) and sum(done.values()) < runner.target_user_count:
            return
        if getattr(environment.parsed_options, "headless", False):
            runner.quit()  # a master's quit collects every worker's final report
        else:
            runner.stop()  # the web UI stays up with the results

    def on_done(msg, **_kw) -> None:
        done[msg.node_id] = int(msg.data or 0)
        gevent.spawn(finish)  # not in the user's greenlet, which stopping the users would kill

    runner.register_message(DONE_MESSAGE, on_done)


@events.quitting.add_listener
def _let_csv_catch_up(environment, **_kw) -> None:
    """Locust rewrites its --csv files once a second and not at the end: give it that second, so they
    hold the final numbers of a run that ended by itself."""
    if getattr(environment.parsed_options, "csv_prefix", None) and not isinstance(environment.runner, WorkerRunner):
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)


_SETTINGS: dict[type, tuple[str, Script]] = {}


def _settings(user_class: type) -> tuple[str, Script]:
    """A user class's Chat API URL and script, read once per process."""
    if user_class not in _SETTINGS:
        profile = resolve_profile(user_class.profile)
        url = check_url(profile.require("jaicp.chat_api_url", "a load test drives the bot through a Chat API "
                                        "inbound channel"), "[jaicp] chat_api_url")
        script = user_class.script
        _SETTINGS[user_class] = url, load_script(script) if isinstance(script, str) else as_script(script)
    return _SETTINGS[user_class]


@events.init.add_listener
def _check_settings(environment, **_kw) -> None:
    """A bad profile or script: one line, before any user starts (not a traceback per user)."""
    for user_class in environment.user_classes or ():
        if issubclass(user_class, TransferUser):
            try:
                _settings(user_class)
            except JivoOpsError as exc:
                log.error("jivo-ops load: error: %s", exc)
                raise SystemExit(2) from None
