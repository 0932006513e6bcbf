#!/bin/sh
# Installs (or upgrades) the Clawfence edge agent on this host as the systemd service clawfence-agent.
#
#   install-agent.sh --server HOST:PORT --token TOKEN [--jar PATH] [--prefix DIR] [--root DIR] [--no-start]
#
# Re-running upgrades the jar and the unit, keeps the state directory, and keeps the config unless
# --server/--token are given again. --root DIR installs into a staging root (packaging, tests) and
# implies --no-start. Exit codes: 0 ok, 1 the host lacks something or a step failed, 2 bad usage.
# See docs/agent.md.
set -eu

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

here=$(cd "$(dirname "$0")" && pwd)
unit_name=clawfence-agent.service
jar_name=clawfence-edge-agent.jar

usage() {
    echo "usage: install-agent.sh --server HOST:PORT --token TOKEN [--jar PATH] [--prefix DIR] [--root DIR] [--no-start]"
}
fail_usage() { echo "install-agent: $*" >&2; exit 2; }
fail() { echo "install-agent: $*" >&2; exit 1; }
say() { echo "install-agent: $*"; }

server='' token='' jar='' prefix=/opt/clawfence/agent root='' start=yes
while [ $# -gt 0 ]; do
    case $1 in
        --server|--token|--jar|--prefix|--root)
            [ $# -ge 2 ] || fail_usage "$1 needs a value"
            case $1 in
                --server) server=$2 ;;
                --token) token=$2 ;;
                --jar) jar=$2 ;;
                --prefix) prefix=$2 ;;
                --root) root=$2 ;;
            esac
            shift 2 ;;
        --no-start) start=no; shift ;;
        -h|--help) usage; exit 0 ;;
        *) fail_usage "unknown argument $1 (try --help)" ;;
    esac
done

