#!/usr/bin/env python3
"""Stage-level scaling, measured with real processes, and a queueing model built from the measurement.

Each round runs one batch through separate `switchyard stage` processes on 127.0.0.1 (coordinator, ingest,
sink, N profile, one score, one dispatch) with the profile stage CPU-bound (a router artifact built on MiniLM
features), for N = 1 and N = 2 profile processes and each MiniLM thread setting of `--profile-threads`
(`profiler.threads` in the pipeline: 1 = one OpenBLAS thread per process, `all` = unset, every core),
alternating, `--rounds` times each. It records
  - requests/s over the batch (ingest start to sink exit, every worker connected before ingest starts) and
    in the steady middle (10 % to 90 % of the records written);
  - the coordinator's `switchyard_stage_queue_depth{stage}` (tasks waiting for a worker), sampled every
    0.25 s in the steady middle: where the queue stands is where the bottleneck is;
  - each process's CPU time (rusage of the child), hence every stage's CPU seconds per request: the service
    demands of the model, and how many cores each profile process kept busy (CPU seconds / wall seconds).

The model (an open network of stations, throughput = the tightest station), per thread setting, from the
demands measured with one profile process:
  a profile worker runs c = min(threads, cores) cores (`cores`: the CPUs this process may run on, measured
  with sched_getaffinity), so on hosts with c cores per worker, n profile workers and one process of
  every other stage,
      X(n) = min(n c / D_profile, 1 / D_score, 1 / D_dispatch, 1 / D_ingest, 1 / D_sink, 1 / D_coordinator)
  and with score and dispatch scaled alongside, X(n) = min(n c / D_profile, 1 / D_ingest, 1 / D_sink,
  1 / D_coordinator): the coordinator (one process, at its measured CPU per request) is the last limit.
  On this machine every process shares `cores` cores, so X(n) is also capped by cores / D_total.
It is checked against the measured N = 1 and N = 2 rounds of the same setting.
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROLES = ["coordinator", "ingest", "sink", "profile", "score", "dispatch"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    """Prometheus text → {name{labels}: value}; {} when the endpoint is not (yet) there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as response:
            text = response.read().decode()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


