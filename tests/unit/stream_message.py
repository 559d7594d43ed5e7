"""A commands-stream message as the engine's intake reads it: its bytes, headers and the ack
subject that carries its stream sequence and timestamp (pure tests need no server for that)."""

from dataclasses import dataclass

AT = 1_800_000_000_000_000_000  # the stream timestamp the messages carry (int ns)


@dataclass
class FakeMessage:
    data: bytes
    seq: int = 7
    at: int = AT
    headers: dict | None = None

    @property
    def reply(self) -> str:
        return f"$JS.ACK.QD_CMD.engine.1.{self.seq}.3.{self.at}.0"
