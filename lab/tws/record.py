#!/usr/bin/env python3
"""Record TWS lab scenarios: real client libraries under real pm2, against the fake TWS.

    lab/tws/record.py tws-nightly-reset [tws-gateway-down ...] [--only VARIANT ...]

For each scenario `lab/scenarios/<scenario>/` (scenario.toml, tws.script,
expect.toml, optional expect.<variant>.toml and expect.untimed.toml) and each client variant the
scenario lists, it runs one fixture, all of them in parallel (each has its own
loopback address, fake TWS and PM2_HOME):

1. a fake TWS (lab/tws/fake_tws.py) on 127.0.<s>.<v>:<port> playing tws.script;
2. a pm2 daemon with PM2_HOME=/tmp/logtriage-lab/<fixture>/pm2 and the client
   (copied to /tmp/logtriage-lab/<fixture>/app/ so paths in the logs are
   stable) started under it;
3. at the script's `end` step, `pm2 kill` (then the fake TWS stops), and the logs as pm2 wrote them
   copied to fixtures/recorded/<fixture>/ (pm2.log, logs/*.log), with the
   fake TWS's own event log (fake-tws.events), versions.toml, README.md and
   expect.toml (the scenario's template with the app name filled in).

Runs `lab/tws/setup` first when its environment is missing (unless
LAB_SKIP_INSTALL=1). Recorded lines are never edited.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCENARIOS = REPO / "lab" / "scenarios"
FIXTURES = REPO / "fixtures" / "recorded"
LAB_ROOT = Path(os.environ.get("TWS_LAB_ROOT", "/tmp/logtriage-lab"))
ENV = Path(os.environ.get("TWS_LAB_ENV", "/tmp/logtriage-lab/tws-env"))
NPM = ENV / "npm" / "node_modules"
PM2 = NPM / ".bin" / "pm2"

NODE_PORT = 4002  # IB Gateway paper: @stoqey/ib's shipped default
PY_PORT = 7497  # TWS paper: ib_insync / ib_async's default

# Every client variant: what runs under pm2 and how it prints.
#   script: file in lab/tws/clients; lang: node | insync | ibapi
#   args: argv after the script; env: extra environment; time: pm2 --time;
#   json: pm2 log_type json (ecosystem file); server: the fake's max version;
#   untimed: no time anywhere on its lines (IB ibapi's errorTime aside)
VARIANTS: dict[str, dict] = {
    "stoqey": dict(app="tws-bridge", lang="node", script="stoqey-ibapi.js", untimed=True),
    "stoqey-time": dict(app="tws-bridge", lang="node", script="stoqey-ibapi.js", time=True),
    "stoqey-next": dict(app="tws-bridge", lang="node", script="stoqey-next.js", env={"IBAPINEXT_CONSOLE": "1"}),
    "stoqey-next-quiet": dict(app="tws-bridge", lang="node", script="stoqey-next.js"),
    "stoqey-next-time": dict(
        app="tws-bridge", lang="node", script="stoqey-next.js", env={"IBAPINEXT_CONSOLE": "1"}, time=True
    ),
    "stoqey-next-json": dict(
        app="tws-bridge", lang="node", script="stoqey-next.js", env={"IBAPINEXT_CONSOLE": "1"}, json=True
    ),
    "nodeib": dict(app="md-bridge", lang="node", script="node-ib.js", untimed=True),
    "ib-async": dict(app="ib-recorder", lang="insync", script="ib_async_recorder.py", args=["ib_async", "console"]),
    "ib-async-basic": dict(
        app="ib-recorder", lang="insync", script="ib_async_recorder.py", args=["ib_async", "basic"], untimed=True
    ),
    "ib-async-basic-time": dict(
        app="ib-recorder", lang="insync", script="ib_async_recorder.py", args=["ib_async", "basic"], time=True
    ),
    "ib-insync": dict(app="ib-recorder", lang="insync", script="ib_async_recorder.py", args=["ib_insync", "console"]),
    "ibapi": dict(app="ib-recorder", lang="ibapi", script="ibapi_recorder.py", server=200, untimed=True),
    "ibapi-sv176": dict(app="ib-recorder", lang="ibapi", script="ibapi_recorder.py", server=176, untimed=True),
    "ibapi-time": dict(app="ib-recorder", lang="ibapi", script="ibapi_recorder.py", server=200, time=True),
    # Appended, never inserted: a variant's index is part of its fixtures' loopback address.
    "nodeib-time": dict(app="md-bridge", lang="node", script="node-ib.js", time=True),
    "ib-insync-time": dict(
        app="ib-recorder", lang="insync", script="ib_async_recorder.py", args=["ib_insync", "console"], time=True
    ),
}
VARIANT_INDEX = {name: i for i, name in enumerate(VARIANTS)}

LIB_OF = {
    "stoqey-ibapi.js": "@stoqey/ib",
    "stoqey-next.js": "@stoqey/ib",
    "node-ib.js": "ib",
}


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def npm_version(pkg: str) -> str:
    return json.loads((NPM / pkg / "package.json").read_text())["version"]


def py_version(venv: str, dist: str) -> str:
    py = ENV / f"venv-{venv}" / "bin" / "python"
    out = subprocess.run(
        [py, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def versions(variant: dict, server_version: int) -> dict[str, str]:
    v = {
        "pm2": npm_version("pm2"),
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip().lstrip("v"),
    }
    if variant["lang"] == "node":
        pkg = LIB_OF[variant["script"]]
        v[pkg] = npm_version(pkg)
    else:
        venv = variant["lang"]
        v["python"] = subprocess.run(
            [ENV / f"venv-{venv}" / "bin" / "python", "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if venv == "ibapi":
            v["ibapi-stable"] = py_version("ibapi", "ibapi-stable")  # IB's own TWS API Python client
        else:
            lib = variant["args"][0]
            v[lib] = py_version("insync", lib.replace("_", "-"))
    v["fake-tws-max-server-version"] = str(server_version)
    return v


def wait_listening(host: str, port: int, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"fake TWS did not listen on {host}:{port}")


def wait_for_end(events: Path, server: subprocess.Popen, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if "end of script" in events.read_text() or server.poll() is not None:
            return
        time.sleep(0.5)
    raise RuntimeError(f"no `end` within {timeout} s (see {events})")


def pm2_start(variant: dict, lab: Path, env: dict) -> None:
    app_dir = lab / "app"
    script = app_dir / variant["script"]
    if variant["lang"] == "node":
        interpreter = "node"
    else:
        interpreter = str(ENV / f"venv-{variant['lang']}" / "bin" / "python")
    if variant.get("json"):
        eco = lab / "ecosystem.config.cjs"
        app = {
            "name": variant["app"],
            "script": str(script),
            "args": variant.get("args", []),
            "log_type": "json",
            "env": variant.get("env", {}),
        }
        if variant["lang"] != "node":
            app["interpreter"] = interpreter
        eco.write_text("module.exports = {\n  apps: [" + json.dumps(app, indent=2) + "],\n};\n")
        cmd = [str(PM2), "start", str(eco)]
    else:
        cmd = [str(PM2), "start", str(script), "--name", variant["app"]]
        if variant["lang"] != "node":
            cmd += ["--interpreter", interpreter]
        if variant.get("time"):
            cmd.append("--time")
        if variant.get("args"):
            cmd += ["--", *variant["args"]]
    subprocess.run(cmd, env=env, cwd=app_dir, check=True, stdout=subprocess.DEVNULL)


def record(scenario: str, meta: dict, vname: str) -> str:
    variant = VARIANTS[vname]
    sdir = SCENARIOS / scenario
    short = scenario.removeprefix("tws-")
    fixture = f"tws-{vname}-{short}"
    lab = LAB_ROOT / fixture
    if lab.exists():
        subprocess.run([str(PM2), "kill"], env={**os.environ, "PM2_HOME": str(lab / "pm2")}, capture_output=True)
        shutil.rmtree(lab)
    (lab / "app").mkdir(parents=True)
    shutil.copy(HERE / "clients" / variant["script"], lab / "app" / variant["script"])

    host, port = address(meta, vname)
    server_version = variant.get("server", 200)
    events = open(lab / "fake-tws.events", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "fake_tws.py"),
            "--host",
            host,
            "--port",
            str(port),
            "--server-version",
            str(server_version),
            str(sdir / "tws.script"),
        ],
        stderr=events,
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TZ": os.environ.get("TZ", "UTC"),
        "PM2_HOME": str(lab / "pm2"),
        "NODE_PATH": str(NPM),
        "IB_HOST": host,
        "IB_PORT": str(port),
        **variant.get("env", {}),
    }
    try:
        if "startup refuse" not in (sdir / "tws.script").read_text():
            wait_listening(host, port)
        pm2_start(variant, lab, env)
        say(f"{fixture}: running on {host}:{port} until the script's `end`")
        # The script's `at ... end` ends the recording: pm2 (the clients)
        # stops first, then the fake TWS, so no disconnect shows at the end.
        wait_for_end(lab / "fake-tws.events", server, meta["timeout"])
    finally:
        subprocess.run([str(PM2), "kill"], env=env, capture_output=True)
        if server.poll() is None:
            server.terminate()
            server.wait()
        events.close()

    out = FIXTURES / fixture
    if out.exists():
        shutil.rmtree(out)
    (out / "logs").mkdir(parents=True)
    shutil.copy(lab / "pm2" / "pm2.log", out / "pm2.log")
    for f in sorted((lab / "pm2" / "logs").glob("*.log")):
        shutil.copy(f, out / "logs" / f.name)
    shutil.copy(lab / "fake-tws.events", out / "fake-tws.events")
    if variant.get("json"):
        shutil.copy(lab / "ecosystem.config.cjs", out / "ecosystem.config.cjs")
    write_meta(out, scenario, meta, vname)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    say(f"{fixture}: recorded ({size} bytes)")
    return fixture


def negotiated(out: Path) -> str:
    m = re.search(r"server version (\d+)$", (out / "fake-tws.events").read_text(), re.M)
    return m.group(1) if m else "none (never connected)"


def address(meta: dict, vname: str) -> tuple[str, int]:
    """The fixture's fixed loopback address and the port its client uses."""
    host = f"127.0.{10 + meta['index']}.{10 + VARIANT_INDEX[vname]}"
    return host, NODE_PORT if VARIANTS[vname]["lang"] == "node" else PY_PORT


