"""The oldest supported PostgreSQL major (README "Requirements"), refused through the real
connect path: a stand-in server speaks the wire protocol's startup and reports an old
``server_version``, exactly what libpq reads from a real old server."""

from __future__ import annotations

import socket
import struct
import threading

import psycopg
from click.testing import CliRunner
from projects import BASIC, write_project

from dbkit.cli import main
from dbkit.engine.database import MIN_SERVER_MAJOR

_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _old_server(version: str) -> tuple[int, list[bytes]]:
    """A one-connection server that accepts any login and reports ``version``; returns its
    port and the list it appends every message the client sent after startup to."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            while True:
                (length,) = struct.unpack("!I", _read(conn, 4))
                payload = _read(conn, length - 4)
                if struct.unpack("!I", payload[:4])[0] in (_SSL_REQUEST, _GSSENC_REQUEST):
                    conn.sendall(b"N")
                    continue
                break
            reply = _message(b"R", struct.pack("!I", 0))  # AuthenticationOk
            for key, value in (
                ("server_version", version),
                ("server_encoding", "UTF8"),
                ("client_encoding", "UTF8"),
                ("DateStyle", "ISO, MDY"),
                ("integer_datetimes", "on"),
                ("standard_conforming_strings", "on"),
            ):
                reply += _message(b"S", key.encode() + b"\0" + value.encode() + b"\0")
            reply += _message(b"K", struct.pack("!II", 4242, 1))
            reply += _message(b"Z", b"I")
            conn.sendall(reply)
            conn.settimeout(5)
            try:
                while chunk := conn.recv(4096):
                    received.append(chunk)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], received


def test_a_server_older_than_the_minimum_is_refused_on_connect(tmp_path):
    old = MIN_SERVER_MAJOR - 1
    port, received = _old_server(f"{old}.9")
    url = f"postgresql://app:secret@127.0.0.1:{port}/app?sslmode=disable"
    result = CliRunner().invoke(
        main, ["--project", str(write_project(tmp_path, BASIC)), "--url", url, "status"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"dbkit: error: PostgreSQL {old} is not supported: dbkit needs PostgreSQL "
        f"{MIN_SERVER_MAJOR} or newer (server reports {old}0009) (upgrade the server, or point "
        "dbkit at a newer one with --url)"
    ]
    # Refused before any query: the only message after startup is Terminate.
    assert b"".join(received) in (b"", b"X\x00\x00\x00\x04")


def test_the_stand_in_server_is_accepted_at_the_minimum(tmp_path):
    """The stand-in is what a real server looks like to libpq: at the minimum major it gets
    through the version check (and then fails only because it cannot answer queries)."""
    port, _ = _old_server(f"{MIN_SERVER_MAJOR}.0")
    with psycopg.connect(f"postgresql://app@127.0.0.1:{port}/app?sslmode=disable") as conn:
        assert conn.info.server_version == MIN_SERVER_MAJOR * 10000
