#!/bin/bash
# The compose stack's one-off init (service airflow-init), run as root so that it can hand the
# folders to AIRFLOW_UID; everything else runs as AIRFLOW_UID:0.
#  1. folders: the logs and var volumes and the host's inbox belong to AIRFLOW_UID, group 0,
#     group-writable (the inbox folder itself only: feed files in it keep their owner);
#  2. as AIRFLOW_UID: migrates Airflow's metadata database (with the FAB auth manager's tables),
#     migrates the project store, creates the Airflow admin user once.
set -euo pipefail
uid="${AIRFLOW_UID:?AIRFLOW_UID is not set}"
case "$uid" in ''|*[!0-9]*) echo "init: AIRFLOW_UID must be a number, got '$uid'" >&2; exit 1 ;; esac
if [ "$uid" = 0 ]; then echo "init: AIRFLOW_UID=0 refused: Airflow does not run as root" >&2; exit 1; fi

mkdir -p /opt/airflow/logs /opt/airflow/var/inbox /opt/airflow/var/reports /opt/airflow/var/whatif /opt/airflow/var/exports
chown -R "$uid:0" /opt/airflow/logs
chmod -R g+rwX,o-rwx /opt/airflow/logs
for d in /opt/airflow/var /opt/airflow/var/reports /opt/airflow/var/whatif /opt/airflow/var/exports /opt/airflow/var/inbox; do
  chown "$uid:0" "$d"; chmod 2770 "$d"
done
# the inbox's own subfolders (claimed, processed, rejected) as well, when they exist
find /opt/airflow/var/inbox -mindepth 1 -maxdepth 1 -type d -exec chown "$uid:0" {} + -exec chmod 2770 {} +

exec setpriv --reuid="$uid" --regid=0 --clear-groups -- bash -euo pipefail -c '
  export HOME=/home/airflow
  whoami >/dev/null 2>&1 || echo "airflow-$(id -u):x:$(id -u):0:resilience runtime user:$HOME:/usr/sbin/nologin" >> /etc/passwd
  airflow db migrate
  resilience init
  if airflow users list --output plain 2>/dev/null | awk "{print \$2}" | grep -qx "$AIRFLOW_ADMIN_USER"; then
    echo "init: Airflow user $AIRFLOW_ADMIN_USER exists (change its password in the UI)"
  else
    # --name=value: a value that starts with "-" (an operator-chosen password) is not read as an option
    airflow users create --role=Admin --username="$AIRFLOW_ADMIN_USER" --password="$AIRFLOW_ADMIN_PASSWORD" \
      --email="${AIRFLOW_ADMIN_EMAIL:-$AIRFLOW_ADMIN_USER@localhost}" --firstname=NOC --lastname=Admin >/dev/null
    echo "init: Airflow user $AIRFLOW_ADMIN_USER created"
  fi
  echo "init: airflow and the resilience store are migrated"
'