class Process:
    """A child process whose CPU time (user + sys, from wait4) is kept when it exits."""

    def __init__(self, role, argv, env, log):
        self.role = role
        self.popen = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.cpu = None
        self.status = None

    def poll(self):
        if self.status is None:
            pid, status, usage = os.wait4(self.popen.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                self.cpu = usage.ru_utime + usage.ru_stime
                self.popen.returncode = self.status
        return self.status

    def stop(self):
        if self.poll() is None:
            self.popen.terminate()
            deadline = time.time() + 10
            while self.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            if self.poll() is None:
                self.popen.kill()
                while self.poll() is None:
                    time.sleep(0.05)


def lines_in(path):
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return 0


def run_round(args, profiles_n, threads, round_index, workdir):
    directory = os.path.join(workdir, f"round-{round_index}-n{profiles_n}-t{threads}")
    os.makedirs(directory)
    port = free_port()
    metrics_port = free_port()
    config = os.path.join(directory, "pipeline.yaml")
    with open(config, "w") as f:
        f.write(f"""coordinator:
  endpoint: "tcp://127.0.0.1:{port}"
  journal: {directory}/journal
  lease_seconds: 60
stages:
  profile: {{workers: 1, batch: 32}}
  score: {{workers: 1, batch: 16}}
  dispatch: {{workers: 1, concurrency: 64}}
profiler:
  embedder: minilm
  model_dir: {args.model_dir}
{"" if threads == "all" else f"  threads: {threads}"}
router:
  profiles: {args.profiles}
  strategy: auto
  lambda: auto
metrics:
  host: 127.0.0.1
output:
  dir: {directory}/out
models:
""")
        for model in args.models:
            f.write(f"""  - name: {model["name"]}
    backend: {{url: "http://127.0.0.1:9/v1"}}
    price: {{input_usd_per_mtok: {model["input"]}, output_usd_per_mtok: {model["output"]}}}
""")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    log = open(os.path.join(directory, "processes.log"), "w")
    stage = [args.binary, "stage"]
    common = ["--config", config, "--log-level", "warning"]
    procs = [Process("coordinator", stage + ["coordinator"] + common + ["--metrics-port", str(metrics_port)], env, log)]
    out = os.path.join(directory, "out")
    procs.append(Process("sink", stage + ["sink"] + common + ["--input", args.batch, "--output", out, "--dry-run"], env, log))
    for _ in range(profiles_n):
        procs.append(Process("profile", stage + ["profile"] + common, env, log))
    procs.append(Process("score", stage + ["score"] + common, env, log))
    procs.append(Process("dispatch", stage + ["dispatch"] + common + ["--dry-run"], env, log))
    try:
        # Every worker connected (and its model loaded) before the clock starts.
        wanted = profiles_n + 2
        deadline = time.time() + 120
        while scrape(metrics_port).get("switchyard_coordinator_workers", 0) < wanted:
            if time.time() > deadline:
                raise RuntimeError(f"only {scrape(metrics_port).get('switchyard_coordinator_workers')} of {wanted} workers connected")
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.role} exited with {p.status} before the batch (log {directory}/processes.log)")
            time.sleep(0.1)
        started = time.time()
        procs.append(Process("ingest", stage + ["ingest"] + common + ["--input", args.batch], env, log))
        samples = []  # (time, records written, queue depth per stage)
        sink = procs[1]
        results = [os.path.join(out, "results.jsonl"), os.path.join(out, "errors.jsonl")]
        while sink.poll() is None:
            if time.time() - started > args.timeout:
                raise RuntimeError(f"batch not finished within {args.timeout} s")
            values = scrape(metrics_port)
            depth = {s: values.get(f'switchyard_stage_queue_depth{{stage="{s}"}}') for s in ("profile", "score", "dispatch")}
            samples.append((time.time(), sum(lines_in(p) for p in results), depth))
            time.sleep(0.25)
        finished = time.time()
        deadline = time.time() + 30
        while any(p.poll() is None for p in procs) and time.time() < deadline:
            time.sleep(0.05)
    finally:
        for p in procs:
            p.stop()
        log.close()
    if sink.status != 0:
        raise RuntimeError(f"sink exited with {sink.status} (log {directory}/processes.log)")
    records = sum(lines_in(p) for p in results)
    if records != args.lines:
        raise RuntimeError(f"{records} records for {args.lines} lines")
    low, high = 0.1 * records, 0.9 * records
    steady = [s for s in samples if low <= s[1] <= high]
    if len(steady) >= 2 and steady[-1][1] > steady[0][1]:
        steady_rate = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
    else:
        steady_rate = records / (finished - started)
    depth = {}
    for s in ("profile", "score", "dispatch"):
        values = [sample[2][s] for sample in steady if sample[2][s] is not None]
        depth[s] = round(statistics.mean(values), 1) if values else None
    cpu = {}
    for role in ROLES:
        spent = [p.cpu for p in procs if p.role == role and p.cpu is not None]
        cpu[role] = sum(spent)
    return {
        "profile_processes": profiles_n,
        "profile_threads": threads,
        "round": round_index,
        "seconds": round(finished - started, 2),
        "requests_per_second": round(records / (finished - started), 2),
        "steady_requests_per_second": round(steady_rate, 2),
        "queue_depth_steady_mean": depth,
        "cpu_seconds": {role: round(value, 3) for role, value in cpu.items()},
        "cpu_ms_per_request": {role: round(1000 * value / records, 4) for role, value in cpu.items()},
        # Cores each profile process kept busy over its life (model load and connection wait included).
        "profile_cores_busy_per_process": round(cpu["profile"] / profiles_n / (finished - started), 2),
        "load_average_after": os.getloadavg()[0],
    }


