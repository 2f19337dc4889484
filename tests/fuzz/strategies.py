"""Hostile values and request bodies for the fuzz suite: what an attacker or a broken client
can send. Reusable by any fuzz test (webhooks, web chat): values become raw JSON tokens, so
the bodies can hold what ``json.dumps`` never writes (``1e400``, lone surrogate escapes,
100,000 brackets)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Repeatable in CI (derandomize), nothing written into the repository (database=None), no
# deadline: one example is an HTTP request whose answer starts background work.
settings.register_profile(
    "fuzz",
    deadline=None,
    database=None,
    derandomize=True,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("fuzz")

DEEP = 100_000  # brackets: far past Python's recursion limit, still under the 256 KB body cap
_MARKER = "\x1bHOSTILE\x1b"  # stands where the raw token goes; no fixture contains it

# Raw JSON text that json.dumps would never produce from a Python value.
RAW_TOKENS = (
    "1e400",
    "-1e400",
    "1e-400",
    "9" * 5000,  # over Python's 4,300-digit limit for int()
    "-" + "9" * 40,
    "NaN",
    "Infinity",
    "-Infinity",
    '"\\ud800"',  # a lone high surrogate
    '"an \\udfff toàn"',  # a lone low surrogate inside words
    '"\\ud83d\\ude37"',  # a valid pair: 😷
    '"\\u0000"',
    '"s\\u00f4\\u0301t \\u0000 \\u202e\\u200f"',  # combining mark, NUL, RTL marks
    '"' + "😷" * 2000 + '"',
    '"' + "a" * 100_000 + '"',
    "[" * DEEP + "]" * DEEP,
    '{"a":' * 1000 + "1" + "}" * 1000,
    "[]",
    "{}",
    "true",
    "null",
)

# Every character, lone surrogates (category Cs) included.
any_character = st.characters(exclude_categories=())
hostile_text = st.one_of(
    st.text(any_character, max_size=50),
    st.text(st.sampled_from("\x00\u202e\u200f\ufeff\ud800\udfff😷ạ\n\r\t "), max_size=50),
)
hostile_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([-1, 0, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


def token(value: Any) -> str:
    """A Python value as JSON text, non-ASCII (lone surrogates too) as \\u escapes."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


hostile_token = st.one_of(hostile_value.map(token), st.sampled_from(RAW_TOKENS))


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document (containers and leaves), the root excepted."""
    children: Any = ()
    if isinstance(document, dict):
        children = document.items()
    elif isinstance(document, list):
        children = enumerate(document)
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def with_token(document: Any, path: tuple[Any, ...], raw_token: str) -> bytes:
    """``document`` serialised with the value at ``path`` replaced by ``raw_token``."""
    doc = copy.deepcopy(document)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = _MARKER
    text = json.dumps(doc, ensure_ascii=False).replace(json.dumps(_MARKER), raw_token, 1)
    return text.encode("utf-8")


@st.composite
def hostile_leaf(draw: st.DrawFn, document: Any) -> bytes:
    """A real update with one value (a leaf or a whole object) replaced by a hostile one."""
    where = draw(st.sampled_from(list(paths(document))))
    return with_token(document, where, draw(hostile_token))


@st.composite
def hostile_string(draw: st.DrawFn, document: Any) -> bytes:
    """A real update with one string replaced by hostile text: the body stays valid, so it
    reaches the database (lone surrogates, NUL, RTL marks, emoji, huge strings)."""
    strings = [p for p in paths(document) if isinstance(_at(document, p), str)]
    where = draw(st.sampled_from(strings))
    words = draw(hostile_text | st.sampled_from(["😷" * 3000, "a" * 100_000, "\x00" * 10]))
    return with_token(document, where, token(words))


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)
random_json = json_value.map(lambda v: token(v).encode())
deep_nesting = st.sampled_from(
    [
        b"[" * DEEP + b"]" * DEEP,
        b"[" * DEEP,  # never closed
        b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
        b'{"update_id": 1, "message": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    ]
)


@st.composite
def broken_utf8(draw: st.DrawFn, raw: bytes) -> bytes:
    """A real body with a byte that cannot start or continue UTF-8 put somewhere in it."""
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe"])) + raw[at:]


def hostile_body(document: Any) -> st.SearchStrategy[bytes]:
    """Bodies for an endpoint whose real bodies look like ``document``."""
    raw = json.dumps(document, ensure_ascii=False).encode()
    return st.one_of(
        hostile_leaf(document),
        hostile_leaf(document),  # the likeliest to reach the parser and the database:
        hostile_string(document),  # drawn twice as often as the others
        hostile_string(document),
        random_json,
        deep_nesting,
        broken_utf8(raw),
        st.binary(max_size=64),
        st.just(b""),
        st.just(raw[: len(raw) // 2]),  # cut short
    )


@dataclass(frozen=True)
class Transport:
    """How a body travels: its content type (None: no header) and whether it is chunked."""

    content_type: str | None
    chunked: bool

    def request(self, body: bytes) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client.post``: a generator body is sent chunked."""
        headers = {} if self.content_type is None else {"content-type": self.content_type}
        if self.chunked:
            pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
            return {"content": iter(pieces), "headers": headers}
        return {"content": body, "headers": headers}


transports = st.builds(
    Transport,
    st.sampled_from(
        [
            "application/json",
            "application/json",
            "application/json; charset=latin-1",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            None,
        ]
    ),
    st.booleans(),
)
