"""Profiles: every setting of the integration, both sides, as one value.

A profile file is TOML with two tables, named after the two consoles the user clicks through::

    [jaicp]
    chat_api_url = "https://app.jaicp.com/chatapi/<token>"      # inbound Chat API channel, to drive the bot
    operator_channel = "Jivo"                                     # name of the JAICP operator channel
    internal_webhook_url = "https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/<token>"
    external_api_endpoint = "https://wh.jivosite.com/<key>/<id>"
    inbound_channel = "chat api"                                  # the inbound channel…
    inbound_operator = "Jivo"                                     # …and its «Оператор» field
    reporter_url = "https://app.jaicp.com/api/v1/reporter"        # message logs (or …/api/reporter/p/<token>)
    reporter_token = ""                                           # or env JIVO_OPS_REPORTER_TOKEN
    bot_id = ""                                                   # the Reporter's botId (messages/by-client)
    [jivo]
    channel = "JAICP bot"
    webhook_url = "…"      # «URL вашего сервера для Webhooks»
    unique_url = "…"       # «Уникальный URL»
    chunked = true         # «Chunked кодировка в запросах»
    operator_view_url = "" # where jivo_ops reads what the operator got (the sandbox, a stand-in)
    [stand_in]             # optional: `jivo-ops stand-in` plays Jivo's operators for a test channel
    listen = "127.0.0.1:8765"
    public_url = ""        # the address JAICP's cloud reaches (your tunnel); empty: the local one
    webhook_url = "…"      # the test operator channel's Internal Webhook Url
    operators = 2
    think_time = 0.0
    reply_mode = "echo"    # echo | script | silent
    store = ""             # recorder store; empty: beside the profile
    unique_path = "…"      # the secret path of the «Уникальный URL» (kept so a restart keeps the URL)
    unique_url = "…"       # the full «Уникальный URL» to paste into «External API Endpoint»

Any key can also come from the environment as ``JIVO_OPS_<TABLE>_<KEY>`` (e.g.
``JIVO_OPS_JIVO_UNIQUE_URL``), which wins over the file; ``JIVO_OPS_REPORTER_TOKEN`` is the short
name of the Reporter token. ``JIVO_OPS_PROFILE`` names the default profile file.
Every URL and token is a secret: reprs and HTML show masks only. A `reporter_url` of the older form
``…/api/reporter/p/<token>`` carries its token in the path: it needs no `reporter_token` and is masked.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .errors import ProfileError
from .i18n import N_, TranslatedMapping, _
from .files import MAX_SMALL_INPUT_BYTES, loads_toml, read_input, shown_name
from .redaction import mask_secret, mask_url, register_secret

__all__ = ["Profile", "JaicpSettings", "JivoSettings", "StandInSettings", "load_profile", "save_profile", "example_profile",
           "resolve_profile", "default_profile_path", "PROFILE_ENV", "FIELD_LABELS", "ProfileField", "PROFILE_FIELDS",
           "reporter_path_token"]

PROFILE_ENV = "JIVO_OPS_PROFILE"
REPORTER_TOKEN_ENV = "JIVO_OPS_REPORTER_TOKEN"
SECRET_FIELDS = frozenset({"chat_api_url", "internal_webhook_url", "external_api_endpoint", "reporter_token",
                           "webhook_url", "unique_url", "unique_path"})


@dataclass(frozen=True)
class JaicpSettings:
    """The JAICP side: the Chat API channel that drives the bot, the Jivo operator channel, logs."""

    chat_api_url: str = ""
    operator_channel: str = "Jivo"
    internal_webhook_url: str = ""
    external_api_endpoint: str = ""
    inbound_channel: str = "chat api"
    inbound_operator: str = ""
    reporter_url: str = "https://app.jaicp.com/api/v1/reporter"
    reporter_token: str = ""
    bot_id: str = ""


@dataclass(frozen=True)
class JivoSettings:
    """The Jivo side: the «Добавьте чат в свое приложение» channel."""

    channel: str = "JAICP bot"
    webhook_url: str = ""
    unique_url: str = ""
    chunked: bool = True
    # where jivo_ops reads what the operator got (the sandbox's Jivo, a stand-in's control address);
    # empty: human operators, nobody can see it
    operator_view_url: str = ""


@dataclass(frozen=True)
class StandInSettings:
    """`jivo-ops stand-in`: jivo_ops's own Jivo operators for a test operator channel (optional table)."""

    listen: str = "127.0.0.1:8765"
    public_url: str = ""
    webhook_url: str = ""
    operators: int = 2
    think_time: float = 0.0
    reply_mode: str = "echo"
    store: str = ""
    unique_path: str = ""
    unique_url: str = ""


