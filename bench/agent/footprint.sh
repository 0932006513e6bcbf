#!/usr/bin/env bash
# Edge agent footprint (issue 3): idle resident memory and start-to-enforced time of the REAL agent jar,
# with the nftables backend, in a network namespace of its own, connected to a real control plane
# (the control-plane jar with --demo, in the same namespace, on loopback).
#
#   bench/agent/footprint.sh [--runs N] [--idle SECONDS] [--levers] [--more] [--aot] [--cds] [--nmt] [--classes]
#                            [--lever FLAGS]... [--lever-env VAR=VALUE]... [--agent-jar JAR] [--agent-java JAVA_HOME] [--keep]
#
#   --runs N        start-to-enforced runs per measured configuration (default 20; 0: idle memory only)
#   --idle SECONDS  how long each idle agent runs before its RSS is taken (default 60)
#   --levers        also measure the idle RSS of each JVM lever, one row per lever (adds ~idle s per row)
#   --aot           also measure the deployed configuration with a JDK 25 AOT cache (JEP 483/514) made by a
#                   training run of the agent itself (connected, 20 s)
#   --more          also measure the second round of levers on top of the deployed configuration (native heap
#                   trim, a full GC once settled, compiler threads, stack size, metaspace settings)
#   --cds           also measure class data sharing: -Xshare:off, a dynamic AppCDS archive on top of the JDK's
#                   (-XX:ArchiveClassesAtExit) and a static archive of only the classes the agent loaded
#                   (-XX:DumpLoadedClassList, then -Xshare:dump), each from a training run (connected, 10 s)
#   --classes       also print the ten packages with the most loaded classes (-Xlog:class+load) and the threads
#                   (jcmd Thread.print) of the deployed configuration, connected and idle
#   --lever FLAGS   also measure the idle RSS of the deployed configuration plus these JVM flags (repeatable)
#   --lever-env VAR=VALUE also measure the deployed configuration with this environment variable added, e.g. an
#                   agent setting such as CLAWFENCE_AGENT_EVENTS_ENABLED=false (repeatable)
#   --agent-jar JAR measure this agent jar instead of edge-agent/target's (e.g. an older build, to compare)
#   --agent-java DIR run the agent (and the 'java -version' reference) on this Java runtime, e.g. a jlink image
#                   (the control plane and jcmd keep the JDK)
#   --nmt           also run the deployed configuration once with -XX:NativeMemoryTracking=summary and
#                   print `jcmd VM.native_memory summary` (where the memory goes), the resident memory by
#                   mapping (/proc/PID/smaps) and the top of the heap histogram (`jcmd GC.class_histogram`)
#   --keep          keep the work directory (logs) instead of deleting it
#
# Build first: ./mvnw -B -q -pl edge-agent,control-plane -am package -DskipTests
# Needs root, ip (iproute2), nft, curl and jq. Creates namespace fp-<pid> (loopback only: no traffic
# leaves it) and a work directory under /tmp; removes both, and every process it started, on exit.
# The "deployed" configuration is read from deploy/systemd/clawfence-agent.service (the JVM flags of
# ExecStart and its Environment= lines), so the figures are those of the installed unit.
set -euo pipefail

extra_levers=()
extra_env_levers=()
runs=20 idle=60 levers=no more=no aot=no cds=no nmt=no classes=no keep=no agent_jar='' agent_java_home=''
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --levers) levers=yes; shift ;;
        --aot) aot=yes; shift ;;
        --more) more=yes; shift ;;
        --cds) cds=yes; shift ;;
        --classes) classes=yes; shift ;;
        --lever) extra_levers+=("$2"); shift 2 ;;
        --lever-env) [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*$ ]] || { echo "footprint: --lever-env: expected VAR=VALUE without spaces, got '$2'" >&2; exit 2; }
            extra_env_levers+=("$2"); shift 2 ;;
        --agent-jar) agent_jar=$2; shift 2 ;;
        --agent-java) agent_java_home=$2; shift 2 ;;
        --nmt) nmt=yes; shift ;;
        --keep) keep=yes; shift ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
        *) echo "footprint: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $runs =~ ^[0-9]+$ ]] || { echo "footprint: --runs: expected a number, got '$runs'" >&2; exit 2; }
