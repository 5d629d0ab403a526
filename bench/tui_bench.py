#!/usr/bin/env python3
"""TUI benchmarks, through a real pseudo-terminal (stdlib only):

- start-up: time from launch to the first frame on the terminal;
- bytes to the terminal per second during a run, at 120x40 and the default fps;
- TUI overhead: training throughput with the TUI open against headless `workbench train`, for the
  same run (same dataset, model, seed, epochs).

Usage: tui_bench.py BINARY [--epochs N] [--repeat K] [--json]
"""
import argparse
import fcntl
import json
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def project(epochs):
    """A scratch project: the shipped config (with `epochs`), the Iris data, its own runs folder."""
    d = tempfile.mkdtemp(prefix="wb-bench-")
    os.mkdir(os.path.join(d, "datasets"))
    shutil.copy(os.path.join(REPO, "datasets", "iris.csv"), os.path.join(d, "datasets", "iris.csv"))
    with open(os.path.join(REPO, "config.toml")) as f:
        text = f.read().replace("epochs = 100", f"epochs = {epochs}").replace('device = "auto"', 'device = "cpu"')
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write(text)
    return d


class Pty:
    """The binary on a pseudo-terminal of a given size; counts every byte it writes."""

    def __init__(self, argv, cwd, cols=120, rows=40):
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(cwd)
            env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8", XDG_STATE_HOME=os.path.join(cwd, "state"))
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.pid, self.fd, self.bytes, self.buf = pid, fd, 0, b""

    def read_for(self, seconds):
        """Read whatever arrives for `seconds`; returns the bytes read."""
        end = time.monotonic() + seconds
        got = 0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return got
            if not chunk:
                return got
            got += len(chunk)
            self.bytes += len(chunk)
            self.buf = (self.buf + chunk)[-200000:]

    def wait_for(self, needle, timeout):
        end = time.monotonic() + timeout
        while needle not in self.buf:
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {needle!r}")
            self.read_for(0.02)

    def send(self, keys):
        os.write(self.fd, keys)

    def close(self):
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass
        try:
            self.read_for(1.0)
        finally:
            os.waitpid(self.pid, 0)
            os.close(self.fd)


def run_record(runs_dir):
    [name] = os.listdir(runs_dir)
    path = os.path.join(runs_dir, name)
    with open(os.path.join(path, "run.toml"), "rb") as f:
        meta = tomllib.load(f)
    with open(os.path.join(path, "metrics.csv")) as f:
        rows = f.read().strip().splitlines()[1:]
    return path, meta, rows


def run_status(runs_dir):
    """The status in the only run's run.toml, or None while there is none to read yet."""
    try:
        [name] = os.listdir(runs_dir)
        with open(os.path.join(runs_dir, name, "run.toml"), "rb") as f:
            return tomllib.load(f).get("status")
    except (ValueError, FileNotFoundError, tomllib.TOMLDecodeError):
        return None


def throughput(rows, train_samples):
    """Samples per second over the whole run: every epoch's samples over the training time."""
    last = rows[-1].split(",")
    return len(rows) * train_samples / float(last[5])


def startup(binary, repeat):
    times = []
    for _ in range(repeat):
        d = project(10)
        t0 = time.monotonic()
        p = Pty([binary], d)
        p.wait_for(b"workbench", 30)
        times.append(time.monotonic() - t0)
        p.close()
        shutil.rmtree(d, ignore_errors=True)
    return statistics.median(times)


def idle_bytes(binary, seconds=3.0):
    """Bytes written while nothing happens, after the first screen is complete."""
    d = project(10)
    p = Pty([binary], d)
    p.wait_for(b"iris.csv", 30)
    p.wait_for(b"threads", 30)
    p.read_for(0.5)
    idle = p.read_for(seconds)
    p.close()
    shutil.rmtree(d, ignore_errors=True)
    return idle


def tui_run(binary, epochs):
    """A run in the TUI: returns (samples/s, bytes/s to the terminal while it ran, seconds)."""
    d = project(epochs)
    runs = os.path.join(d, "runs")
    p = Pty([binary, "--runs-dir", runs], d)
    p.wait_for(b"iris.csv", 30)  # the preview shows the shipped data
    p.wait_for(b"threads", 30)  # the devices pane is filled
    p.read_for(0.5)
    before = p.bytes
    t0 = time.monotonic()
    p.send(b"s")
    # Poll run.toml's status while draining the terminal, so the program never blocks on a full
    # pty. Only the small run.toml is read, and only twice a second: the harness's own work
    # competes for the same cores as the run it measures (headless, it just waits).
    while True:
        p.read_for(0.5)
        if run_status(runs) not in (None, "running"):
            break
        if time.monotonic() - t0 > 600:
            raise SystemExit("the TUI run did not finish in 10 minutes")
    seconds = time.monotonic() - t0
    sent = p.bytes - before
    p.send(b"q")
    p.read_for(0.5)
    p.close()
    _, meta, rows = run_record(runs)
    rate = throughput(rows, meta["data"]["train_samples"])
    shutil.rmtree(d, ignore_errors=True)
    return rate, sent / seconds, seconds


def headless_run(binary, epochs):
    d = project(epochs)
    runs = os.path.join(d, "runs")
    subprocess.run([binary, "train", "--quiet", "--runs-dir", runs], cwd=d, check=True,
                   env=dict(os.environ, XDG_STATE_HOME=os.path.join(d, "state")), stdout=subprocess.DEVNULL)
    _, meta, rows = run_record(runs)
    rate = throughput(rows, meta["data"]["train_samples"])
    shutil.rmtree(d, ignore_errors=True)
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--epochs", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)

    start = startup(binary, 5)
    idle = idle_bytes(binary)
    tui, head, bps, secs = [], [], [], []
    for _ in range(args.repeat):  # alternate, so both see the same machine load
        head.append(headless_run(binary, args.epochs))
        rate, b, s = tui_run(binary, args.epochs)
        tui.append(rate)
        bps.append(b)
        secs.append(s)
    result = {
        "startup_s": start,
        "idle_bytes_in_3s": idle,
        "headless_samples_per_s": statistics.median(head),
        "tui_samples_per_s": statistics.median(tui),
        "tui_over_headless": statistics.median(tui) / statistics.median(head),
        "bytes_per_s": statistics.median(bps),
        "run_seconds": statistics.median(secs),
        "epochs": args.epochs,
        "repeat": args.repeat,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:24} {v:.4g}" if isinstance(v, float) else f"{k:24} {v}")


if __name__ == "__main__":
    main()
