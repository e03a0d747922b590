"""Masking passwords in everything dbkit shows: the one place that knows where a password sits.

A password is masked by *where it is*, never by what it says: the password field of a URL
(``scheme://user:PASSWORD@host``), a ``password=`` query parameter of a URL, and the
``password`` keyword of a libpq keyword/value string (``host=h password=PASSWORD``). Replacing
the password's text wherever it occurs would garble messages (with the password ``a``,
``failed`` would read ``f***iled``) and spell the password out to anyone reading the mask.

A URL whose user-info does not parse (an unencoded ``@``, ``/``, ``?`` or ``#`` in the password,
``postgres://weird:p@ss:w/rd?x@host/db``) is masked from ``://`` to its last ``@``: the host and
database stay readable, nothing of the user-info is shown.

:func:`scrub` applies the same masking to free text (driver and server messages): every URL and
every ``password=`` field found in it is masked by parsing; and a message that libpq wrote about
the connection string it could not parse (``invalid integer value "..." for connection option
"port"``) has its quoted fragments hidden when they come from the URL's user-info.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# scheme://rest-of-token; the token runs to whitespace or a quote (the usual ends in prose).
_URL_IN_TEXT = re.compile(r"""\b([a-zA-Z][a-zA-Z0-9+.\-]*)://([^\s"'<>]*)""")
# password = value, the value quoted ('...' with \' escapes) or a run of non-blanks.
_KEYWORD_PASSWORD = re.compile(r"""(?i)\b(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s'&]+)""")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")
# A value libpq or psycopg quotes in a message: "..." or '...'.
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")


def mask_url(url: str) -> str:
    """``url`` (a URL or a libpq keyword/value string) with its password masked."""
    for begin, end in reversed(secret_spans(url)):
        url = url[:begin] + MASK + url[end:]
    return url


def secret_spans(url: str) -> list[tuple[int, int]]:
    """Where the secrets of a URL or keyword/value string sit in it, in order.

    URL: the password of the user-info (or, when the user-info does not parse, all of it,
    from ``://`` to the last ``@``) and any ``password=`` query parameter. Keyword/value: the
    value of each ``password`` keyword.
    """
    if "://" not in url:
        return [m.span(2) for m in _KEYWORD_PASSWORD.finditer(url)]
    base = url.index("://") + 3
    rest = url[base:]
    spans: list[tuple[int, int]] = []
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    if "@" in tail or authority.count("@") > 1:
        # The user-info holds an unencoded @ / ? or #: it does not parse. Hide all of it.
        return [(base, base + rest.rindex("@"))]
    if "@" in authority:
        userinfo = authority.rsplit("@", 1)[0]
        if ":" in userinfo:
            spans.append((base + userinfo.index(":") + 1, base + len(userinfo)))
    for match in _QUERY_PASSWORD.finditer(tail):
        spans.append((base + end + match.end(1), base + end + match.end()))
    return spans


def password_of(url: str) -> str | None:
    """The (first) password a URL or keyword/value string carries, decoded; None without one.

    For tests and diagnostics only; never shown.
    """
    spans = secret_spans(url)
    if not spans:
        return None
    value = url[spans[0][0] : spans[0][1]]
    if "://" in url:
        return unquote(value)
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:].removesuffix("'"))
    return value


def _comes_from(fragment: str, url: str, spans: list[tuple[int, int]]) -> bool:
    """Whether some occurrence of ``fragment`` in ``url`` overlaps one of ``spans``."""
    found = url.find(fragment)
    while found != -1:
        if any(found < end and found + len(fragment) > begin for begin, end in spans):
            return True
        found = url.find(fragment, found + 1)
    return False


def scrub(text: str, url: str | None = None) -> str:
    """``text`` with every password field in it masked: ``url`` itself wherever it appears,
    any other URL and ``password=`` field, and the quoted fragments of libpq's complaints
    about ``url`` that come from its secret parts.

    Nothing else in the text is touched: a one-letter password does not garble the message.
    """
    spans = secret_spans(url) if url else []
    if url and spans:
        text = text.replace(url, mask_url(url))  # the whole string, found as it is
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    if url and spans:

        def hide(match: re.Match) -> str:
            # libpq quotes the value it could not use; when that value is a piece of the URL
            # overlapping its secret, hide it whole.
            fragment = match.group(1) if match.group(1) is not None else match.group(2)
            if fragment and fragment != MASK and _comes_from(fragment, url, spans):
                quote = match.group(0)[0]
                return f"{quote}{MASK}{quote}"
            return match.group(0)

        text = _QUOTED.sub(hide, text)
    return text
