"""A minimal IMAP4rev1 server over a real loopback socket: the commands the poller uses, nothing more.

It speaks to the standard library's imaplib client unchanged, so the poller's wire handling is real;
the store is a dict of UID -> (raw mail, flags). Sequence numbers equal UIDs (nothing is expunged).
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.conftest import free_port


@dataclass
class Mailbox:
    user: str = "desk"
    password: str = "secret"
    messages: dict[int, tuple[bytes, set[str]]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, raw: bytes) -> int:
        with self.lock:
            uid = max(self.messages, default=0) + 1
            self.messages[uid] = (raw, set())
            return uid

    def seen(self, uid: int) -> bool:
        return "\\Seen" in self.messages[uid][1]


def _handler(box: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, line: bytes) -> None:
            self.wfile.write(line + b"\r\n")

        def handle(self) -> None:
            self.send(b"* OK fake IMAP ready")
            authed = False
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                box.commands.append(f"{command} {args}".strip())
                if command == "CAPABILITY":
                    self.send(b"* CAPABILITY IMAP4rev1")
                elif command == "LOGIN":
                    user, password = (a.strip('"') for a in args.split(" ", 1))
                    if (user, password) != (box.user, box.password):
                        self.send(f"{tag} NO [AUTHENTICATIONFAILED] bad credentials".encode())
                        continue
                    authed = True
                elif command == "LOGOUT":
                    self.send(b"* BYE")
                    self.send(f"{tag} OK LOGOUT completed".encode())
                    return
                elif not authed:
                    self.send(f"{tag} BAD log in first".encode())
                    continue
                elif command == "SELECT":
                    self.send(f"* {len(box.messages)} EXISTS".encode())
                    self.send(f"{tag} OK [READ-WRITE] SELECT completed".encode())
                    continue
                elif command == "UID":
                    self.uid(tag, args)
                    continue
                elif command != "NOOP":
                    self.send(f"{tag} BAD unsupported".encode())
                    continue
                self.send(f"{tag} OK {command} completed".encode())

        def uid(self, tag: str, args: str) -> None:
            sub, _, rest = args.partition(" ")
            sub = sub.upper()
            with box.lock:
                if sub == "SEARCH" and rest.upper() == "UNSEEN":
                    unseen = [
                        str(u) for u, (_raw, flags) in sorted(box.messages.items()) if "\\Seen" not in flags
                    ]
                    self.send(("* SEARCH " + " ".join(unseen)).rstrip().encode())
                elif sub == "FETCH" and "BODY.PEEK[]" in rest.upper():
                    uid = int(rest.split(" ", 1)[0])
                    raw, _flags = box.messages[uid]
                    self.wfile.write(
                        f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n"
                    )
                elif sub == "STORE":
                    match = re.match(r"(\d+) \+FLAGS \((.*)\)", rest)
                    if match is None:
                        self.send(f"{tag} BAD bad STORE".encode())
                        return
                    uid = int(match.group(1))
                    box.messages[uid][1].update(match.group(2).split())
                    flags = " ".join(sorted(box.messages[uid][1]))
                    self.send(f"* {uid} FETCH (UID {uid} FLAGS ({flags}))".encode())
                else:
                    self.send(f"{tag} BAD unsupported UID command".encode())
                    return
            self.send(f"{tag} OK UID {sub} completed".encode())

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def fake_imap(box: Mailbox) -> Iterator[int]:
    port = free_port()
    server = _Server(("127.0.0.1", port), _handler(box))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
