"""What the benchmark tools share: each measurement runs in a fresh Python process, so that one row's memory
peak, caches and traced graphs cannot leak into the next."""
import json
import os
import subprocess
import sys


def spawn(script, spec):
    """Runs `python <script> --worker=<spec as JSON>` and returns the row: `spec`, the machine's load average
    before and after (other processes slow every row they overlap), and the JSON object the worker printed last
    on stdout, or "failed" with the worker's last stderr line (or the signal that killed it). The row is also
    printed to stderr as it comes."""
    command = [sys.executable, os.path.abspath(script), f"--worker={json.dumps(spec)}"]
    load = os.getloadavg()[0]
    result = subprocess.run(command, capture_output=True, text=True)
    row = dict(spec, load_before=round(load, 2), load_after=round(os.getloadavg()[0], 2))
    if result.returncode == 0 and result.stdout.strip():
        row.update(json.loads(result.stdout.strip().splitlines()[-1]))
    else:
        killed = result.returncode < 0
        row["failed"] = (f"killed by signal {-result.returncode} (out of memory?)" if killed else
                         (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1][:300])
    print(json.dumps(row), file=sys.stderr)
    return row


def run_if_worker(spec_json, run_one):
    """In a worker process (`spec_json` is the --worker value), prints `run_one(spec)` as one JSON line for
    `spawn` to read and returns True; returns False in the parent (`spec_json` empty)."""
    if not spec_json:
        return False
    print(json.dumps(run_one(json.loads(spec_json))))
    return True