_KINDS = {"bool": bool, "int": int, "float": float, "str": str}


@dataclass(frozen=True)
class ProfileField:
    """One setting of a profile, read off the settings dataclasses: what a form needs to show it."""

    key: str       # "table.name", e.g. "jivo.chunked"
    kind: type     # str, bool, int or float
    default: Any
    secret: bool   # a URL or token: shown masked

    @property
    def table(self) -> str:
        return self.key.partition(".")[0]

    @property
    def name(self) -> str:
        return self.key.partition(".")[2]


_SECTIONS: dict[str, type] = {"jaicp": JaicpSettings, "jivo": JivoSettings, "stand_in": StandInSettings}

# Every setting, in the order of the dataclasses: a field added there is listed here with its default.
PROFILE_FIELDS: tuple[ProfileField, ...] = tuple(
    ProfileField(f"{table}.{f.name}", _KINDS.get(str(f.type), str),
                 f.default_factory() if f.default is dataclasses.MISSING else f.default,  # type: ignore[misc]
                 f.name in SECRET_FIELDS)
    for table, cls in _SECTIONS.items() for f in fields(cls))


# Where each setting is found, as the consoles label it: what a "this field is empty" error tells a user.
FIELD_LABELS: "TranslatedMapping[str, str]" = TranslatedMapping({
    "jaicp.chat_api_url": N_("the Chat API channel URL (JAICP: Каналы → Входящие → Chat API)"),
    "jaicp.internal_webhook_url": N_("«Internal Webhook Url» (JAICP: Каналы → Операторы → Jivo)"),
    "jaicp.external_api_endpoint": N_("«External API Endpoint» (JAICP operator channel)"),
    "jaicp.reporter_url": N_("the Reporter API URL (e.g. https://app.jaicp.com/api/v1/reporter)"),
    "jaicp.reporter_token": N_("the API token (JAICP: project properties → API tokens), or set "
                               "JIVO_OPS_REPORTER_TOKEN"),
    # Where the console shows it is not confirmed by a public source; every Reporter session carries it.
    "jaicp.bot_id": N_("the bot's botId (every session the Reporter API returns carries it, as in "
                       "sessions/filter), or set JIVO_OPS_JAICP_BOT_ID"),
    "jivo.webhook_url": N_("«URL вашего сервера для Webhooks» (Jivo channel settings)"),
    "jivo.unique_url": N_("«Уникальный URL» (Jivo: Управление → Каналы связи → your channel)"),
    "jivo.chunked": N_("«Chunked кодировка в запросах» (Jivo channel settings)"),
    "jivo.channel": N_("«Название канала» (Jivo channel settings)"),
    "jaicp.operator_channel": N_("«Название» (JAICP: Каналы → Операторы → Jivo)"),
    "jaicp.inbound_channel": N_("the inbound channel (JAICP: Каналы → Входящие)"),
    "jaicp.inbound_operator": N_("«Оператор» (JAICP: the inbound channel's settings)"),
    "stand_in.webhook_url": N_("the test operator channel's «Internal Webhook Url» (JAICP: Каналы → Операторы), "
                               "or pass --webhook"),
    "stand_in.unique_url": N_("the stand-in's «Уникальный URL» (printed by `jivo-ops stand-in`)"),
    "jivo.operator_view_url": N_("the stand-in's control address (printed by `jivo-ops stand-in`)"),
})


_REPORTER_PATH_TOKEN = re.compile(r"/reporter/p/(?P<token>[^/?#\s]+)")


def reporter_path_token(url: str) -> str | None:
    """The token a Reporter URL of the older form ``…/api/reporter/p/<token>`` carries in its path
    (then no Bearer token is needed); None for the ``…/api/v1/reporter`` form."""
    match = _REPORTER_PATH_TOKEN.search(url or "")
    return match["token"] if match else None


def _masked(name: str, value: Any) -> Any:
    if name == "reporter_url" and isinstance(value, str) and reporter_path_token(value):
        return mask_url(value)
    if name not in SECRET_FIELDS or not isinstance(value, str):
        return value
    return mask_url(value) if "://" in value else mask_secret(value)


