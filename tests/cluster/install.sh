#!/usr/bin/env bash
# install.sh - install Debian's SLURM (slurm-wlm) and munge for the local test cluster.
#
#   sudo bash tests/cluster/install.sh
#
# Idempotent: does nothing when the packages are already installed. A temporary
# /usr/sbin/policy-rc.d keeps the packages' maintainer scripts from starting munged,
# slurmctld and slurmd as system services (tests/cluster/slurm_up.sh starts its own
# daemons and slurm_down.sh stops exactly those); it is removed again if created here.
set -euo pipefail

PKGS="slurm-wlm munge"
missing=""
for p in $PKGS slurmctld slurmd slurm-client; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install.sh: slurm-wlm and munge already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install.sh: needs root to install:$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
policy_created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
trap '[ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
echo "install.sh: installed $PKGS ($(slurmctld -V))"
