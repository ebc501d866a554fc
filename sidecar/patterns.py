"""The grammars of what clients type, as regular expressions the OpenAPI document carries.

Each pattern is what the validator checks, character for character, so that a
client generated from the document sends exactly what the server takes. They
are written for every engine that reads them (Python's ``re``, the Rust regex
of pydantic and of the JSON Schema validators, ECMAScript): no look-around, no
``\\s`` (whose meaning differs between engines), anchors on both ends.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BeforeValidator

NO_NUL = r"^[^\x00]*$"
# A script as flux batch takes it: a shebang line first, Unix line breaks (a
# carriage return would end up in the interpreter's name, as sbatch warns).
SCRIPT = r"^#![^\x00\r]*$"


def is_unicode(text: str) -> bool:
    """Whether ``text`` can be written out as UTF-8: JSON's ``\\ud800`` decodes to a
    lone surrogate, which no file, argument or environment can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# ``scheme:value`` of a Flux dependency (RFC 26), split at the first colon.
DEPENDENCY = r"^[^:\x00]+:[^\x00]+$"

# A command line as ``shlex.split`` reads it (POSIX mode): words of plain
# characters, backslash escapes, single- and double-quoted parts, separated by
# shlex's whitespace; every quote closed, no trailing backslash, at least one word.
_SPACE = r"[ \t\r\n]"
_WORD_PART = (
    r"""[^ \t\r\n'"\\\x00]"""
    r"|\\[^\x00]"
    r"|'[^'\x00]*'"
    r'|"(?:[^"\\\x00]|\\[^\x00])*"'
)
SHELL_WORDS = rf"^{_SPACE}*(?:{_WORD_PART})(?:{_SPACE}|{_WORD_PART})*$"

# Seconds or a Flux Standard Duration (RFC 23): "90", "1.5m", "2h", ".5d"; "inf" means none.
# Fifteen digits on either side keep every value finite.
_NUMBER = r"(?:[0-9]{0,15}\.)?[0-9]{1,15}"
DURATION = rf"^(?:{_NUMBER}(?:ms|s|m|h|d)?|[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?)$"

# Last-Event-ID: boot, sequence number and time of the change, as both backends issue it.
EVENT_ID = r"^[0-9a-f]{8}-[0-9]{1,18}-[0-9]{1,12}(?:\.[0-9]{0,9})?$"
CURSOR = r"^[A-Za-z0-9_-]{0,512}$"

# A path under the files root: names of 1 to 255 characters without NUL,
# backslash or '/', never '..', separated by '/' (repeated or trailing ones
# are ignored, '.' names too); never starting with '/'. The 255 is the
# filesystem's limit in bytes: a name of many multi-byte characters can still
# be refused for its length.
_NAME = (
    r"(?:[^/\\\x00.][^/\\\x00]{0,254}|\.|\.[^/\\\x00.][^/\\\x00]{0,253}"
    r"|\.\.[^/\\\x00]{1,253})"
)
FILES_DIRECTORY = rf"^(?:{_NAME}(?:/+{_NAME})*/*)?$"  # '' is the root
FILES_PATH = rf"^{_NAME}(?:/+{_NAME})*/*$"
FILES_UPLOAD_PATH = rf"^{_NAME}(?:/+{_NAME})*$"  # a file: no trailing '/'


def _integral(value: Any) -> Any:
    # JSON Schema's integer includes 2.0 (RFC 8259 numbers have no int type); bool stays out.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# With ``Strict()`` before it and bounds between (``Annotated[int, Strict(), Field(ge=1),
# INTEGRAL]``): what JSON Schema calls an integer, 2 and 2.0, never true or "2". After a
# validator function pydantic could no longer write the bounds as minimum and maximum.
INTEGRAL = BeforeValidator(_integral)


def any_case(word: str) -> str:
    """``word`` in any mix of upper and lower case, without a flag the engines disagree on."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def one_of(words: list[str], *, ignore_case: bool = False) -> str:
    """A group matching exactly one of ``words`` (longest first, so none shadows another)."""
    spelled = [any_case(w) if ignore_case else re.escape(w) for w in sorted(words, key=len)[::-1]]
    return "(?:" + "|".join(spelled) + ")"


def comma_list(words: list[str], *, ignore_case: bool = False, empty: bool = False) -> str:
    """``words`` joined by commas (each piece may be empty when ``empty``)."""
    word = one_of(words, ignore_case=ignore_case) + ("?" if empty else "")
    return f"^{word}(?:,{word})*$"


def full(pattern: str, text: str) -> bool:
    """Whether ``text`` is in ``pattern``'s language (the whole of it, no trailing newline)."""
    return re.fullmatch(pattern, text) is not None
