"""Ad-hoc check (as run for RESULTS.md): repeated 1 s loads or probe streams.

Against a trivial server; prints RSS every 20 runs. Usage: ``adhoc_loop_memory.py load|probe``.
"""

import gc
import subprocess
import sys
import threading
import time

import psutil

from vigil.load import LoadProfileConfig, run_load
from vigil.load.scenario import Scenario, Step
from vigil.observe.probes import ProbeConfig, probing
from vigil.targets.base import TargetEndpoint

mode = sys.argv[1]
server = subprocess.Popen(
    [sys.executable, "/work/wt/soak/benchmarks/load/trivial_server.py"],
    stdout=subprocess.PIPE,
    text=True,
)
line = server.stdout.readline()
port = int(line.split()[-1])
url = f"http://127.0.0.1:{port}"
p = psutil.Process()


def rss():
    return round(p.memory_info().rss / 2**20, 1)


profile = LoadProfileConfig(
    users=4,
    duration_seconds=1.0,
    bucket_seconds=1.0,
    keep_bucket_histograms=False,
    max_requests=3000,
)


def scenario():
    return Scenario(
        name="get", next_row=lambda: None, steps=(Step(name="get", method="GET", path="/"),)
    )


endpoint = TargetEndpoint(name="t", kind="http", base_url=url)
try:
    for i in range(1, 121):
        if mode in ("load", "both"):
            t = threading.Thread(target=lambda: run_load(url, profile, scenario()))
            t.start()
        if mode in ("probe", "both"):
            with probing(endpoint, ProbeConfig(interval_s=0.1, max_duration_s=5)):
                time.sleep(1.0)
        if mode in ("load", "both"):
            t.join()
        if i % 20 == 0:
            gc.collect()
            print(mode, i, rss(), flush=True)
finally:
    server.kill()