def model(demand, cores, per_worker_cores, workers):
    """Predicted requests/s and the limiting station for `workers` profile workers of `per_worker_cores`
    cores each (see the module doc)."""
    singles = {role: 1 / demand[role] for role in ("score", "dispatch", "ingest", "sink", "coordinator") if demand[role] > 0}
    rows = []
    for n in workers:
        profile = n * per_worker_cores / demand["profile"]
        hosts = dict(singles, profile=profile)
        scaled = {k: v for k, v in hosts.items() if k not in ("score", "dispatch")}
        # On one machine every process shares the cores: the whole pipeline's CPU per request caps X too.
        here = dict(hosts, cpu=cores / sum(demand.values()))
        rows.append({
            "profile_workers": n,
            "hosts_others_fixed": {"requests_per_second": round(min(hosts.values()), 1), "limit": min(hosts, key=hosts.get)},
            "hosts_score_dispatch_scaled": {"requests_per_second": round(min(scaled.values()), 1), "limit": min(scaled, key=scaled.get)},
            "this_machine": {"requests_per_second": round(min(here.values()), 1), "limit": min(here, key=here.get)},
        })
    return rows


def summarise(rounds, threads, cores):
    """Ratio, service demands, model and its check for one thread setting."""
    mine = [r for r in rounds if r["profile_threads"] == threads]
    ones = [r for r in mine if r["profile_processes"] == 1]
    twos = [r for r in mine if r["profile_processes"] == 2]

    def mean(rs, key):
        return statistics.mean(r[key] for r in rs)

    one, two = mean(ones, "steady_requests_per_second"), mean(twos, "steady_requests_per_second")
    ratios = [b["steady_requests_per_second"] / a["steady_requests_per_second"] for a, b in zip(ones, twos)]
    demand = {role: statistics.mean(r["cpu_ms_per_request"][role] for r in ones) / 1000 for role in ROLES}
    per_worker = cores if threads == "all" else min(int(threads), cores)
    predictions = model(demand, cores, per_worker, [1, 2, 4, 8, 16, 32, 64])
    check = {}
    for n, rs in ((1, ones), (2, twos)):
        measured = mean(rs, "steady_requests_per_second")
        predicted = predictions[n - 1]["this_machine"]["requests_per_second"]
        check[n] = {"measured": round(measured, 1), "predicted": predicted,
                    "error_percent": round(100 * (predicted - measured) / measured, 1)}
    depth = {}
    for n, rs in ((1, ones), (2, twos)):
        depth[n] = {s: (round(statistics.mean(r["queue_depth_steady_mean"][s] for r in rs if r["queue_depth_steady_mean"][s] is not None), 1)
                        if any(r["queue_depth_steady_mean"][s] is not None for r in rs) else None)
                    for s in ("profile", "score", "dispatch")}
    return {
        "profile_threads": threads,
        "per_worker_cores": per_worker,
        "requests_per_second": {"1": round(one, 2), "2": round(two, 2)},
        "profile_cores_busy_per_process": {str(n): round(mean(rs, "profile_cores_busy_per_process"), 2) for n, rs in ((1, ones), (2, twos))},
        "profile_cpu_ms_per_request": {str(n): round(statistics.mean(r["cpu_ms_per_request"]["profile"] for r in rs), 1) for n, rs in ((1, ones), (2, twos))},
        "queue_depth_steady_mean": {str(n): d for n, d in depth.items()},
        "ratio_two_over_one": round(two / one, 3),
        "ratio_per_round": [round(x, 3) for x in ratios],
        "service_demand_ms_per_request": {k: round(v * 1000, 4) for k, v in demand.items()},
        "model": predictions,
        "model_check": check,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--profiles", required=True, help="router artifact built on MiniLM features")
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--models-json", required=True, help="prices of the artifact's models (models.json)")
    parser.add_argument("--batch", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--profile-threads", default="1,all",
                        help="comma-separated profiler.threads settings to measure: a whole number, or all (unset: every core)")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)),
                        help="cores the processes share (default: the CPUs this process may run on)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    settings = [t.strip() for t in args.profile_threads.split(",") if t.strip()]
    for t in settings:
        if t != "all" and not (t.isdigit() and int(t) >= 1):
            parser.error(f"--profile-threads: '{t}' is neither a whole number ≥ 1 nor all")
    with open(args.batch) as f:
        args.lines = sum(1 for _ in f)
    # The pool: every model of the routing data, at its price (dispatch --dry-run calls none of them).
    args.models = [{"name": m["name"], "input": m["input_usd_per_mtok"], "output": m["output_usd_per_mtok"]}
                   for m in json.load(open(args.models_json))]
    load_before = os.getloadavg()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="switchyard-scaling.") as workdir:
        for r in range(args.rounds):
            for threads in settings:
                for n in (1, 2):
                    result = run_round(args, n, threads, r, workdir)
                    rounds.append(result)
                    print(f"scaling: round {r} threads {threads} profile x{n}: {result['requests_per_second']} req/s "
                          f"(steady {result['steady_requests_per_second']}), queue depth {result['queue_depth_steady_mean']}, "
                          f"profile cores busy/process {result['profile_cores_busy_per_process']}, "
                          f"load {result['load_average_after']:.1f}", flush=True)
    summaries = [summarise(rounds, t, args.cores) for t in settings]
    load_after = os.getloadavg()
    result = {
        "benchmark": "scaling",
        "what": "requests/s of a batch through separate stage processes, 1 vs 2 MiniLM profile processes, per profiler.threads setting, other stages fixed (dispatch --dry-run)",
        "lines": args.lines,
        "cores": args.cores,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "rounds": rounds,
        "settings": summaries,
        "target_ratio": 1.7,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nscaling: {args.lines} lines, {args.cores} cores, load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    print("| profiler.threads | profile processes | req/s (steady, mean) | queue depth profile / score / dispatch | profile CPU ms / request | cores busy per profile process |")
    print("|---|---|---|---|---|---|")
    for summary in summaries:
        for n in ("1", "2"):
            depth = " / ".join("-" if v is None else str(v) for v in summary["queue_depth_steady_mean"][n].values())
            print(f"| {summary['profile_threads']} | {n} | {summary['requests_per_second'][n]:.1f} | {depth} | "
                  f"{summary['profile_cpu_ms_per_request'][n]} | {summary['profile_cores_busy_per_process'][n]} |")
    for summary in summaries:
        ratios = ", ".join(f"{x:.2f}" for x in summary["ratio_per_round"])
        print(f"threads {summary['profile_threads']}: ratio 2/1 {summary['ratio_two_over_one']:.2f} (per round {ratios}; target 1.7)")
    for summary in summaries:
        print(f"\nthreads {summary['profile_threads']} ({summary['per_worker_cores']} core(s) per worker), CPU ms per request "
              "(1 profile process): " + ", ".join(f"{k} {v:.3f}" for k, v in summary["service_demand_ms_per_request"].items()))
        print("| profile workers | hosts, others fixed | hosts, score+dispatch scaled | this machine |")
        print("|---|---|---|---|")
        for row in summary["model"]:
            cells = [f"{row[k]['requests_per_second']} ({row[k]['limit']})" for k in ("hosts_others_fixed", "hosts_score_dispatch_scaled", "this_machine")]
            print(f"| {row['profile_workers']} | " + " | ".join(cells) + " |")
        print("model check: " + "; ".join(f"{n} profile: measured {c['measured']}, predicted {c['predicted']} ({c['error_percent']:+.1f} %)"
                                          for n, c in summary["model_check"].items()))


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:
        print(f"scaling: {error}", file=sys.stderr)
        sys.exit(1)
