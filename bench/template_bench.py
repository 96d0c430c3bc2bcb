"""Cost of rendering a 2 KB prompt with 20 substitutions ($var, $expr paths, $hier), once parsed.

Run: PYTHONPATH=. /work/venv/bin/python bench/template_bench.py [--rounds 50] [--reps 200]

Prints, from one run with the variants interleaved round by round (the machine is shared, so
each round sees the same load), the median wall and CPU (process_time) µs per render of:
  - our render once parsed (DictLookup, plain dict of variables): the figure with the target;
  - the engine's shape: variables in a ChainMap of scopes and a lookup with only the three
    HierLookup members (every longest-prefix miss is a KeyError);
  - the floor: the same 20 final values put into the same 2 KB text with str.format and with
    string.Template (no lookups, no conversion: just substitution);
and the first, uncached render (parse + compile + render), with ratios. Target: < 50 µs per
render once parsed.
"""

from __future__ import annotations

import argparse
import statistics
import string
import time
from collections import ChainMap
from collections.abc import Callable, Iterable
from typing import Any

from dad_studio.template import DictLookup, parse, render
from dad_studio.template.compiled import compile_template

FILLER = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "

FORMS = [
    "$var{language}",
    "$var{task}",
    "$var{repo.name}",
    "$var{repo.files[0]}",
    "$var{repo.files[-1]}",
    "$expr{repo.stats.lines}",
    "$expr{repo.stats['words'] > 1000 && language == 'Python'}",
    "$expr{topic ?? 'architecture'}",
    "$expr{repo.files[1]}",
    "$expr{count + 1}",
    "$hier{scan.outcome.tree}",
    "$hier{scan.outcome.total_files}",
    "$hier{focus.outcome.topic}",
    "$expr{$hier{scan}.outcome.total_files > 100}",
    "$var{run_id}",
    "$var{folder}",
    "$expr{repo.name + '-' + run_id}",
    "$hier{sub.inner.outcome.text}",
    "$var{index}",
    "$expr{items[index]}",
]


def build_template() -> str:
    parts: list[str] = []
    for form in FORMS:
        parts.append(FILLER)
        parts.append(form)
    text = "".join(parts) + "\n"
    while len(text) < 2048:
        text += FILLER
    return text


class ProtocolLookup:
    """The engine's shape: only current_path, get_result (KeyError on a miss), element_paths."""

    def __init__(self, inner: DictLookup) -> None:
        self._inner = inner

    @property
    def current_path(self) -> str:
        return self._inner.current_path

    def get_result(self, path: str) -> Any:
        return self._inner.get_result(path)

    def element_paths(self) -> Iterable[str]:
        return self._inner.element_paths()


VARIABLES: dict[str, Any] = {
    "language": "Python",
    "task": "summarise the folder",
    "repo": {"name": "dad", "files": ["a.py", "b.py", "c.py"], "stats": {"lines": 1200, "words": 5000}},
    "count": 41,
    "run_id": "run_001",
    "folder": "/work/src",
    "index": 2,
    "items": ["x", "y", "z"],
}
RESULTS = DictLookup(
    {
        "root.scan": {"outcome": {"tree": "src/\n  a.py\n  b.py", "total_files": 120}},
        "root.focus": {"outcome": {"topic": "tests"}},
        "root.sub.inner": {"outcome": {"text": "inner text"}},
    },
    "root",
)


def engine_shaped_variables() -> ChainMap[str, Any]:
    """Loop variables, component variables, built-ins: how the engine passes scopes."""
    loop = {"index": VARIABLES["index"]}
    builtins = {"run_id": VARIABLES["run_id"], "run_dir": "/tmp/run", "element_id": "write"}
    component = {k: v for k, v in VARIABLES.items() if k not in loop and k not in builtins}
    return ChainMap(loop, component, builtins)


def floors(template: str) -> tuple[Callable[[], str], Callable[[], str]]:
    """str.format and string.Template over the same text with the 20 final values."""
    rendered = [render(form, VARIABLES, results=RESULTS) for form in FORMS]
    fmt_text, tpl_text = template.replace("{", "{{").replace("}", "}}"), template.replace("$", "$$")
    for i, form in enumerate(FORMS):
        fmt_text = fmt_text.replace(form.replace("{", "{{").replace("}", "}}"), f"{{v{i}}}", 1)
        tpl_text = tpl_text.replace(form.replace("$", "$$"), f"${{v{i}}}", 1)
    values = {f"v{i}": v for i, v in enumerate(rendered)}
    expected = render(template, VARIABLES, results=RESULTS)
    substitute = string.Template(tpl_text).substitute
    assert fmt_text.format_map(values) == expected and substitute(values) == expected
    return (lambda: fmt_text.format_map(values)), (lambda: substitute(values))


def uncached(template: str) -> float:
    parse.cache_clear()
    compile_template.cache_clear()
    start = time.perf_counter()
    render(template, VARIABLES, results=RESULTS)
    return (time.perf_counter() - start) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    template = build_template()
    first_ever = uncached(template)
    first = statistics.median(uncached(template) for _ in range(20))
    chained, protocol = engine_shaped_variables(), ProtocolLookup(RESULTS)
    assert render(template, chained, results=protocol) == render(template, VARIABLES, results=RESULTS)
    fmt, tpl = floors(template)
    variants: dict[str, Callable[[], str]] = {
        "ours, once parsed": lambda: render(template, VARIABLES, results=RESULTS),
        "ours, engine shape (ChainMap, KeyError lookup)": lambda: render(template, chained, results=protocol),
        "floor: str.format_map": fmt,
        "floor: string.Template": tpl,
    }
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(args.reps):
                fn()
            wall[name].append((time.perf_counter() - start) * 1e6 / args.reps)
            cpu[name].append((time.process_time() - cpu_start) * 1e6 / args.reps)

    ours_wall, ours_cpu = statistics.median(wall["ours, once parsed"]), statistics.median(cpu["ours, once parsed"])
    floor_cpu = statistics.median(cpu["floor: str.format_map"])
    print(f"template: {len(template)} chars, {len(FORMS)} substitutions; {args.rounds} rounds x {args.reps} renders")
    print(f"{'variant':48} {'wall µs':>9} {'CPU µs':>9} {'CPU vs ours':>12} {'CPU vs floor':>13}")
    for name in variants:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:48} {w:9.1f} {c:9.1f} {c / ours_cpu:11.2f}x {c / floor_cpu:12.1f}x")
    print(f"{'first render, uncached (median of 20)':48} {first:9.1f} {'':>9} {first / ours_wall:11.1f}x")
    print(f"{'first render, uncached (very first)':48} {first_ever:9.1f}")
    print(
        f"target < 50 µs once parsed: {'met' if ours_wall < 50 and ours_cpu < 50 else 'NOT met'} "
        f"(wall {ours_wall:.1f}, CPU {ours_cpu:.1f})"
    )


if __name__ == "__main__":
    main()