[[ $idle =~ ^[1-9][0-9]*$ ]] || { echo "footprint: --idle: expected a positive number of seconds, got '$idle'" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
java_home=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
grep -qsE '^JAVA_VERSION="(2[5-9]|[3-9][0-9])' "$java_home/release" || java_home=/usr/lib/jvm/temurin-25-jdk-amd64
java=$java_home/bin/java
agent_java=${agent_java_home:-$java_home}/bin/java
[ -x "$agent_java" ] || { echo "footprint: --agent-java: no bin/java in ${agent_java_home}" >&2; exit 2; }
find_jar() { # DIR PREFIX: the runnable jar DIR/PREFIX-*.jar (not the sources, tests or shaded variants)
    local jar
    for jar in "$1/$2"-*.jar; do
        case $jar in *-sources.jar|*-tests.jar|*-javadoc.jar|*-shaded.jar) continue ;; esac
        if [ -f "$jar" ]; then echo "$jar"; return; fi
    done
}
build_hint="build the jars first: ./mvnw -B -q -pl edge-agent,control-plane -am package -DskipTests"
if [ -n "$agent_jar" ]; then
    [ -f "$agent_jar" ] || { echo "footprint: --agent-jar: $agent_jar is not a file" >&2; exit 2; }
else
    agent_jar=$(find_jar "$repo/edge-agent/target" clawfence-edge-agent)
    [ -n "$agent_jar" ] || { echo "footprint: no agent jar in edge-agent/target; $build_hint" >&2; exit 1; }
fi
cp_jar=$(find_jar "$repo/control-plane/target" clawfence-control-plane)
[ -n "$cp_jar" ] || { echo "footprint: no control-plane jar in control-plane/target; $build_hint" >&2; exit 1; }
unit=$repo/deploy/systemd/clawfence-agent.service
[ "$(id -u)" -eq 0 ] || { echo "footprint: needs root (network namespace, nftables)" >&2; exit 1; }
for tool in ip nft curl jq; do command -v $tool >/dev/null || { echo "footprint: $tool is not installed" >&2; exit 1; }; done

