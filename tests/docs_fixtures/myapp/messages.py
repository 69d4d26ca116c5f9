"""Message types of the docs' example application, kept importable for replay."""

from dataclasses import dataclass

from bussdcc import Message


@dataclass(slots=True, frozen=True)
class Hello(Message):
    name: str
