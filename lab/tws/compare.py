#!/usr/bin/env python3
"""Compare what logtriage reports today with each TWS fixture's expect.toml.

    lab/tws/compare.py [--bin target/debug/logtriage] [--markdown] [FIXTURE ...]

Runs `logtriage scan <fixture> --format json` (with the fixture's `paths` and
`args`) on every fixtures/recorded/tws-*/ and prints, per fixture, the
expected incidents (rule@app), what the scan reported, and whether they
agree (`?` rules, proposals with no rule yet, count as expected-but-absent).
A lab aid for the report, not the test: tests/recorded.rs asserts the set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "fixtures" / "recorded"


def scan(binary: str, fixture: Path, expect: dict) -> list[dict]:
    paths = expect.get("paths", ["."])
    cmd = [binary, "scan", *paths, *expect.get("args", []), "--format", "json", "--fail-on", "never"]
    out = subprocess.run(cmd, cwd=fixture, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{fixture.name}: {out.stderr.strip()}")
    return json.loads(out.stdout)["incidents"]


def label(rule: str, app: str | None, timed: bool | None = None) -> str:
    text = f"{rule}@{app}" if app else rule
    if timed is False:
        text += " (untimed)"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / "target" / "debug" / "logtriage"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("fixtures", nargs="*")
    args = ap.parse_args()
    dirs = [FIXTURES / f for f in args.fixtures] if args.fixtures else sorted(FIXTURES.glob("tws-*"))
    agree = 0
    rows = []
    for d in dirs:
        if not (d / "expect.toml").exists():
            continue
        expect = tomllib.loads((d / "expect.toml").read_text())
        want = sorted(label(i["rule"], i.get("app")) for i in expect.get("incident", []))
        got_inc = scan(args.bin, d, expect)
        got = sorted(label(i["rule"], i.get("app")) for i in got_inc)
        got_show = sorted(label(i["rule"], i.get("app"), i.get("first_seen") is not None) for i in got_inc)
        want_real = sorted(w for w in want if not w.startswith("?"))
        ok = want_real == got and len(want_real) == len(want)
        agree += ok
        rows.append((d.name, want, got_show, ok))
    if args.markdown:
        print("| fixture | expected | logtriage today | agree |")
        print("|---|---|---|---|")
        for name, want, got, ok in rows:
            print(f"| {name} | {', '.join(want) or '(none)'} | {', '.join(got) or '(none)'} | {'yes' if ok else 'no'} |")
    else:
        for name, want, got, ok in rows:
            print(f"{'OK ' if ok else 'BAD'} {name}\n    expected: {', '.join(want) or '(none)'}\n    reported: {', '.join(got) or '(none)'}")
    print(f"\n{agree} of {len(rows)} fixtures agree")


if __name__ == "__main__":
    main()
