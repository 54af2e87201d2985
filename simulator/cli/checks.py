"""What the commands check before they run, and how they say no: one line, never a traceback.

Misuse of an option is click's usage error, said on one `Error:` line that ends with where the
help is (exit 2; click's own form adds a usage block, which `OneLineErrors` drops); a problem of
the environment (a busy port, an unreachable target) is `Failed` (one `Error:` line, exit 1
unless the command documents another code).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click

PORT = click.IntRange(0, 65535)


class OneLineErrors(click.Group):
    """The command group whose every refusal is one line on stderr: a partner's script or CI log
    shows the mistake itself, not a usage block around it."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            # click returns what a command returns, or the code of a ctx.exit(code)
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:  # `segway-sim` alone: the help
            err.show()
            sys.exit(err.exit_code)
        except click.ClickException as err:
            where = ""
            if isinstance(err, click.UsageError) and err.ctx is not None:
                where = f" (see {err.ctx.command_path} --help)"
            click.echo(f"Error: {err.format_message()}{where}", err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class FiniteRange(click.FloatRange):
    """click's FloatRange, without nan and inf (which pass its comparisons)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Failed(click.ClickException):
    """An environment problem, said on one line of stderr (exit 1; a subclass may say another)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # a wrapped library message stays one line


@contextlib.contextmanager
def bind_errors() -> Iterator[None]:
    """A server that cannot bind its address (busy port, bad host) fails on one line."""
    from simulator.server.runner import CannotListen

    try:
        yield
    except CannotListen as err:
        hint = " (another --port, or 0 for a free one)" if err.in_use else ""
        raise Failed(f"{err}{hint}") from None


class HttpUrl(click.ParamType):
    """An http(s) URL by the control plane's rule (its `Url`, as for a platform's callbackUrl)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from pydantic import TypeAdapter, ValidationError

        from simulator.server.control_models import Url

        try:
            return str(TypeAdapter(Url).validate_python(str(value)))
        except ValidationError as err:
            self.fail(f"{value!r} {err.errors()[0]['msg']}", param, ctx)


URL = HttpUrl()


def simulator_at(base_url: str, failure: type[Failed] = Failed) -> bool:
    """Whether a segway-sim answers at `base_url`; `failure` when nothing answers there."""
    from http.client import HTTPException

    from simulator.contract.target import probe_mock, request

    try:
        request("GET", base_url.rstrip("/") + "/")
    except (OSError, HTTPException) as err:
        raise failure(f"cannot reach {base_url}: {_reason(err)}") from None
    return probe_mock(base_url.rstrip("/"))


def _reason(err: Exception) -> str:
    reason = getattr(err, "reason", None) or err  # urllib wraps the socket's error
    if isinstance(reason, TimeoutError):
        return "no answer (timed out)"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__
