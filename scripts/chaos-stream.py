# The chaos run's HQueue client: submits a steady stream of job trees through xmlrpc.client to the
# coordinators in turn (retrying on the other one while one is down), and now and then cancels or reschedules
# an earlier job. Each job's command appends one mark to <marks>/<JOBID> (the side effect the harness counts)
# and prints a deterministic output described by its name: "chaos L=<lines> W=<width> S=<sleep> F=<failFirst>".
# Prints one JSON line per action; stops on SIGTERM.
# usage: python3 chaos-stream.py URL[,URL...] MARKS_DIR SEED TREES_PER_SECOND

import json
import random
import signal
import sys
import time
import xmlrpc.client

urls = sys.argv[1].split(",")
marks = sys.argv[2]
rng = random.Random(int(sys.argv[3]))
rate = float(sys.argv[4])
servers = [xmlrpc.client.ServerProxy(u, allow_none=True) for u in urls]
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def call(fn):
    """Calls fn(server) on one coordinator, trying the others while one is down (up to ~60 s)."""
    start = rng.randrange(len(servers))
    for i in range(300):
        server = servers[(start + i) % len(servers)]
        try:
            return fn(server)
        except (OSError, xmlrpc.client.ProtocolError) as err:
            last = err
            time.sleep(0.2)
        except xmlrpc.client.Fault as fault:
            emit({"fault": fault.faultString})
            return None
    emit({"gaveUp": str(last)})
    return None


def command(lines, width, sleep, fail_first):
    pad = "x" * width
    body = (
        f'echo "$JOBID" >> {marks}/$JOBID; n=$(wc -l < {marks}/$JOBID); '
        f"for i in $(seq 1 {lines}); do echo \"$JOBID:$i:{pad}\"; "
        + (f"sleep {sleep}; " if sleep > 0 else "")
        + "done"
    )
    if fail_first:
        body += '; [ "$n" -ge 2 ] || exit 3'
    return body


def spec(depth):
    roll = rng.random()
    if roll < 0.1:
        lines, width, sleep = rng.randint(100, 400), rng.randint(500, 2000), 0  # large output
    elif roll < 0.3:
        lines, width, sleep = rng.randint(20, 60), rng.randint(10, 80), 0.1  # long: 2-6 s
    else:
        lines, width, sleep = rng.randint(1, 20), rng.randint(1, 60), rng.choice([0, 0, 0.02])
    fail_first = 1 if rng.random() < 0.1 else 0
    job = {
        "name": f"chaos L={lines} W={width} S={sleep} F={fail_first}",
        "shell": "bash",
        "command": command(lines, width, sleep, fail_first),
        "triesLeft": 3,
        "priority": rng.randint(0, 5),
    }
    if depth < 2 and rng.random() < 0.35:
        job["children"] = [spec(depth + 1) for _ in range(rng.randint(1, 3))]
    return job


submitted = []
while running:
    tree = spec(0)
    ids = call(lambda s: s.newjob(tree))
    if ids:
        submitted.extend(ids)
        emit({"submitted": ids})
    roll = rng.random()
    if submitted and roll < 0.06:
        victim = rng.choice(submitted[-30:])
        call(lambda s: s.cancelJobs([victim]))
        emit({"cancelled": victim})
    elif submitted and roll < 0.10:
        victim = rng.choice(submitted[-60:])
        call(lambda s: s.rescheduleJobs([victim]))
        emit({"rescheduled": victim})
    time.sleep(rng.expovariate(rate))
emit({"stopped": len(submitted)})
