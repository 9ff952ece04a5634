"""JAICP's own XML scenario tests, read as transfer scripts (one per ``<test-case>``).

The supported tags::

    <test switch-state="/Operator">            the root; switch-state (optional): the file's own marker
      <test-case id="greeting">                 one script, named "<file stem>: <id>"
        <q>/start</q>                           a client phrase → a ``say`` step
        <a>Здравствуйте!</a>                    the expected answer text → ``expect.text`` of that step
        <a state="/Start"/>                     the answer's state → ``expect.state`` (``class=`` the same)
        <event>myEvent</event>                  an event → an ``event`` step
      </test-case>
    </test>

A ``<q>`` whose answers include ``<a state=S>`` with S the switch state (``switch_state=`` /
``--switch-state``, else the root's ``switch-state``) becomes a ``switch`` step, followed by a
``wait_operator``; such a script ends with a ``close``. Any other tag is an error naming the tag and
its line: never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ..errors import ScriptError

__all__ = ["read_jaicp_xml", "SUPPORTED_TAGS"]

SUPPORTED_TAGS = ("test", "test-case", "q", "a", "event")
_ATTRIBUTES = {"test": {"switch-state"}, "test-case": {"id"}, "q": set(), "a": {"state", "class"}, "event": set()}


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    text: str = ""
    children: list["_Element"] = field(default_factory=list)


def _parse(raw: bytes, source: str) -> _Element:
    """The element tree with line numbers (ElementTree keeps none)."""
    parser = expat.ParserCreate("utf-8")
    stack: list[_Element] = []
    root: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if tag not in SUPPORTED_TAGS:
            raise ScriptError(f"{source}: line {line}: tag <{tag}> is not supported "
                              f"(supported: {', '.join(f'<{t}>' for t in SUPPORTED_TAGS)})")
        unknown = sorted(set(attrs) - _ATTRIBUTES[tag])
        if unknown:
            raise ScriptError(f"{source}: line {line}: <{tag}> attribute(s) {unknown} not supported")
        element = _Element(tag, dict(attrs), line)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise ScriptError(f"{source}: broken XML at line {exc.lineno}, column {exc.offset + 1}: "
                          f"{expat.ErrorString(exc.code)}") from None
    if root[0].tag != "test":
        raise ScriptError(f"{source}: line {root[0].line}: the root must be <test>, not <{root[0].tag}>")
    return root[0]


def _case_steps(case: _Element, source: str, switch_state: str | None) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for element in case.children:
        where = f"{source}: line {element.line}"
        value = element.text.strip()
        if element.tag == "q":
            if not value:
                raise ScriptError(f"{where}: <q> needs the client's phrase")
            steps.append({"action": "say", "text": value, "expect": {}})
        elif element.tag == "event":
            if not value:
                raise ScriptError(f"{where}: <event> needs the event's name")
            steps.append({"action": "event", "name": value, "expect": {}})
        elif element.tag == "a":
            if not steps:
                raise ScriptError(f"{where}: <a> must follow a <q> or an <event>")
            expect = steps[-1]["expect"]
            state = element.attrs.get("state") or element.attrs.get("class")
            if value:
                if "text" in expect:
                    raise ScriptError(f"{where}: a second <a> text for one <q> is not supported")
                expect["text"] = value
            if state:
                expect["state"] = state
                if switch_state and state == switch_state and steps[-1]["action"] == "say":
                    steps[-1]["action"] = "switch"
            if not value and not state:
                raise ScriptError(f"{where}: <a> needs the answer text or a state= / class= attribute")
        else:
            raise ScriptError(f"{where}: <{element.tag}> is not allowed inside <test-case>")
    if not steps:
        raise ScriptError(f"{source}: line {case.line}: <test-case> has no <q> or <event>")
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step["expect"]:
            del step["expect"]
        out.append(step)
        if step["action"] == "switch":
            out.append({"action": "wait_operator"})
    if any(s["action"] == "switch" for s in out):
        out.append({"action": "close"})
    return out


def read_jaicp_xml(path: Path, raw: bytes, *, switch_state: str | None = None) -> list[dict[str, Any]]:
    """The test-cases of a JAICP XML test file as script data ({"name", "steps"}), in file order."""
    source = str(path)
    root = _parse(raw, source)
    marker = switch_state or root.attrs.get("switch-state")
    cases = [c for c in root.children]
    for c in cases:
        if c.tag != "test-case":
            raise ScriptError(f"{source}: line {c.line}: <{c.tag}> must be inside a <test-case>")
    if not cases:
        raise ScriptError(f"{source}: no <test-case> in <test>")
    scripts, seen = [], set()
    for number, case in enumerate(cases, 1):
        case_id = case.attrs.get("id") or str(number)
        if case_id in seen:
            raise ScriptError(f"{source}: line {case.line}: a second <test-case id={case_id!r}>")
        seen.add(case_id)
        scripts.append({"name": f"{path.stem}: {case_id}", "steps": _case_steps(case, source, marker)})
    return scripts
