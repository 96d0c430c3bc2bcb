"""`dad-studio run FLOW_FILE ...`: run a flow headless (ARCHITECTURE.md, command line contract).

Exit status: 0 completed; 1 the run failed; 2 bad usage, an invalid flow file (every problem
printed), an unknown previous run or start path, a flow that runs code from an untrusted folder
(refused before anything runs; `--trust` or `dad-studio trust FOLDER`); 3 input was required and
none could be asked for; 130 interrupted. Progress goes to stderr (a live display on a terminal,
plain lines otherwise); `--json` prints one summary object on stdout.

`--var K=V` overrides a variable of the root component for this run (the value is text, or JSON
when the flow declares the variable with a non-text default: `--var n=3` gives the integer 3 if
`n` defaults to a number; `--var n=abc` is refused). Only the root component's variables can be
overridden (an unknown name is refused, exit 2); a subflow's variables are set by its `variables`
setting, which may refer to the root's with `$var{}`. `--secret-var K=V` does the same for a
secret (a token, a password): the run uses the value, its records show `***` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dad_studio.engine import InputRequest, RunResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run a flow file headless", description=__doc__)
    p.add_argument("flow_file", type=Path, help="a *.dad.json file")
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="K=V",
        help="override a variable of the root component (text; JSON when its declared default is not text)",
    )
    p.add_argument(
        "--secret-var",
        action="append",
        default=[],
        metavar="K=V",
        help="like --var, for a secret: the value is used but shows as *** in run.json, events and traces",
    )
    p.add_argument("--input", action="append", default=[], metavar="NODE=JSON", help="static input for a node")
    p.add_argument("--inputs", type=Path, metavar="FILE.json", help="static inputs: {node id or path: input}")
    p.add_argument(
        "--run-root",
        type=Path,
        help="where run folders go (default: the project's run root, <project>/runs; the project is the "
        "folder with dad-studio.json above the flow, else the one holding its flows/ folder, else the flow's folder)",
    )
    p.add_argument("--run-id-prefix", help="prefix of the run id")
    p.add_argument("--previous-run", metavar="RUN_ID", help="continue from this run (with --start-at)")
    p.add_argument("--start-at", metavar="PATH", help="hierarchy path to execute again, with what follows it")
    p.add_argument("--resume", metavar="RUN_ID", help="continue an interrupted or failed run")
    p.add_argument("--durability", choices=("process", "power"), default="process")
    p.add_argument("--non-interactive", action="store_true", help="never prompt; missing input ends with exit 3")
    p.add_argument(
        "--trust",
        action="store_true",
        help="allow command/python nodes and py: expressions for this run (`dad-studio trust FOLDER` remembers)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--no-records", dest="records", action="store_false", help="keep no run folder")
    p.add_argument("--no-telemetry", dest="telemetry", action="store_false", help="write no traces, metrics or logs")
    p.add_argument("--otlp-endpoint", metavar="URL", help="also export traces, metrics and logs to this OTLP/HTTP URL")
    p.add_argument("--log-level", type=_log_level, metavar="LEVEL", help="level of the run's logs (default INFO)")
    p.set_defaults(handler=main)


def _log_level(value: str) -> str:
    import logging

    level = value.upper()
    if level not in logging.getLevelNamesMapping():
        raise argparse.ArgumentTypeError(f"unknown log level {value!r} (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return level


def observability_settings(args: argparse.Namespace) -> dict[str, Any] | None:
    """`--no-telemetry`, `--otlp-endpoint`, `--log-level` as ObservabilitySettings fields (None: defaults)."""
    settings: dict[str, Any] = {}
    if not getattr(args, "telemetry", True):
        settings["enabled"] = False
    if getattr(args, "otlp_endpoint", None):
        settings["otlp_endpoint"] = args.otlp_endpoint
    if getattr(args, "log_level", None):
        settings["log_level"] = args.log_level
    return settings or None


def _usage(message: str) -> int:
    print(f"dad-studio run: {message}", file=sys.stderr)
    return EXIT_USAGE


def _coerce(option: str, name: str, raw: str, declared: Any) -> Any:
    """`--var` values are text when the flow declares the variable with a text default; otherwise
    JSON of the declared default's kind (a number for a number, an object for an object...). A
    variable declared `null` takes JSON when the value is JSON, else the text as given."""
    if isinstance(declared, str):
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        if declared is None:
            return raw
        raise ValueError(
            f"{option} {name}: {raw!r} is not JSON ({exc.msg}); {name} defaults to {_kind(declared)} {declared!r}"
        ) from None
    if declared is None or _compatible(value, declared):
        return value
    raise ValueError(
        f"{option} {name}: {raw!r} is {_kind(value)}, but {name} defaults to {_kind(declared)} {declared!r}"
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "text"
    return "null" if value is None else type(value).__name__


def _compatible(value: Any, declared: Any) -> bool:
    if isinstance(declared, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(declared, bool)
    if isinstance(declared, int | float):
        return isinstance(value, int | float) and (isinstance(declared, float) or isinstance(value, int))
    return isinstance(value, type(declared))


def _root_variables(component: Any, option: str, items: list[str]) -> dict[str, Any]:
    """`--var` / `--secret-var` pairs, checked against the root component's variables."""
    declared: dict[str, Any] = component.variables
    out: dict[str, Any] = {}
    for name, raw in _parse_pairs(items, option).items():
        if name not in declared:
            known = ", ".join(declared) or "(none)"
            raise ValueError(f"{option} {name}: {component.id or 'root'} has no such variable; its variables: {known}")
        out[name] = _coerce(option, name, raw, declared[name])
    return out


