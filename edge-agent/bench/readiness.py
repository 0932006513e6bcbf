#!/usr/bin/env python3
"""Start-to-READY=1 of the shaded agent jar, as systemd's Type=notify sees it.

Usage (from edge-agent/, after ./mvnw -B -q -pl edge-agent -am package -DskipTests):
  java --sun-misc-unsafe-memory-access=allow -cp target/clawfence-edge-agent-0.1.0-SNAPSHOT.jar:target/test-classes bench/WritePolicy.java /tmp/cf-readiness/state
  python3 bench/readiness.py target/clawfence-edge-agent-0.1.0-SNAPSHOT.jar /tmp/cf-readiness 10

Binds an abstract AF_UNIX datagram socket as systemd would, starts the agent (dry-run backend, the
unit's JVM flags, the stored policy version 9 in DIR/state) with NOTIFY_SOCKET pointing at it, and
times exec -> the agent's "enforcing stored policy" log line -> READY=1 received. Reference in the
same run: exec -> exit of `java -jar JAR --version` (JVM start and picocli, no agent work).
"""
import datetime, os, re, socket, statistics, subprocess, sys, time

jar, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
java = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
flags = ["--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC", "-Xmx64m", "-jar", jar]
config = os.path.join(work, "agent.yaml")
open(config, "w").close()
rows = []
for i in range(runs):
    t0 = time.time()
    subprocess.run([java] + flags + ["--version"], check=True, capture_output=True)
    version = (time.time() - t0) * 1000
    name = "cf-readiness-%d-%d" % (os.getpid(), i)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(60)
    t0 = time.time()
    p = subprocess.Popen([java] + flags + ["--backend", "dry-run", "--config", config, "--state-dir", os.path.join(work, "state")],
                         env=dict(os.environ, NOTIFY_SOCKET="@" + name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = s.recv(4096).decode()
    t_ready = time.time()
    p.terminate()
    out = p.communicate(timeout=60)[0]
    s.close()
    assert ready.startswith("READY=1\nSTATUS=enforcing stored policy version 9"), ready
    stamp = re.search(r"^(\S+) enforcing stored policy version 9", out, re.M).group(1)
    t_enforced = datetime.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
    rows.append((version, (t_enforced - t0) * 1000, (t_ready - t_enforced) * 1000, (t_ready - t0) * 1000))
    print("run %d: --version %.0f ms; exec->enforced %.0f ms, enforced->READY %.0f ms, exec->READY %.0f ms" % ((i + 1,) + rows[-1]))
for k, label in enumerate(["reference: java -jar --version", "exec->enforced", "enforced->READY received", "exec->READY received"]):
    v = sorted(r[k] for r in rows)
    print("%s: median %.0f ms, min %.0f, max %.0f" % (label, statistics.median(v), v[0], v[-1]))
