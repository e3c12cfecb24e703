"""Record an exhaustive journal by driving the real worker (kernels/worker.py) over stdin/stdout.

    python3 scripts/record_journal.py PLAN.json OUT.jsonl.gz [--backend cuda|sim] [--compile-workers 15]
                                      [--deadline-s 420] [--effort full] [--quick-after] [--shape KEY ...]

PLAN.json comes from scripts/journal-plan.ts: per weight shape, its key, its worker problem fields (without M) and
every config with the M values it fits; this script forwards those fields as they are and writes them into the
journal header (`shapes`), so a replay rebuilds each shape exactly (a MoE key leaves out top_k and gemm).
Compile workers (same worker, `compile` requests with every M of a config; on cuda without a CUDA context, as the
conductor's) warm the shared Triton cache ahead of the one bench worker, which sends one trial request per
(shape, config) covering all its M values, then appends one JournalTrial line (src/schema/journal.ts) per problem.
Shapes are measured one after the other and a shape's full-effort trials are written only once the shape is whole,
so a run that reaches its deadline leaves whole shapes (quick-effort trials, optional to a replay, are written as
they come). A worker that dies or hangs is restarted and the request is recorded as crash / timeout, as the
conductor does.
"""

import argparse
import datetime
import gzip
import json
import os
import queue
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Worker:
    """One kernels/worker.py process answering one request at a time."""

    def __init__(self, backend: str, env: dict | None = None):
        self.backend = backend
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "kernels", "worker.py"), "--backend", self.backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, bufsize=1, cwd=ROOT,
            env=self.env)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        self.hello = self.read(120.0)

    @staticmethod
    def _pump(proc, lines):
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def read(self, timeout: float):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise EOFError("worker exited")
        return json.loads(line)

    def ask(self, req: dict, timeout: float):
        """The response, or 'crash' / 'timeout' (the worker is restarted)."""
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            while True:
                msg = self.read(timeout)
                if msg.get("id") == req["id"]:
                    return msg
        except queue.Empty:
            outcome = "timeout"
        except (EOFError, BrokenPipeError):
            outcome = "crash"
        self.proc.kill()
        self.proc.wait()
        self.start()
        return outcome

    def stop(self):
        try:
            self.proc.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def problems_of(shape: dict, ms: list) -> list:
    """The worker problems of one request: the plan's problem fields of the shape, at each M."""
    return [{**shape["problem"], "M": M} for M in ms]


def compile_env(backend: str, device: dict) -> dict:
    """What makes a worker a compile worker on cuda (src/runner/conductor.ts does the same): Triton compiles for
    the bench GPU's target without opening a CUDA context, and refuses binaries over its shared memory."""
    if backend != "cuda":
        return {}
    major, minor = device["capability"]
    return {"TRITUNE_COMPILE_TARGET": f"cuda:{major * 10 + minor}", "TRITUNE_COMPILE_SMEM": str(device["shared_mem_per_block"])}


