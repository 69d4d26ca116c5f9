"""Messages of the console plugin."""

from dataclasses import dataclass

from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class ConsoleDropped(Message):
    """Written into the console output (not emitted) where events were lost.

    ``count`` events were dropped since the previous notice because the output did not keep
    up and the buffer of ``buffer`` events was full.
    """

    severity = Severity.WARNING

    count: int
    buffer: int
