"""A HIS's HL7 listener for the tests: a real MLLP server (``hl7.mllp.start_hl7_server``)
on a free local port that records every message it reads and answers each as its script
says, in order (then AA):

* ``"AA"``, ``"AE"``, ``"AR"`` — that acknowledgement; ``("AE" | "AR", "207")`` with an ERR
  segment carrying that HL7 table 0357 code;
* ``"drop"`` — close the connection without answering;
* ``"silent"`` — read it and say nothing (the sender's timeout runs out);
* ``"other"`` — first an AA for another control id (a late answer), then this one's AA;
* ``"slow"`` — AA after :data:`SLOW_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server

SLOW_SECONDS = 0.05

ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "200": "Unsupported message type",
    "206": "Application record locked",
    "207": "Application internal error",
}


@dataclass
class Received:
    control_id: str
    text: str
    message: Any  # hl7.Message
    answer: str


def ack(control_id: str, code: str, error: str = "", *, n: int = 0) -> str:
    """An original-mode ACK for ``control_id`` (with an ERR when ``error`` is a code)."""
    segments = [
        f"MSH|^~\\&|HIS|H001|GUAHAO|H001|20260710090000+0800||ACK^S12^ACK|ACK{n}|P|2.5.1",
        f"MSA|{code}|{control_id}|{'x | y' if error else ''}".replace(" | ", " \\F\\ "),
    ]
    if error:
        segments.append(f"ERR|||{error}^{ERROR_TEXT.get(error, 'Error')}^HL70357|E||||see log")
    return "\r".join(segments) + "\r"


@dataclass
class FakeHis:
    script: deque[Any] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[HL7StreamWriter] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"mllp://127.0.0.1:{self.port}"

    def answer(self, *actions: Any) -> None:
        """Script the answers to the next messages."""
        self.script.extend(actions)

    async def start(self) -> FakeHis:
        self._server = await start_hl7_server(self._client, "127.0.0.1", 0, encoding="utf-8")
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        if self._server is not None:
            await self._server.wait_closed()

    def accepted(self) -> list[str]:
        """The control ids answered AA, in order, each as often as it was."""
        return [r.control_id for r in self.received if r.answer in ("AA", "other", "slow")]

    async def _client(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                try:
                    message = await reader.readmessage()
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                control_id = str(message.segment("MSH")(10))
                action = self.script.popleft() if self.script else "AA"
                name = action[0] if isinstance(action, tuple) else action
                self.received.append(Received(control_id, str(message), message, name))
                if action == "drop":
                    return
                if action == "silent":
                    continue
                if action == "slow":
                    await asyncio.sleep(SLOW_SECONDS)
                if action == "other":
                    writer.writeblock(ack("GH-late", "AA").encode())
                code, error = action if isinstance(action, tuple) else (action, "")
                if code in ("other", "slow"):
                    code = "AA"
                writer.writeblock(ack(control_id, code, error, n=len(self.received)).encode())
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