def compile_all(plan: dict, shapes: list, backend: str, env: dict, n: int, stop: threading.Event):
    """Warm the Triton cache: every (shape, config) over all its Ms, spread over n compile workers, in plan order."""
    jobs: queue.Queue = queue.Queue()
    for shape in shapes:
        for i, r in enumerate(shape["requests"]):
            jobs.put({"type": "compile", "id": f"c{shape['key']}#{i}", "family": plan["family"], "config": r["config"],
                      "problems": problems_of(shape, r["ms"])})

    def run():
        w = Worker(backend, env)
        while not stop.is_set():
            try:
                req = jobs.get_nowait()
            except queue.Empty:
                break
            w.ask(req, 300.0)
        w.stop()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def measure_shape(bench: Worker, plan: dict, shape: dict, effort: str, deadline: float):
    """One pass over a shape's requests: (journal lines, whole?, failures by status)."""
    lines, failed = [], {}
    for i, r in enumerate(shape["requests"]):
        if time.time() > deadline:
            return lines, False, failed
        problems = problems_of(shape, r["ms"])
        req = {"type": "trial", "id": f"{shape['key']}#{i}", "family": plan["family"], "config": r["config"],
               "problems": problems, "check": True, "effort": effort}
        res = bench.ask(req, 120.0)
        results = res["results"] if isinstance(res, dict) and res.get("type") == "result" else [
            {"index": j, "status": res if isinstance(res, str) else "crash", "us": None, "spread": None,
             "message": res.get("message") if isinstance(res, dict) else None} for j in range(len(problems))]
        for pr in results:
            ok = pr["status"] == "ok" and pr["us"]
            lines.append(json.dumps({"type": "trial", "shape": shape["key"], "M": problems[pr["index"]]["M"],
                                     "config": r["config"], "effort": effort, "status": pr["status"],
                                     "us": pr["us"] if ok else None, "spread": pr.get("spread") if ok else None,
                                     "gpu": 0, "message": (pr.get("message") or None) and pr["message"][:200],
                                     "at": now()}))
            if not ok:
                failed[pr["status"]] = failed.get(pr["status"], 0) + 1
    return lines, True, failed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("out")
    ap.add_argument("--backend", default="cuda", choices=["cuda", "interpret", "sim"])
    ap.add_argument("--compile-workers", type=int, default=15)
    ap.add_argument("--deadline-s", type=float, default=420.0)
    ap.add_argument("--effort", default="full", choices=["quick", "full"])
    ap.add_argument("--quick-after", action="store_true", help="then re-measure at quick effort until the deadline")
    ap.add_argument("--shape", action="append", help="record only this shape key of the plan (repeatable; plan order)")
    args = ap.parse_args()
    t0 = time.time()
    deadline = t0 + args.deadline_s
    plan = json.load(open(args.plan))
    shapes = [s for s in plan["shapes"] if not args.shape or s["key"] in args.shape]
    unknown = set(args.shape or []) - {s["key"] for s in plan["shapes"]}
    if unknown or not shapes:
        print(f"record: no shape {sorted(unknown)} in {args.plan}: it has {[s['key'] for s in plan['shapes']]}", file=sys.stderr)
        return 2
    bench = Worker(args.backend)
    hello = bench.hello
    stop = threading.Event()
    env = compile_env(args.backend, hello["device"])
    compilers = compile_all(plan, shapes, args.backend, env, args.compile_workers, stop) if args.compile_workers else []
    opener = gzip.open if args.out.endswith(".gz") else open
    summary = {"device": hello["device"]["name"], "shapes": {}}
    sources = hello.get("sources", {}).get(plan["family"]) or {}
    with opener(args.out, "wt") as out:
        fingerprint = {"family": plan["family"], "space": plan["space"], "device": hello["device"]["name"],
                       "triton": hello["versions"]["triton"], "worker_version": hello["worker_version"],
                       "backend": args.backend, **({"sources": sources["digest"]} if "digest" in sources else {})}
        header = {"type": "header", "journal_version": 1, "fingerprint": fingerprint, "device": hello["device"],
                  **({"source_files": sources["files"]} if "files" in sources else {}),
                  "shapes": {s["key"]: s["problem"] for s in shapes},
                  "command": "python3 " + " ".join(sys.argv), "created": now()}
        out.write(json.dumps(header) + "\n")
        passes = [(args.effort, shape) for shape in shapes]
        passes += [("quick", shape) for shape in shapes] if args.quick_after else []
        recorded = 0  # shapes written whole at the run's effort
        for effort, shape in passes:
            if time.time() > deadline:
                break
            s0 = time.time()
            lines, whole, failed = measure_shape(bench, plan, shape, effort, deadline)
            kept = whole or effort == "quick"  # a replay needs every full-effort pair of a shape it scores
            if kept and lines:
                out.write("\n".join(lines) + "\n")
                out.flush()
                recorded += effort == args.effort
            pairs = sum(len(r["ms"]) for r in shape["requests"])
            summary["shapes"][f"{shape['key']} {effort}"] = {"pairs": len(lines), "of": pairs, "kept": kept,
                                                             "failed": failed, "seconds": round(time.time() - s0, 1)}
            print(f"record: {shape['key']} {effort}: {len(lines)}/{pairs} pairs{'' if kept else ' (cut by the deadline: left out)'}, "
                  f"failed {failed}, {time.time() - s0:.0f} s", flush=True)
    stop.set()
    bench.stop()
    for t in compilers:
        t.join(timeout=5)
    summary["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(summary), flush=True)
    if not recorded:  # a journal of no shape would only fail the proof: leave none
        os.remove(args.out)
        print(f"record: no shape was recorded whole before the deadline; {args.out} removed", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
