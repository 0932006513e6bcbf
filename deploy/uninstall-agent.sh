#!/bin/sh
# Removes the Clawfence edge agent installed by install-agent.sh.
#
#   uninstall-agent.sh [--prefix DIR] [--root DIR] [--purge]
#
# Stops and disables clawfence-agent, runs the agent's --uninstall (removes only its own ruleset: table
# inet clawfence, or its iptables chains and ipsets), and removes the files install-agent.sh installed.
# The state directory /var/lib/clawfence (stored policy, identity) is kept unless --purge is given.
# --root DIR works on a staging root: no service is touched and no ruleset is removed.
set -eu

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

fail_usage() { echo "uninstall-agent: $*" >&2; exit 2; }
say() { echo "uninstall-agent: $*"; }

prefix=/opt/clawfence/agent root='' purge=no
while [ $# -gt 0 ]; do
    case $1 in
        --prefix|--root)
            [ $# -ge 2 ] || fail_usage "$1 needs a value"
            if [ "$1" = --prefix ]; then prefix=$2; else root=$2; fi
            shift 2 ;;
        --purge) purge=yes; shift ;;
        -h|--help) echo "usage: uninstall-agent.sh [--prefix DIR] [--root DIR] [--purge]"; exit 0 ;;
        *) fail_usage "unknown argument $1 (try --help)" ;;
    esac
done
case $prefix in /*) ;; *) fail_usage "--prefix: must be an absolute path" ;; esac
if [ -n "$root" ]; then
    [ -d "$root" ] || fail_usage "--root: $root is not a directory"
    root=$(cd "$root" && pwd)
    [ "$root" != / ] || root=''
fi
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    echo "uninstall-agent: must run as root (or give --root DIR)" >&2
    exit 1
fi

dest=$root$prefix
if [ -n "$root" ]; then
    say "staging root $root: no service stopped, no ruleset removed"
else
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now clawfence-agent 2>/dev/null || true
        say "stopped and disabled clawfence-agent"
    fi
    if [ -x "$dest/java" ] && [ -f "$dest/clawfence-edge-agent.jar" ]; then
        # Same config as the service, so the same backend is removed.
        config_args=''
        [ -f /etc/clawfence/agent.yaml ] && config_args='--config /etc/clawfence/agent.yaml'
        # shellcheck disable=SC2086 # config_args is empty or two words
        if ! "$dest/java" --sun-misc-unsafe-memory-access=allow -jar "$dest/clawfence-edge-agent.jar" $config_args --uninstall; then
            say "warning: the agent could not remove its ruleset; check 'nft list table inet clawfence'"
        fi
    else
        say "warning: no agent at $prefix; its ruleset (if any) was not removed"
    fi
fi

rm -f "$dest/clawfence-edge-agent.jar" "$dest/java" \
    "$root/etc/systemd/system/clawfence-agent.service" \
    "$root/etc/modules-load.d/clawfence.conf" \
    "$root/etc/clawfence/agent.yaml"
rmdir "$dest" "$root/etc/clawfence" 2>/dev/null || true
[ "$prefix" != /opt/clawfence/agent ] || rmdir "$root/opt/clawfence" 2>/dev/null || true
say "removed $prefix, /etc/clawfence/agent.yaml, the unit and /etc/modules-load.d/clawfence.conf"
if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

if [ "$purge" = yes ]; then
    rm -rf "$root/var/lib/clawfence"
    say "removed the state directory /var/lib/clawfence (--purge)"
else
    say "kept the state directory /var/lib/clawfence (stored policy and identity; --purge removes it)"
fi