def _section_repr(obj: Any) -> str:
    inner = ", ".join(f"{f.name}={_masked(f.name, getattr(obj, f.name))!r}" for f in fields(obj))
    return f"{type(obj).__name__}({inner})"


for _cls in _SECTIONS.values():
    _cls.__repr__ = _section_repr  # type: ignore[method-assign]


@dataclass(frozen=True)
class Profile:
    """Both sides' settings. Immutable: change one with `profile.replace(jivo={"chunked": False})`."""

    jaicp: JaicpSettings = field(default_factory=JaicpSettings)
    jivo: JivoSettings = field(default_factory=JivoSettings)
    stand_in: StandInSettings = field(default_factory=StandInSettings)
    name: str = ""
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for section in self._sections().values():
            for f in fields(section):
                if f.name in SECRET_FIELDS:
                    register_secret(getattr(section, f.name))
        if token := reporter_path_token(self.jaicp.reporter_url):
            register_secret(self.jaicp.reporter_url)
            register_secret(token)

    def _sections(self) -> dict[str, Any]:
        return {table: getattr(self, table) for table in _SECTIONS}

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None, text: str | None = None) -> "Profile":
        """Validate a parsed profile: unknown tables or keys and wrong types are errors naming the key and line."""
        known = _SECTIONS
        sections: dict[str, Any] = {}
        for table, value in data.items():
            if table == "name":
                if not isinstance(value, str):
                    raise ProfileError(_("must be a string, got {kind}").format(kind=type(value).__name__),
                                       path=source, key=table,
                                       line=_line_of(text, None, table))
                continue
            if table not in known:
                hint = _closest(table, known)
                raise ProfileError(_("unknown table{hint}; expected one of: {known}").format(
                                       hint=hint, known=", ".join(known)), path=source,
                                   key=table, line=_line_of(text, None, table))
            if not isinstance(value, Mapping):
                raise ProfileError(_("must be a table"), path=source, key=table, line=_line_of(text, None, table))
            sections[table] = _build_section(known[table], table, value, source, text)
        return cls(**{table: sections.get(table, section()) for table, section in known.items()},
                   name=str(data.get("name", "")), source=source)

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, name: str = "", source: str | None = None) -> "Profile":
        """A profile from settings by key ("jivo.chunked": True, …), validated like a file; a key left
        out keeps its default. The inverse of `to_values` (what a form holds)."""
        data: dict[str, Any] = {}
        for key, value in values.items():
            table, _, setting = key.partition(".")
            data.setdefault(table, {})[setting] = value
        if name:
            data["name"] = name
        return cls.from_dict(data, source=source)

    def to_values(self) -> dict[str, Any]:
        """Every setting by key, in PROFILE_FIELDS order, secrets included: for a form, never for showing."""
        return {f.key: getattr(getattr(self, f.table), f.name) for f in PROFILE_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """Plain values, secrets included: for saving, never for showing."""
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        for table, section in self._sections().items():
            out[table] = dataclasses.asdict(section)
        return out

    def replace(self, *, jaicp: Mapping[str, Any] | None = None, jivo: Mapping[str, Any] | None = None,
                stand_in: Mapping[str, Any] | None = None, **top: Any) -> "Profile":
        data = self.to_dict()
        for table, changes in (("jaicp", jaicp), ("jivo", jivo), ("stand_in", stand_in)):
            data[table].update(changes or {})
        data.update(top)
        return Profile.from_dict(data, source=self.source)

    def with_env(self, environ: Mapping[str, str] | None = None) -> "Profile":
        """This profile with ``JIVO_OPS_<TABLE>_<KEY>`` variables applied."""
        env = os.environ if environ is None else environ
        changes: dict[str, dict[str, Any]] = {table: {} for table in _SECTIONS}
        if env.get(REPORTER_TOKEN_ENV):
            changes["jaicp"]["reporter_token"] = env[REPORTER_TOKEN_ENV]
        for table, cls in _SECTIONS.items():
            for f in fields(cls):
                var = f"JIVO_OPS_{table}_{f.name}".upper()
                if var in env:
                    changes[table][f.name] = _env_value(var, env[var], _KINDS.get(str(f.type), str))
        if not any(changes.values()):
            return self
        return self.replace(**changes)

    def require(self, key: str, purpose: str = "") -> str:
        """The setting `key` ("table.name") stripped, or a ProfileError naming the key, the file and
        where to find the value in the consoles; `purpose` says why this operation needs it."""
        table, name = key.split(".")
        value = getattr(getattr(self, table), name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            why = f": {purpose}" if purpose else ""
            raise ProfileError(_("is empty{why}; paste {field}").format(
                                   why=why, field=FIELD_LABELS.get(key) or _("its value")), path=self.source,
                               key=key)
        return value

    def require_reporter(self, purpose: str = "") -> tuple[str, str | None]:
        """The Reporter URL and the Bearer token it needs, or a ProfileError like `require`'s. A URL of
        the older form ``…/api/reporter/p/<token>`` carries its token: then the token is None."""
        url = self.require("jaicp.reporter_url", purpose)
        return url, None if reporter_path_token(url) else self.require("jaicp.reporter_token", purpose)

    # -- showing ------------------------------------------------------------------------------
    def masked(self) -> dict[str, dict[str, Any]]:
        """Every setting with secrets masked: what a table, widget or log may show."""
        return {name: {f.name: _masked(f.name, getattr(section, f.name)) for f in fields(section)}
                for name, section in self._sections().items()}

    def __repr__(self) -> str:
        label = f"name={self.name!r}, " if self.name else ""
        stand_in = f", stand_in={self.stand_in!r}" if self.stand_in != StandInSettings() else ""
        return f"Profile({label}jaicp={self.jaicp!r}, jivo={self.jivo!r}{stand_in})"

    def _repr_html_(self) -> str:
        rows = []
        for table, values in self.masked().items():
            for key, value in values.items():
                rows.append(f"<tr><td>[{table}]</td><td><code>{key}</code></td>"
                            f"<td><code>{html.escape(str(value))}</code></td></tr>")
        title = html.escape(self.name or "profile")
        return (f"<table><caption>{title}</caption><tr><th>table</th><th>key</th><th>value</th></tr>"
                + "".join(rows) + "</table>")

    def to_toml(self) -> str:
        lines = []
        if self.name:
            lines += [f"name = {_toml_value(self.name)}", ""]
        for table, section in self._sections().items():
            if table == "stand_in" and section == StandInSettings():
                continue  # an optional table: written once a stand-in is set up
            values = dataclasses.asdict(section)
            lines.append(f"[{table}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
            lines.append("")
        return "\n".join(lines)


def _env_value(var: str, raw: str, kind: type) -> Any:
    """A ``JIVO_OPS_<TABLE>_<KEY>`` value as its setting's type, or a ProfileError naming the variable."""
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ProfileError(_("environment variable {var}={raw!r} is not a boolean (use true/false)").format(
                var=var, raw=raw))
        return lowered in {"1", "true", "yes", "on"}
    if kind in (int, float):
        try:
            return kind(raw.strip())
        except ValueError:
            raise ProfileError(_("environment variable {var}={raw!r} is not {kind}").format(
                var=var, raw=raw, kind=_type_name(kind.__name__))) from None
    return raw


def _kind_ok(value: Any, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A JSON string is a valid TOML basic string, except that TOML also forbids a raw DEL.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _type_name(t: Any) -> str:
    names = {"str": N_("a string"), "bool": N_("true or false"), "int": N_("a whole number"), "float": N_("a number")}
    return _(names[str(t)]) if str(t) in names else str(t)


def _build_section(cls: type, table: str, values: Mapping[str, Any], source: str | None, text: str | None):
    allowed = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        line = _line_of(text, table, key)
        if key not in allowed:
            hint = _closest(key, allowed)
            raise ProfileError(_("unknown key{hint}; allowed: {allowed}").format(hint=hint, allowed=", ".join(allowed)),
                               path=source, key=f"{table}.{key}", line=line)
        expected = allowed[key].type
        if not _kind_ok(value, _KINDS.get(str(expected), str)):
            raise ProfileError(_("must be {expected}, got {kind}").format(expected=_type_name(expected),
                                                                          kind=type(value).__name__),
                               path=source, key=f"{table}.{key}", line=line)
        kwargs[key] = float(value) if str(expected) == "float" else value
    return cls(**kwargs)


def _closest(key: str, allowed: Mapping[str, Any]) -> str:
    import difflib

    match = difflib.get_close_matches(key, list(allowed), n=1)
    return _(" (did you mean {name!r}?)").format(name=match[0]) if match else ""


def _line_of(text: str | None, table: str | None, key: str) -> int | None:
    """Best-effort line number of `key` in `[table]` (tomllib does not report positions).

    Finds ``key = …`` under a ``[table]`` header, a ``[table.key]`` sub-table header, or a dotted
    ``table.key = …`` line; with `table` None, a top-level ``key = …`` or a ``[key]`` header.
    """
    if not text:
        return None
    current = None
    quoted = rf"\"?{re.escape(key)}\"?"
    key_re = re.compile(rf"^\s*{quoted}\s*[=.]")
    dotted_re = re.compile(rf"^\s*\"?{re.escape(table)}\"?\s*\.\s*{quoted}\s*=") if table else None
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = re.sub(r"\s*\.\s*", ".", header.group(1)).replace('"', "")
            if current == key if table is None else current == f"{table}.{key}":
                return number
            continue
        if current == table and key_re.match(line):
            return number
        if current is None and dotted_re is not None and dotted_re.match(line):
            return number
    return None


def _key_on_line(text: str, line: int | None) -> str | None:
    """The key written on `line` (for errors about a line tomllib or UTF-8 decoding rejected)."""
    if not line:
        return None
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    table = None
    for previous in lines[: line - 1]:
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", previous)
        if header:
            table = header.group(1).strip()
    match = re.match(r"^\s*\"?([A-Za-z0-9_.-]+?)\"?\s*=", lines[line - 1])
    if not match:
        return None
    return f"{table}.{match.group(1)}" if table else match.group(1)


def default_profile_path() -> Path | None:
    value = os.environ.get(PROFILE_ENV, "").strip()
    return Path(value).expanduser() if value else None


def load_profile(path: str | os.PathLike | None = None, *, env: bool = True) -> Profile:
    """Read a profile file (default: ``$JIVO_OPS_PROFILE``); `env` applies ``JIVO_OPS_*`` overrides."""
    if path is None:
        path = default_profile_path()
        if path is None:
            raise ProfileError(_("no profile given: pass --profile PATH or set {variable} "
                                 "(or run against the sandbox with --sandbox)").format(variable=PROFILE_ENV))
    p = Path(path).expanduser()
    if not os.path.lexists(p):
        raise ProfileError(_("file not found; create one with `jivo-ops sandbox --profile-out PATH` "
                             "or copy the bundled example"), path=shown_name(p))
    raw = read_input(p, limit=MAX_SMALL_INPUT_BYTES, error=ProfileError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        readable = raw.decode("utf-8", errors="replace")
        raise ProfileError(_("not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8").format(
                               byte=raw[exc.start]),
                           path=shown_name(p), key=_key_on_line(readable, line), line=line) from None
    try:
        data = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ProfileError(_("broken TOML: {error}").format(error=exc), path=shown_name(p), key=_key_on_line(text, line),
                           line=line) from None
    profile = Profile.from_dict(data, source=shown_name(p), text=text)
    return profile.with_env() if env else profile


def resolve_profile(target: Any = None) -> Profile:
    """The profile an operation runs with: a Profile as it is, the `.profile` of anything that holds
    one (a Sandbox), or a profile file path (None: ``$JIVO_OPS_PROFILE``)."""
    if isinstance(target, Profile):
        return target
    held = getattr(target, "profile", None)
    if isinstance(held, Profile):
        return held
    if target is None or isinstance(target, (str, os.PathLike)):
        return load_profile(target)
    raise ProfileError(_("expected a Profile, a Sandbox or a profile path, got {kind}").format(
        kind=type(target).__name__))


def save_profile(profile: Profile, path: str | os.PathLike) -> Path:
    """Write `profile` as TOML, readable by its owner only (0600): it holds secrets."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_file():  # os.replace would put the profile in place of a device or FIFO
        raise ProfileError(_("not a regular file; give a file name to write the profile to"), path=shown_name(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(profile.to_toml())
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return p


def example_profile() -> Profile:
    """The bundled example: a correctly wired integration with made-up tokens."""
    text = resources.files("jivo_ops").joinpath("data/example-profile.toml").read_text(encoding="utf-8")
    return Profile.from_dict(tomllib.loads(text), source="example-profile.toml", text=text)
