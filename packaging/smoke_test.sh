#!/usr/bin/env bash
# Smoke test of the built app (bash packaging/build.sh first): the studio starts offscreen on an
# example flow, paints and quits (DAD_STUDIO_SMOKE=1); then the same executable validates and runs
# the examples headless and scaffolds a project. Prints what it checked; exit 0 only if all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=${APP:-packaging/dist/dad-studio/dad-studio}
[ -x "$APP" ] || { echo "no app at $APP: run bash packaging/build.sh first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Keep the user's config and Qt settings out of it.
export DAD_STUDIO_CONFIG_DIR="$tmp/config" XDG_CONFIG_HOME="$tmp/xdg"

echo "== bundle holds the studio's resources where dad_studio/ui/resources.py looks"
res="$(dirname "$APP")/_internal/dad_studio/_resources"
for f in icons/app.svg icons/ai_model.svg themes/dark.qss themes/light.qss; do
  [ -f "$res/$f" ] || { echo "FAILED: missing $res/$f"; exit 1; }
done
echo "   $(find "$res" -type f | wc -l) files in $res"

echo "== studio, offscreen, on projects/repo_digest"
start=$(date +%s.%N)
shot=packaging/dist/smoke_studio.png   # what the bundled studio painted, to look at
rm -f "$shot"
QT_QPA_PLATFORM=offscreen DAD_STUDIO_SMOKE="$shot" timeout 120 "$APP" projects/repo_digest/flows/repo_digest.dad.json \
  >"$tmp/studio.out" 2>"$tmp/studio.err" || { cat "$tmp/studio.out" "$tmp/studio.err"; echo "FAILED: studio"; exit 1; }
cat "$tmp/studio.out"
grep -q "^dad-studio smoke: ok, .*(3 nodes)" "$tmp/studio.out" || { cat "$tmp/studio.err"; echo "FAILED: no smoke line"; exit 1; }
[ "$(stat -c %s "$shot")" -gt 20000 ] || { echo "FAILED: $shot missing or blank"; exit 1; }
echo "   painted $shot ($(($(stat -c %s "$shot") / 1024)) KB)"
echo "   up and closed in $(python3 -c "import time; print(round(time.time() - $start, 1))") s"

echo "== validate every example flow"
for flow in projects/*/flows/*.dad.json; do "$APP" validate "$flow"; done

echo "== run projects/repo_digest headless"
"$APP" run projects/repo_digest/flows/repo_digest.dad.json --run-root "$tmp/runs" --non-interactive --json \
  >"$tmp/run.json" 2>"$tmp/run.err" || { cat "$tmp/run.err"; echo "FAILED: run"; exit 1; }
run_dir=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"]=="completed", d; print(d["run_dir"])' "$tmp/run.json")
grep -q "src/" "$run_dir/digest.md" && grep -q "^# Repository digest" "$run_dir/digest.md"
echo "   completed; digest.md: $(wc -l <"$run_dir/digest.md") lines"

echo "== run projects/fan_out headless (for_each over a subflow ref)"
"$APP" run projects/fan_out/flows/fan_out.dad.json --run-root "$tmp/runs" --non-interactive --json >"$tmp/fan.json" 2>/dev/null
run_dir=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"]=="completed", d; print(d["run_dir"])' "$tmp/fan.json")
echo "   completed; $(ls "$run_dir/topics" | wc -l) topic files"

echo "== new (project templates are in the bundle)"
"$APP" new "$tmp/proj" >/dev/null
"$APP" run "$tmp/proj/flows/main.dad.json" --run-root "$tmp/runs" --non-interactive >/dev/null 2>&1
echo "   scaffolded and ran $tmp/proj"
echo "smoke test passed"