def write_meta(out: Path, scenario: str, meta: dict, vname: str) -> None:
    variant = VARIANTS[vname]
    host, port = address(meta, vname)
    write_versions(out, variant, variant.get("server", 200), scenario)
    write_readme(out, meta, vname, variant, host, port)
    write_expect(out, SCENARIOS / scenario, vname, variant)


def write_versions(out: Path, variant: dict, server_version: int, scenario: str) -> None:
    lines = [f"{k if re.fullmatch(r'[A-Za-z0-9_-]+', k) else json.dumps(k)} = {json.dumps(v)}" for k, v in
             versions(variant, server_version).items()]
    lines.append(f'fake-tws-negotiated-server-version = "{negotiated(out)}"')
    first = (out / "pm2.log").read_text()[:10]
    day = first if re.fullmatch(r"\d{4}-\d{2}-\d{2}", first) else datetime.date.today().isoformat()
    lines.append(f'recorded = "{day}"')
    lines.append(f'script = "lab/scenarios/{scenario}/run"')
    out.joinpath("versions.toml").write_text("\n".join(lines) + "\n")


CLIENT_TEXT = {
    "stoqey-ibapi.js": "@stoqey/ib IBApi with the README's error idiom and an info handler (lab/tws/clients/stoqey-ibapi.js)",
    "stoqey-next.js": "@stoqey/ib IBApiNext (reconnectInterval 10 s, watchdog 30 s) (lab/tws/clients/stoqey-next.js)",
    "node-ib.js": "node-ib (`ib` on npm) with its README's `error --- %s` idiom (lab/tws/clients/node-ib.js)",
    "ib_async_recorder.py": "{lib} with {log} (lab/tws/clients/ib_async_recorder.py)",
    "ibapi_recorder.py": "IB's Python ibapi, default EWrapper.error, logging.basicConfig(level=INFO) (lab/tws/clients/ibapi_recorder.py)",
}