ns=fp-$$
work=$(mktemp -d /tmp/fp-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    # The control plane stops its embedded PostgreSQL on SIGTERM; if it had to be killed, stop it here.
    local pg
    pg=$(head -n 1 "$work/cp/postgres/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pg" ] && kill -0 "$pg" 2>/dev/null; then
        kill "$pg" 2>/dev/null || true
        sleep 2
    fi
    ip netns del "$ns" 2>/dev/null || true
    if [ "$keep" = yes ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Background processes are started with 'ip netns exec' itself (no function, no subshell), so $! is the
# process and killing it kills the agent: ip netns exec execs its command without forking.
in_ns() { ip netns exec "$ns" "$@"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo "${t:0:-3}"; }   # ms since the epoch, from bash's clock
# p50 / p99 / max (nearest rank) of the numbers on stdin
stats() { sort -n | awk '{v[NR]=$1} END {p50=int(NR*0.5+0.999); p99=int(NR*0.99+0.999); printf "p50 %d / p99 %d / max %d ms (n=%d)\n", v[p50], v[p99], v[NR], NR}'; }
wait_for() { # FILE PATTERN TIMEOUT_S: waits until FILE has a line matching PATTERN
    local deadline=$((SECONDS + $3))
    until grep -qE "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "footprint: timed out after $3 s waiting for /$2/ in $1:" >&2; tail -n 20 "$1" >&2; return 1; }
        sleep 0.02
    done
}
stop_pid() { # PID [TIMEOUT_S]: SIGTERM, wait (default 5 s, then SIGKILL), and forget it
    kill "$1" 2>/dev/null || true
    for _ in $(seq $((${2:-5} * 20))); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local rest=()
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || rest+=("$pid"); done
    pids=("${rest[@]}")
}

# The deployed JVM flags and environment, from the unit (paths under /opt/clawfence/agent/ map to $work).
exec_line=$(grep -E '^ExecStart=' "$unit" | head -n 1)
deployed_flags=$(sed -E 's#^ExecStart=/opt/clawfence/agent/java (.*) -jar .*#\1#' <<<"$exec_line" | sed "s#/opt/clawfence/agent/#$work/#g; s#/var/lib/clawfence/#$work/#g")
deployed_env=$( (grep -E '^Environment=' "$unit" || true) | sed -E 's/^Environment=//' | tr '\n' ' ')

echo "# Edge agent footprint, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "java: $("$java" -version 2>&1 | sed -n 2p); agent runtime: ${agent_java%/bin/java} ($(du -sk "${agent_java%/bin/java}" | cut -f1) KiB)"
echo "nft: $(nft --version)"
echo "agent jar: ${agent_jar#"$repo"/} ($(du -k "$agent_jar" | cut -f1) KiB)"
echo "deployed (from the unit): env [${deployed_env% }] flags [$deployed_flags]"

# --- namespace and control plane ---------------------------------------------------------------------
ip netns add "$ns"
in_ns ip link set lo up
ip netns exec "$ns" env CLAWFENCE_DATA_DIR="$work/cp" "$java" --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC -Xmx256m -jar "$cp_jar" --demo > "$work/cp.log" 2>&1 &
pids+=($!)
wait_for "$work/cp.log" '^Demo tenant token: ' 240
tenant_url=$(sed -n 's#^Clawfence control plane ready: \(.*\)/network/policy$#\1#p' "$work/cp.log" | head -n 1)
tenant_token=$(sed -n 's/^Demo tenant token: //p' "$work/cp.log" | head -n 1)
api() { in_ns curl -sf -H "Authorization: Bearer $tenant_token" -H 'Content-Type: application/json' "$@"; }
enrol_token=$(api -X POST "$tenant_url/enrollment-tokens" -d '{"description":"footprint benchmark","maxUses":1}' | jq -r .token)

# --- enrol once: the state directory then holds the identity and the stored (applied) policy ---------
state=$work/state
ip netns exec "$ns" "$agent_java" --sun-misc-unsafe-memory-access=allow -jar "$agent_jar" --server localhost:50052 --token "$enrol_token" \
    --state-dir "$state" --backend nftables > "$work/enrol.log" 2>&1 &
pids+=($!)
wait_for "$work/enrol.log" 'applied and confirmed' 120
stop_pid "${pids[-1]}"
in_ns nft list table inet clawfence > "$work/ruleset.nft"
in_ns nft delete table inet clawfence
echo "stored policy: $(grep -oE 'policy version [0-9]+ applied and confirmed \(nftables ruleset [0-9a-f]+' "$work/enrol.log" | head -n 1)), $(wc -l < "$work/ruleset.nft") lines of nft"

# Every ruleset change in the namespace, with the time the harness saw it.
ip netns exec "$ns" stdbuf -oL nft monitor tables > >(while IFS= read -r line; do printf '%s %s\n' "$(now_ms)" "$line"; done > "$work/monitor.log") &
pids+=($!)
sleep 1

# --- references, same run ----------------------------------------------------------------------------
if [ "$runs" -gt 0 ]; then
: > "$work/ref-java"
: > "$work/ref-nft"
for _ in $(seq "$runs"); do
    t0=$(now_ms); "$agent_java" -version > /dev/null 2>&1; t1=$(now_ms); echo $((t1 - t0)) >> "$work/ref-java"
    t0=$(now_ms); in_ns nft -f "$work/ruleset.nft"; t1=$(now_ms); echo $((t1 - t0)) >> "$work/ref-nft"
    in_ns nft delete table inet clawfence
done
echo "reference: bare 'java -version': $(stats < "$work/ref-java")"
echo "reference: bare 'ip netns exec $ns nft -f' of the same ruleset: $(stats < "$work/ref-nft")"
fi

# --- one agent run -------------------------------------------------------------------------------------
# start_agent NAME ENV FLAGS: starts the agent (stored identity and policy, connects to the control plane);
# sets agent_pid, agent_log and t_spawn (ms).
agent_runs=0
start_agent() {
    agent_runs=$((agent_runs + 1))
    agent_log=$work/agent-$agent_runs.log
    echo "$1" > "$agent_log.name"
    t_spawn=$(now_ms)
    # shellcheck disable=SC2086 # ENV and FLAGS are word lists
    ip netns exec "$ns" env $2 "$agent_java" $3 -jar "$agent_jar" --state-dir "$state" --backend nftables > "$agent_log" 2>&1 &
    agent_pid=$!
    pids+=("$agent_pid")
}
# enforced_ms: first 'add table inet clawfence' seen by nft monitor after t_spawn, minus t_spawn
enforced_ms() {
    local deadline=$((SECONDS + 30)) t
    while :; do
        t=$(awk -v s="$t_spawn" '$1 >= s && /add table inet clawfence/ {print $1; exit}' "$work/monitor.log")
        [ -z "$t" ] || { echo $((t - t_spawn)); return 0; }
        [ $SECONDS -lt $deadline ] || { echo "footprint: the table did not appear within 30 s" >&2; tail "$agent_log" >&2; return 1; }
        sleep 0.01
    done
}
rss_of() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %d ", $1, $2}' "/proc/$1/status"; }

# start_runs NAME ENV FLAGS: N starts; wall clock spawn -> table in the kernel, and the agent's own figure
start_runs() {
    : > "$work/start-$1"
    : > "$work/self-$1"
    for _ in $(seq "$runs"); do
        start_agent "$1" "$2" "$3"
        enforced_ms >> "$work/start-$1"
        wait_for "$agent_log" 'ms after the process started' 30
        sed -nE 's/.*enforced ([0-9]+) ms after the process started.*/\1/p' "$agent_log" >> "$work/self-$1"
        stop_pid "$agent_pid"
        in_ns nft delete table inet clawfence
    done
    echo "start -> enforced [$1]: wall clock spawn -> table in kernel: $(stats < "$work/start-$1"); agent's own log: $(stats < "$work/self-$1")"
}

# idle_run NAME ENV FLAGS [GC_AT]: RSS after $idle s connected and idle (checks the control plane sees it
# connected); with GC_AT, a full GC from outside (jcmd GC.run) after GC_AT s, and the RSS just before it printed
idle_run() {
    start_agent "$1" "$2" "$3"
    local max=0 rss i
    for i in $(seq "$idle"); do
        sleep 1
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$agent_pid/status")
        [ "$rss" -le "$max" ] || max=$rss
        if [ "$i" = "${4:-}" ]; then
            echo "[$1] before jcmd GC.run at $i s: $(rss_of "$agent_pid")" >&2
            in_ns "$java_home/bin/jcmd" "$agent_pid" GC.run > /dev/null
        fi
    done
    local connected
    connected=$(api "$tenant_url/instances" | jq -r '[.. | objects | select(has("connected")) | .connected] | any')
    local threads
    threads=$(awk '/^Threads:/ {print $2}' "/proc/$agent_pid/status")
    local start
    start=$(sed -nE 's/.*enforced ([0-9]+) ms after the process started.*/\1/p' "$agent_log")
    printf '| %s | %d | %d | %s| %s | %s | %s |\n' "$1" "$(awk '/^VmRSS:/ {print $2}' "/proc/$agent_pid/status")" "$max" \
        "$(rss_of "$agent_pid")" "$threads" "${start:-?}" "$connected"
    if [ "$connected" != true ]; then echo "footprint: [$1] the control plane does not list the agent as connected:" >&2; tail -n 5 "$agent_log" >&2; fi
    stop_pid "$agent_pid"
    in_ns nft delete table inet clawfence 2>/dev/null || true
}

# --- AOT cache: a training run of the agent itself, connected, then SIGTERM (the JVM writes the cache at exit)
aot_flags=''
if [ "$aot" = yes ]; then
    t0=$(now_ms)
    start_agent aot-training "$deployed_env" "$deployed_flags -XX:AOTCacheOutput=$work/agent.aot"
    wait_for "$agent_log" 'syncing with' 120
    sleep 20
    stop_pid "$agent_pid" 300
    in_ns nft delete table inet clawfence 2>/dev/null || true
    [ -f "$work/agent.aot" ] || { echo "footprint: the training run wrote no AOT cache:" >&2; tail "$agent_log" >&2; exit 1; }
    echo "AOT cache: $(du -k "$work/agent.aot" | cut -f1) KiB, training run + assembly took $(( $(now_ms) - t0 )) ms"
    aot_flags="$deployed_flags -XX:AOTCache=$work/agent.aot"
fi

# --- CDS: training runs of the agent itself, connected for 10 s, then SIGTERM (archives are written at exit)
cds_dynamic='' cds_static=''
if [ "$cds" = yes ]; then
    t0=$(now_ms)
    start_agent cds-training "$deployed_env" "$deployed_flags -XX:ArchiveClassesAtExit=$work/agent-dynamic.jsa"
    wait_for "$agent_log" 'syncing with' 120
    sleep 10
    stop_pid "$agent_pid" 120
    in_ns nft delete table inet clawfence 2>/dev/null || true
    [ -f "$work/agent-dynamic.jsa" ] || { echo "footprint: the training run wrote no dynamic archive:" >&2; tail "$agent_log" >&2; exit 1; }
    echo "dynamic AppCDS archive: $(du -k "$work/agent-dynamic.jsa" | cut -f1) KiB, training run + dump took $(( $(now_ms) - t0 )) ms"
    cds_dynamic="$deployed_flags -XX:SharedArchiveFile=$work/agent-dynamic.jsa"
    t0=$(now_ms)
    start_agent cds-classlist "$deployed_env" "$deployed_flags -XX:DumpLoadedClassList=$work/agent.classlist"
    wait_for "$agent_log" 'syncing with' 120
    sleep 10
    stop_pid "$agent_pid" 120
    in_ns nft delete table inet clawfence 2>/dev/null || true
    # The same -jar as at run time: the archive records the class path and is refused if it differs.
    # shellcheck disable=SC2086
    "$agent_java" $deployed_flags -Xshare:dump -XX:SharedClassListFile="$work/agent.classlist" -XX:SharedArchiveFile="$work/agent-static.jsa" \
        -jar "$agent_jar" --help > "$work/cds-dump.log" 2>&1 || { echo "footprint: -Xshare:dump failed:" >&2; tail "$work/cds-dump.log" >&2; exit 1; }
    echo "static CDS archive of the agent's $(grep -vc '^#' "$work/agent.classlist") classes: $(du -k "$work/agent-static.jsa" | cut -f1) KiB, training run + dump took $(( $(now_ms) - t0 )) ms"
    cds_static="$deployed_flags -XX:SharedArchiveFile=$work/agent-static.jsa"
fi

base_flags="--sun-misc-unsafe-memory-access=allow"
if [ "$runs" -gt 0 ]; then
    echo
    start_runs "jvm-defaults" "" "$base_flags"
    start_runs "deployed" "$deployed_env" "$deployed_flags"
    [ -z "$aot_flags" ] || start_runs "deployed + AOT cache" "$deployed_env" "$aot_flags"
    if [ "$cds" = yes ]; then
        start_runs "deployed + -Xshare:off" "$deployed_env" "$deployed_flags -Xshare:off"
        start_runs "deployed + dynamic AppCDS" "$deployed_env" "$cds_dynamic"
        start_runs "deployed + static CDS of the agent's classes" "$deployed_env" "$cds_static"
    fi
fi

echo
echo "idle RSS after $idle s, connected (KiB):"
echo "| configuration | VmRSS | max VmRSS | breakdown (KiB) | threads | start->enforced (agent log, ms) | connected |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
if [ "$levers" = yes ]; then
    # One lever at a time, each row adding to the previous one: the levers the unit keeps.
    acc="$base_flags"
    idle_run "JVM defaults (G1, heap up to 1/4 of RAM)" "" "$acc"
    for lever in "-XX:+UseSerialGC" "-Xmx64m" "-Xms8m -Xmn4m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30" \
            "-XX:TieredStopAtLevel=1" "-XX:ReservedCodeCacheSize=16m" "-XX:+UseCompactObjectHeaders"; do
        acc="$acc $lever"
        idle_run "+ $lever" "" "$acc"
    done
    idle_run "+ MALLOC_ARENA_MAX=2" "MALLOC_ARENA_MAX=2" "$acc"
    # Tried on top of the deployed configuration and not kept (see BENCHMARKS.md for why).
    for lever in "-Xss256k" "-XX:-UsePerfData" "-XX:MaxMetaspaceSize=32m" "-Xmx24m" "-XX:+UnlockDiagnosticVMOptions -XX:ArchiveRelocationMode=0"; do
        idle_run "deployed + $lever" "$deployed_env" "$deployed_flags $lever"
    done
fi
if [ "$more" = yes ]; then
    idle_run "deployed + jcmd GC.run after 20 s (one full GC once settled)" "$deployed_env" "$deployed_flags" 20
    for lever in "-XX:TrimNativeHeapInterval=10000" "-XX:CICompilerCount=1" "-Xss256k" \
            "-XX:MetaspaceSize=8m -XX:CompressedClassSpaceSize=16m" "-XX:+UseStringDeduplication"; do
        idle_run "deployed + $lever" "$deployed_env" "$deployed_flags $lever"
    done
fi
for lever in ${extra_levers[@]+"${extra_levers[@]}"}; do
    idle_run "deployed + $lever" "$deployed_env" "$deployed_flags $lever"
done
for lever in ${extra_env_levers[@]+"${extra_env_levers[@]}"}; do
    idle_run "deployed + $lever" "$deployed_env $lever" "$deployed_flags"
done
idle_run "deployed" "$deployed_env" "$deployed_flags"
[ -z "$aot_flags" ] || idle_run "deployed + AOT cache" "$deployed_env" "$aot_flags"
if [ "$cds" = yes ]; then
    idle_run "deployed + -Xshare:off" "$deployed_env" "$deployed_flags -Xshare:off"
    idle_run "deployed + dynamic AppCDS" "$deployed_env" "$cds_dynamic"
    idle_run "deployed + static CDS of the agent's classes" "$deployed_env" "$cds_static"
fi

if [ "$classes" = yes ]; then
    start_agent classes "$deployed_env" "$deployed_flags -Xlog:class+load=info:file=$work/class-load.log"
    sleep "$idle"
    echo
    echo "threads of the deployed configuration after $idle s ($(awk '/^Threads:/ {print $2}' "/proc/$agent_pid/status")):"
    in_ns "$java_home/bin/jcmd" "$agent_pid" Thread.print | sed -nE 's/^"([^"]*)".*/  \1/p' | grep -v 'Attach Listener' || true
    echo "classes loaded: $(grep -c 'class,load' "$work/class-load.log"), of them from the CDS archive: $(grep -c 'source: shared' "$work/class-load.log")"
    echo "top 10 packages by loaded classes (hidden classes: lambdas, method handles, under their package):"
    # shellcheck disable=SC2016 # sed expressions, nothing to expand
    sed -nE 's/.*\[class,load\] ([^ ]+) source: .*/\1/p' "$work/class-load.log" | sed -E 's#/0x[0-9a-f]+$##; s#\$\$Lambda.*##; s#\.[^.]*$##' \
        | sort | uniq -c | sort -rn | head -n 10
    stop_pid "$agent_pid"
    in_ns nft delete table inet clawfence 2>/dev/null || true
fi

if [ "$nmt" = yes ]; then
    start_agent nmt "$deployed_env" "-XX:NativeMemoryTracking=summary $deployed_flags"
    sleep "$idle"
    echo
    echo "NMT of the deployed configuration after $idle s (NMT itself adds a little), VmRSS $(awk '/^VmRSS:/ {print $2}' "/proc/$agent_pid/status") KiB:"
    in_ns "$java_home/bin/jcmd" "$agent_pid" VM.native_memory summary scale=KB \
        | grep -E '^(Total|-|  *\(|  *[A-Z][a-zA-Z ]+ \(reserved)' | grep -vE '^\s*\((mmap|malloc|arena)' | sed -n '1,60p' || true
    echo
    echo "resident memory of the same agent by mapping (/proc/PID/smaps, KiB; anonymous mappings without a name as [anon]):"
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6 ? $6 : "[anon]") }
         /^Rss:/ { rss[name] += $2 } /^Anonymous:/ { anon[name] += $2 }
         END { for (n in rss) if (rss[n] >= 256) printf "  %8d Rss %8d anonymous  %s\n", rss[n], anon[n], n }' "/proc/$agent_pid/smaps" | sort -rn || true
    echo
    echo "heap of the same agent: the 25 largest classes by bytes (jcmd GC.class_histogram, after a full GC):"
    in_ns "$java_home/bin/jcmd" "$agent_pid" GC.class_histogram | sed -n '1,28p' || true
    stop_pid "$agent_pid"
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
