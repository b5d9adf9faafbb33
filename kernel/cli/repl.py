"""The machinery of ``mega console``: the app's loop, the shell's namespace, the stdlib
console with top-level await, IPython on the app's loop, and ``-c``."""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import contextlib
import inspect
import sys
import threading
import traceback
import types
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mega.app import App

#: the app folders whose classes are put in the shell's namespace, by the name they have there
FOLDERS = (("models", "model"), ("jobs", "job"), ("services", "service"))


def namespace(app: App) -> dict[str, Any]:
    """What the shell starts with: ``app``, ``ctx``, ``asyncio`` and every class defined in the
    project's ``apps/*/models``, ``apps/*/jobs`` and ``apps/*/services`` modules."""
    from mega import discover_classes

    names: dict[str, Any] = {"__name__": "__console__", "__doc__": None, "asyncio": asyncio}
    for folder, what in FOLDERS:
        for cls in discover_classes(app.config.root, folder, _anything, what=what):
            # two apps defining the same name: the first (in path order) keeps it
            names.setdefault(cls.__name__, cls)
    names["app"] = app
    names["ctx"] = app.ctx(console=True)
    return names


def _anything(_cls: type) -> bool:
    return True


def banner(app: App, names: dict[str, Any]) -> str:
    own = sorted(k for k, v in names.items() if isinstance(v, type))
    return (
        f"mega console: {app.config.app.name} booted as a tool (no jobs consumed, no schedule "
        "fires)\n"
        f"names: app, ctx, asyncio{', ' if own else ''}{', '.join(own)}\n"
        "await works at the top level; Ctrl-D or exit() leaves (the app shuts down)"
    )


class AppLoop:
    """The app's event loop, running in a thread of its own while the shell reads input in
    the main thread (so Ctrl-C interrupts the statement running, not the loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mega-console-loop", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop and wait for it; Ctrl-C cancels it."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt from None

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def _booted(app: App, run: Any) -> None:
    run(app.boot())


def _shutdown(app: App, run: Any) -> None:
    try:
        run(app.shutdown())
    except Exception as exc:  # the shell's work is done: say what failed, then leave
        typer.echo(f"the app's shutdown failed: {exc}", err=True)


class AsyncConsole(code.InteractiveConsole):
    """``code.InteractiveConsole`` compiling with top-level await; a statement that awaits
    runs on the app's loop (as ``python -m asyncio`` does)."""

    def __init__(self, names: dict[str, Any], loop: AppLoop) -> None:
        super().__init__(names, filename="<console>")
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.app_loop = loop

    def runcode(self, code: types.CodeType) -> None:
        func = types.FunctionType(code, self.locals)
        try:
            result = func()
            if inspect.iscoroutine(result):
                self.app_loop.run(result)
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()


def asyncio_console(app: App, names: dict[str, Any]) -> None:
    with contextlib.suppress(ImportError):  # line editing and history for input()
        import readline  # noqa: F401
    loop = AppLoop()
    loop.start()
    try:
        _booted(app, loop.run)
        console = AsyncConsole(names, loop)
        with contextlib.suppress(SystemExit):  # exit(): leave, shut the app down below
            console.interact(banner=banner(app, names), exitmsg="")
        _shutdown(app, loop.run)
    finally:
        loop.stop()


def has_ipython() -> bool:
    import importlib.util

    return importlib.util.find_spec("IPython") is not None


def ipython(app: App, names: dict[str, Any]) -> None:  # pragma: no cover - needs IPython
    """IPython with ``%autoawait`` running each awaiting cell on the app's loop (the loop runs
    while a cell runs; in tool mode nothing of the app's runs in between)."""
    from IPython.terminal.embed import InteractiveShellEmbed  # type: ignore[import-not-found, unused-ignore]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(app.boot())
        shell = InteractiveShellEmbed(banner1=banner(app, names) + "\n", exit_msg="")
        shell.autoawait = True
        shell.loop_runner = loop.run_until_complete
        shell(local_ns=names, global_ns=names)
        try:
            loop.run_until_complete(app.shutdown())
        except Exception as exc:
            typer.echo(f"the app's shutdown failed: {exc}", err=True)
    finally:
        loop.close()


def run_command(app: App, names: dict[str, Any], source: str) -> int:
    """``mega console -c``: run ``source`` on the booted app; print the value of a final
    expression (its repr, as the shell would); 0, or 1 after printing the error."""
    try:
        body, last = _compile(source)
    except SyntaxError:
        traceback.print_exc(limit=0)
        return 1

    async def main() -> int:
        async with app:
            try:
                await _execute(body, names)
                if last is not None:
                    value = await _execute(last, names)
                    if value is not None:
                        typer.echo(repr(value))
            except Exception as exc:
                _print_error(exc)
                return 1
        return 0

    return asyncio.run(main())


def _compile(source: str) -> tuple[types.CodeType, types.CodeType | None]:
    """The statements, and the final expression (if the code ends with one) on its own."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = ast.parse(source, "<console -c>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        final = tree.body.pop()
        assert isinstance(final, ast.Expr)
        last = compile(ast.Expression(final.value), "<console -c>", "eval", flags=flags)
    return compile(tree, "<console -c>", "exec", flags=flags), last


async def _execute(compiled: types.CodeType, names: dict[str, Any]) -> Any:
    result = eval(compiled, names)
    if compiled.co_flags & inspect.CO_COROUTINE:  # the code awaits: it made a coroutine
        result = await result
    return result


def _print_error(exc: BaseException) -> None:
    from mega.errors import MegaError

    from ._errors import report

    if isinstance(exc, MegaError):
        report(exc)
        return
    # the user's code only: drop this module's frames
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(type(exc), exc, tb)))