def write_readme(out: Path, meta: dict, vname: str, variant: dict, host: str, port: int) -> None:
    client = CLIENT_TEXT[variant["script"]]
    if variant["script"] == "ib_async_recorder.py":
        lib, style = variant["args"]
        client = client.format(
            lib=lib, log="util.logToConsole()" if style == "console" else "logging.basicConfig(level=INFO)"
        )
    if vname.startswith("stoqey-next"):
        client += (
            "; ConsoleLogger level raised to INFO"
            if variant.get("env", {}).get("IBAPINEXT_CONSOLE")
            else "; `ib.logLevel = LogLevel.INFO` only (the ConsoleLogger stays silent)"
        )
    pm2_mode = "pm2 --time" if variant.get("time") else ("pm2 log_type json" if variant.get("json") else "pm2 default (no time prefix)")
    text = (
        f"# {out.name}\n\n"
        f"{meta['summary']}\n\n"
        f"Client: {client}, app `{variant['app']}` under {pm2_mode}, connecting to the fake TWS "
        f"(lab/tws/fake_tws.py, server version up to {variant.get('server', 200)}, negotiated {negotiated(out)}) "
        f"on {host}:{port}.\n"
        f"Script: `lab/scenarios/{meta['name']}/tws.script`; what the fake TWS did and when: `fake-tws.events`.\n"
    )
    out.joinpath("README.md").write_text(text)


