"""The docs' example application as a package: ``bussdcc run myapp:setup``."""

from bussdcc import Process

from .messages import Hello


class Greeter(Process):
    name = "greeter"

    def start(self, ctx):
        ctx.emit(Hello(name="world"))


def setup(runtime):
    runtime.add_process(Greeter())
