#!/usr/bin/env bash
# Install (once) the Debian packages the tests and benchmarks run for real:
# PostgreSQL 15, Prometheus 2.42 with promtool, Alertmanager (amtool), Pushgateway, Chromium, and for the
# stack test (make test-stack): docker.io (dockerd), docker-compose and debootstrap (the base image).
set -euo pipefail
need=()
command -v pg_ctlcluster >/dev/null || [ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v chromium >/dev/null || need+=(chromium)
command -v snmptrap >/dev/null || need+=(snmp)  # net-snmp's snmptrap: the receiver's trap tests
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
# Japanese glyphs (site names) in the Chromium screenshots of the report
[ -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || need+=(fonts-ipafont-gothic)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's postinst would start services; we run our own instances on private ports instead.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
