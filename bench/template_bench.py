"""Cost of rendering a 2 KB prompt with 20 substitutions ($var, $expr paths, $hier), once parsed.

Run: PYTHONPATH=. python bench/template_bench.py
Prints the median µs per render (parse cached) over many repetitions, and the first uncached
parse + render for comparison. Target: under 50 µs per render once parsed.
"""

from __future__ import annotations

import statistics
import time

from dad_studio.template import DictLookup, parse, render

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


def main() -> None:
    template = build_template()
    variables = {
        "language": "Python",
        "task": "summarise the folder",
        "repo": {"name": "dad", "files": ["a.py", "b.py", "c.py"], "stats": {"lines": 1200, "words": 5000}},
        "count": 41,
        "run_id": "run_001",
        "folder": "/work/src",
        "index": 2,
        "items": ["x", "y", "z"],
    }
    results = DictLookup(
        {
            "root.scan": {"outcome": {"tree": "src/\n  a.py\n  b.py", "total_files": 120}},
            "root.focus": {"outcome": {"topic": "tests"}},
            "root.sub.inner": {"outcome": {"text": "inner text"}},
        },
        "root",
    )
    start = time.perf_counter()
    first = render(template, variables, results=results)
    first_us = (time.perf_counter() - start) * 1e6
    parse.cache_clear()
    start = time.perf_counter()
    parse(template)
    parse_us = (time.perf_counter() - start) * 1e6

    samples: list[float] = []
    cpu_samples: list[float] = []  # CPU time: less disturbed by other processes on a busy machine
    for _ in range(50):
        n = 200
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(n):
            render(template, variables, results=results)
        samples.append((time.perf_counter() - start) * 1e6 / n)
        cpu_samples.append((time.process_time() - cpu_start) * 1e6 / n)
    median = statistics.median(samples)
    print(f"template: {len(template)} chars, {len(FORMS)} substitutions, rendered {len(first)} chars")
    print(f"first render (uncached parse + render): {first_us:8.1f} µs")
    print(f"parse alone (uncached):                 {parse_us:8.1f} µs")
    print(f"render once parsed (median of 50x200):  {median:8.1f} µs  (min {min(samples):.1f}, max {max(samples):.1f})")
    print(f"render once parsed, CPU time (median):  {statistics.median(cpu_samples):8.1f} µs")
    print(f"target < 50 µs: {'met' if median < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