def write_expect(out: Path, sdir: Path, vname: str, variant: dict) -> None:
    # expect.<variant>.toml, else expect.untimed.toml for a client whose
    # lines carry no time at all (a person cannot tell how long anything
    # lasted), else expect.toml.
    path = sdir / f"expect.{vname}.toml"
    if not path.exists() and variant.get("untimed"):
        path = sdir / "expect.untimed.toml"
    if not path.exists():
        path = sdir / "expect.toml"
    if not path.exists():
        say(f"{out.name}: no expect template in {sdir}")
        return
    text = path.read_text()
    # What this particular recording shows beyond the scenario: read from
    # the recorded pm2.log, so the expectation follows what really happened.
    pm2_log = (out / "pm2.log").read_text()
    if "still alive after" in pm2_log:
        text += (HERE / "expect-extra" / "kill-timeout.toml").read_text()
    if variant["lang"] != "node" and "exited with code [1]" in pm2_log:
        text += (HERE / "expect-extra" / "python-crash.toml").read_text()
    text = text.replace("@APP@", variant["app"])
    out.joinpath("expect.toml").write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--only", nargs="*", help="record only these variants")
    ap.add_argument(
        "--meta-only",
        action="store_true",
        help="do not record: rewrite each existing fixture's expect.toml, versions.toml and README.md",
    )
    args = ap.parse_args()
    if not PM2.exists() and os.environ.get("LAB_SKIP_INSTALL") != "1":
        subprocess.run([str(HERE / "setup")], check=True)
    if not PM2.exists():
        raise SystemExit(f"{PM2} is missing: run lab/tws/setup first")
    names = sorted(p.name for p in SCENARIOS.glob("tws-*") if p.is_dir())
    jobs = []
    for scenario in args.scenarios:
        scenario = scenario if scenario.startswith("tws-") else f"tws-{scenario}"
        meta = tomllib.loads((SCENARIOS / scenario / "scenario.toml").read_text())
        meta["name"] = scenario
        meta["index"] = names.index(scenario)
        for vname in meta["variants"]:
            if args.only and vname not in args.only:
                continue
            jobs.append((scenario, meta, vname))
    if args.meta_only:
        for scenario, meta, vname in jobs:
            out = FIXTURES / f"tws-{vname}-{scenario.removeprefix('tws-')}"
            if out.exists():
                write_meta(out, scenario, meta, vname)
        return
    failures = []

    def run(job):
        try:
            record(*job)
        except Exception as e:  # report and go on with the other fixtures
            failures.append(f"{job[0]} {job[2]}: {e!r}")

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
        time.sleep(1)  # stagger pm2 daemon start-ups on a small machine
    for t in threads:
        t.join()
    for f in failures:
        say(f"FAILED {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
