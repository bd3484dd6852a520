"""A servicer whose object comes later: a spare launcher serves gRPC before it knows its VMI.

The zygote's spare starts its server, and the handler dials it, while nobody waits (launcher_main.serve_spare).
When the zygote assigns it a VMI, the spare makes that VMI's Launcher and Migration and hands them to its
deferred servicers (`become`). The handler sends a migration target's first call to the spare it dialled
before it asks the zygote for a launcher (handler/launchers.py, `spawn`): a call that comes before the
spare has its VMI waits until the servicer has its object.
"""
from __future__ import annotations

import asyncio
import inspect


def deferred_class(base: type, impl: type) -> type:
    """A servicer class with every RPC method of the generated servicer `base`, each waiting for its
    instance's object (an `impl`) and then calling that object's method of the same name. A method is an
    async generator where `impl`'s is one: grpc's aio server streams the one and awaits the other."""
    methods = {name: _method(name, inspect.isasyncgenfunction(getattr(impl, name)))
               for name, fn in vars(base).items() if callable(fn) and not name.startswith("_")}
    return type(f"Deferred{impl.__name__}", (Deferred,), methods)


class Deferred:
    """The instance side of a deferred_class: its object, once given."""

    def __init__(self) -> None:
        self.target = None
        self._ready = asyncio.Event()

    def become(self, target) -> None:
        """Serve `target` from now on; the calls waiting for it go on."""
        self.target = target
        self._ready.set()

    async def _target(self):
        await self._ready.wait()
        return self.target


def _method(name: str, streaming: bool):
    if streaming:
        async def stream(self, request, context):
            async for item in getattr(await self._target(), name)(request, context):
                yield item
        stream.__name__ = name
        return stream

    async def call(self, request, context):
        return await getattr(await self._target(), name)(request, context)
    call.__name__ = name
    return call