# --- inputs --------------------------------------------------------------------------------------------
if [ -n "$server" ]; then
    if ! printf '%s\n' "$server" | grep -Eq '^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$' \
            || [ "$(printf '%s\n' "$server" | wc -l)" -ne 1 ]; then
        fail_usage "--server: expected HOST:PORT, e.g. control.example.com:50052"
    fi
    port=${server##*:}
    port=$(printf '%s\n' "$port" | sed 's/^0*//')
    port=${port:-0}
    if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        fail_usage "--server: port $port is outside 1-65535"
    fi
fi
if [ -n "$token" ]; then
    # Never echo the token, not even in an error.
    if [ "${#token}" -ne 92 ] || ! printf '%s\n' "$token" | grep -Eq '^cfe1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$'; then
        fail_usage "--token: not an enrolment token (expected cfe1.<43 base64url>.<43 base64url>)"
    fi
fi
if { [ -n "$server" ] && [ -z "$token" ]; } || { [ -z "$server" ] && [ -n "$token" ]; }; then
    fail_usage "--server and --token go together"
fi
case $prefix in
    /*) ;;
    *) fail_usage "--prefix: must be an absolute path" ;;
esac
if [ -n "$root" ]; then
    [ -d "$root" ] || fail_usage "--root: $root is not a directory"
    root=$(cd "$root" && pwd)
    [ "$root" != / ] || root=''
    start=no
fi
if [ -z "$jar" ]; then
    # Next to this script (a release bundle) or the build output of a source checkout.
    for candidate in "$here/$jar_name" "$here"/../edge-agent/target/clawfence-edge-agent-*.jar; do
        case $candidate in *-sources.jar|*-tests.jar|*-javadoc.jar) continue ;; esac
        if [ -f "$candidate" ]; then jar=$candidate; break; fi
    done
    [ -n "$jar" ] || fail_usage "--jar: no agent jar given and none found next to the script or in edge-agent/target"
fi
[ -f "$jar" ] || fail_usage "--jar: $jar is not a file"

# --- host checks ---------------------------------------------------------------------------------------
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    fail "must run as root (or give --root DIR to stage the files)"
fi

java_major() { # prints the feature version of the java at $1, or nothing
    "$1" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n 1
}
java=''
tried=''
for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/temurin-25-jdk-amd64/bin/java "$(command -v java || true)"; do
    [ -n "$candidate" ] || continue
    tried="$tried $candidate"
    [ -x "$candidate" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then java=$candidate; break; fi
done
[ -n "$java" ] || fail "no Java 25+ runtime: tried JAVA_HOME, /usr/lib/jvm/temurin-25-jdk-amd64 and java on PATH (${tried# }); install a Java 25 JRE/JDK or set JAVA_HOME"
java=$(readlink -f "$java")

if ! command -v nft >/dev/null 2>&1 && ! command -v iptables >/dev/null 2>&1; then
    if [ -n "$root" ]; then
        say "warning: neither nft nor iptables on this machine; the target host needs one of them"
    else
        fail "neither nft (nftables 0.9.4+) nor iptables (with ipset) is installed"
    fi
fi

# --- files ---------------------------------------------------------------------------------------------
etc=$root/etc/clawfence
config=$etc/agent.yaml
state=$root/var/lib/clawfence
unit_dir=$root/etc/systemd/system
dest=$root$prefix

umask 022
mkdir -p "$dest" "$unit_dir" "$root/etc/modules-load.d" "$root/var/lib"
# Replace, never write in place: a running agent keeps its open jar until it restarts.
cp "$jar" "$dest/.$jar_name.new"
chmod 0644 "$dest/.$jar_name.new"
mv -f "$dest/.$jar_name.new" "$dest/$jar_name"
ln -sfn "$java" "$dest/java"
say "installed $prefix/$jar_name (Java: $java)"

sed -e "s#/opt/clawfence/agent/#$prefix/#g" "$here/systemd/$unit_name" > "$unit_dir/.$unit_name.new"
chmod 0644 "$unit_dir/.$unit_name.new"
mv -f "$unit_dir/.$unit_name.new" "$unit_dir/$unit_name"
cp "$here/modules-load.d/clawfence.conf" "$root/etc/modules-load.d/clawfence.conf"
chmod 0644 "$root/etc/modules-load.d/clawfence.conf"
say "installed /etc/systemd/system/$unit_name and /etc/modules-load.d/clawfence.conf"

umask 077
mkdir -p "$etc"
chmod 0755 "$etc"
if [ -n "$server" ]; then
    {
        echo "# Written by install-agent.sh; keys and environment overrides: docs/agent.md"
        echo "server: \"$server\""
        echo "token: \"$token\""
        echo "stateDir: /var/lib/clawfence"
    } > "$etc/.agent.yaml.new"
    chmod 0600 "$etc/.agent.yaml.new"
    mv -f "$etc/.agent.yaml.new" "$config"
    say "wrote /etc/clawfence/agent.yaml (mode 0600; server $server, token hidden)"
elif [ -f "$config" ]; then
    say "kept the existing /etc/clawfence/agent.yaml"
else
    fail_usage "--server and --token are needed on the first install (no /etc/clawfence/agent.yaml yet)"
fi

if [ -d "$state" ]; then
    chmod 0700 "$state"
    say "kept the state directory /var/lib/clawfence"
else
    mkdir -p "$state"
    chmod 0700 "$state"
    say "created the state directory /var/lib/clawfence (mode 0700)"
fi

# --- service -------------------------------------------------------------------------------------------
if [ "$start" = no ]; then
    say "not starting the service (--no-start or --root); start it with: systemctl daemon-reload && systemctl enable --now clawfence-agent"
elif ! command -v systemctl >/dev/null 2>&1 || [ ! -d /run/systemd/system ]; then
    say "systemd is not running on this host; not starting the service (run the ExecStart line of $unit_name by other means)"
else
    systemctl daemon-reload
    systemctl enable clawfence-agent
    # restart, not start: an upgrade must run the new jar.
    systemctl restart clawfence-agent
    say "clawfence-agent enabled and started; logs: journalctl -u clawfence-agent"
fi
