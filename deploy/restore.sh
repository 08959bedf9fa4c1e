#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database and media directory.
#   deploy/restore.sh /var/backups/casestudy/20250101T020000Z
# Stop web, workers and beat first. Reads DATABASE_URL and MEDIA_ROOT from the environment.
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL}" "${MEDIA_ROOT:?set MEDIA_ROOT}"
src=${1:?usage: restore.sh BACKUP_DIR}
( cd "$src" && sha256sum --check --quiet SHA256SUMS )
if [ -n "$(ls -A "$MEDIA_ROOT" 2>/dev/null)" ]; then
  echo "MEDIA_ROOT ($MEDIA_ROOT) is not empty; restore into an empty directory" >&2
  exit 1
fi
pg_restore --no-owner --exit-on-error --single-transaction --dbname="$DATABASE_URL" "$src/db.dump"
mkdir -p "$MEDIA_ROOT"
tar -C "$MEDIA_ROOT" -xzf "$src/media.tar.gz"
echo "restored $src; now run: manage.py migrate (for a newer release) and start the services"