def _parse_pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(args: argparse.Namespace) -> int:
    from dad_studio.fileformat import load_flow

    flow_path: Path = args.flow_file
    if args.resume and (args.previous_run or args.start_at):
        return _usage("--resume cannot be combined with --previous-run / --start-at")
    if bool(args.previous_run) != bool(args.start_at):
        return _usage("--previous-run and --start-at go together")
    loaded = load_flow(flow_path)
    if loaded.component is None or loaded.errors:
        for problem in loaded.problems:
            print(problem.format(flow_path), file=sys.stderr)
        if not loaded.problems:
            print(f"{flow_path}: cannot be loaded", file=sys.stderr)
        return EXIT_USAGE
    for problem in loaded.warnings:
        print(problem.format(flow_path), file=sys.stderr)
    component = loaded.component
    from dad_studio.engine.trust import code_uses, is_trusted, refusal_message

    trusted = bool(args.trust) or is_trusted(flow_path)
    if not trusted:
        uses = code_uses(component, flow_path=flow_path)
        if uses:
            print(f"dad-studio run: {refusal_message(flow_path, uses)}", file=sys.stderr)
            return EXIT_USAGE
    try:
        variables = _root_variables(component, "--var", args.var)
        secret_variables = _root_variables(component, "--secret-var", args.secret_var)
        variables.update(secret_variables)
        inputs: dict[str, Any] = {}
        if args.inputs is not None:
            data = json.loads(args.inputs.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"{args.inputs} must hold a JSON object (node id or path -> input)")
            inputs.update(data)
        for node, raw in _parse_pairs(args.input, "--input").items():
            try:
                inputs[node] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--input {node}: not JSON ({exc.msg}); quote text as '\"text\"'")
    except (ValueError, OSError) as exc:
        return _usage(str(exc))
    try:
        source = _unchanged_source(loaded)
        return asyncio.run(
            _run(args, component, flow_path.resolve(), variables, set(secret_variables), inputs, trusted, source)
        )
    except KeyboardInterrupt:
        print("dad-studio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _unchanged_source(loaded: Any) -> bytes | None:
    """The file's bytes, when they are what was loaded (no migration rewrote the document): the run's
    snapshot is then the file itself, and `flow_sha256` the file's own hash."""
    if loaded.migrated_from is not None:
        return None
    source: bytes | None = loaded.source_bytes
    return source


async def _run(
    args: argparse.Namespace,
    component: Any,
    flow_path: Path,
    variables: dict[str, Any],
    secret_variables: set[str],
    inputs: dict[str, Any],
    trusted: bool,
    source: bytes | None,
) -> int:
    from dad_studio.engine import ContinuationError, FlowRunner, RunContext, Status
    from dad_studio.fileformat.project import ProjectError, project_dirs

    try:  # the studio's rule: dad-studio.json, else the folder holding flows/, else the flow's folder
        project_root, run_root = project_dirs(flow_path)
    except ProjectError as exc:
        return _usage(str(exc))
    rc = RunContext(
        root_component_id=component.id or "root",
        project_root=project_root,
        run_root=args.run_root if args.run_root is not None else run_root,
        previous_run_id=args.previous_run or args.resume,
        start_hierarchy_path=args.start_at,
        resume=args.resume,
        inputs=inputs,
        variables=variables,
        secret_variables=secret_variables,
        durability=args.durability,
        records=args.records,
        trusted=trusted,
        flow_path=flow_path,
        flow_source=source,
        observability_settings=observability_settings(args),
    )
    try:
        rc.setup_run(run_id_prefix=args.run_id_prefix)
    except ValueError as exc:
        return _usage(str(exc))
    progress = make_progress(sys.stderr)
    interactive = not args.non_interactive and sys.stdin.isatty()
    if interactive:
        rc.register_node_input_handler(TerminalInput(progress).handle)
    runner = FlowRunner(component, rc)
    try:
        with progress:
            async with runner.iter() as run:
                async for event in run:
                    progress.on_event(event)
    except ContinuationError as exc:
        return _usage(str(exc))
    except ValueError as exc:  # definition the scheduler refuses (cycle, dangling edge)
        return _usage(str(exc))
    except asyncio.CancelledError:
        print("dad-studio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        # The run returns before its index rows are written and the index connection closed (its WAL
        # checkpoint); the command is over only when nothing touches the run root any more (a caller
        # may move or delete it next).
        await runner.aclosed()
    result = runner.result
    if result is None:
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    progress.summary(result)
    if result.status is Status.COMPLETED:
        return EXIT_OK
    if result.status is Status.CANCELLED:
        return EXIT_INTERRUPTED
    if result.input_unavailable:
        for path in result.input_unavailable:
            print(f"dad-studio: input required by {path} and none could be asked for", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_FAILED


# -- progress on stderr --------------------------------------------------------------------------


class PlainProgress:
    """One line per settled element; for logs, pipes and CI."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def pause(self) -> None:
        """Called before prompting on the terminal."""

    def resume(self) -> None:
        """Called after prompting."""

    def line(self, event: dict[str, Any]) -> str | None:
        etype, path = event["type"], event["path"]
        if etype == "run_started":
            return f"run {event['run_id']} started"
        if etype == "node_completed":
            text = f"{event['status']:>9}  {path}  ({event.get('duration_ms') or 0:.0f} ms)"
            error = event.get("error")
            return f"{text}: {error['message']}" if error else text
        if etype == "node_loaded":
            return f"{'loaded':>9}  {path}"
        if etype == "node_skipped":
            return f"{'skipped':>9}  {path}: {event['reason']}"
        if etype == "node_input_required":
            return f"{'waiting':>9}  {path}: input required"
        return None

    def on_event(self, event: dict[str, Any]) -> None:
        text = self.line(event)
        if text is not None:
            print(text, file=self.stream)

    def summary(self, result: RunResult) -> None:
        counts: dict[str, int] = {}
        for status in result.nodes.values():
            counts[status] = counts.get(status, 0) + 1
        where = f" in {result.run_dir}" if result.run_dir else ""
        tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"run {result.run_id} {result.status.value}{where} ({tally})", file=self.stream)


class LiveProgress(PlainProgress):
    """A rich live display on a terminal: the running elements and the tally, plus settled lines."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.live = Live(console=self.console, refresh_per_second=8, transient=True)
        self.running: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def pause(self) -> None:
        self.live.stop()

    def resume(self) -> None:
        self.live.start()

    def on_event(self, event: dict[str, Any]) -> None:
        from rich.text import Text

        etype, path = event["type"], event["path"]
        if etype == "node_started":
            self.running[path] = event["node_type"]
        elif etype in ("node_completed", "node_loaded", "node_skipped"):
            self.running.pop(path, None)
            status = event.get("status", "skipped" if etype == "node_skipped" else "completed")
            self.counts[status] = self.counts.get(status, 0) + 1
        text = self.line(event)
        if text is not None and etype != "node_loaded":
            self.console.print(Text(text, style="red" if "failed" in text[:10] else ""))
        tally = "  ".join(f"{s}: {n}" for s, n in sorted(self.counts.items()))
        running = ", ".join(list(self.running)[:6]) + (" ..." if len(self.running) > 6 else "")
        self.live.update(Text(f"{tally}\nrunning: {running or '-'}", style="dim"))


def make_progress(stream: IO[str]) -> PlainProgress:
    return LiveProgress(stream) if stream.isatty() else PlainProgress(stream)


# -- input on the terminal -----------------------------------------------------------------------


class TerminalInput:
    """Answers input requests by asking on the terminal: typed fields with their defaults.

    One question at a time: branches that wait for input together queue on a lock (the terminal
    has one stdin; two threads in input() at once interleave prompts and steal each other's
    answers). A mistyped answer (bad JSON, a field of the wrong type) is asked again."""

    def __init__(self, progress: PlainProgress, prompt: Callable[[str], str] = input) -> None:
        self.progress = progress
        self.prompt = prompt
        """Reads one line after showing its argument (`input`; tests pass a fake)."""
        self._lock: asyncio.Lock | None = None

    async def handle(self, event: InputRequest) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()  # made in the run's loop
        async with self._lock:
            await self._handle(event)

    async def _ask(self, text: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, self.prompt, text)

    async def _handle(self, event: InputRequest) -> None:
        self.progress.pause()
        try:
            request = event.request
            print(f"\n{event.hier_path} needs input. {request.get('prompt') or ''}", file=sys.stderr)
            fields = request.get("fields")
            if isinstance(fields, dict) and fields:
                answer = {}
                for name, spec in fields.items():
                    answer[name] = await self._ask_field(name, spec if isinstance(spec, dict) else {})
                event.input = answer
            else:
                event.input = await self._ask_json()
            event.handled = True
            event.source = "cli"
        finally:
            self.progress.resume()

    async def _ask_json(self) -> Any:
        while True:
            raw = await self._ask("input (JSON): ")
            if not raw.strip():
                return None
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                print(f'  not JSON ({exc.msg} at column {exc.colno}); quote text as "text"', file=sys.stderr)

    async def _ask_field(self, name: str, spec: dict[str, Any]) -> Any:
        kind = spec.get("type", "string")
        default = spec.get("default")
        choices = spec.get("choices")
        hint = f" {choices}" if choices else ""
        shown = f" [{default}]" if default is not None else ""
        while True:
            raw = await self._ask(f"  {name} ({kind}){hint}{shown}: ")
            if not raw and default is not None:
                return default
            try:
                return _convert(raw, kind, choices)
            except ValueError as exc:
                print(f"  {exc}", file=sys.stderr)


def _convert(raw: str, kind: str, choices: list[Any] | None) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
    if kind == "boolean":
        low = raw.strip().lower()
        if low in ("y", "yes", "true", "1"):
            return True
        if low in ("n", "no", "false", "0"):
            return False
        raise ValueError("answer yes or no")
    if kind == "choice" and choices is not None:
        for choice in choices:
            if str(choice) == raw:
                return choice
        raise ValueError(f"choose one of {', '.join(map(str, choices))}")
    return raw
