#!/usr/bin/env bash
# Back up the database and the media files into one dated directory.
#   deploy/backup.sh /var/backups/casestudy
# Reads DATABASE_URL and MEDIA_ROOT from the environment (source /etc/casestudy/env first).
# The dump is consistent on its own (pg_dump takes a snapshot); media files are only ever added
# (originals, exports), so copying them after the dump misses nothing the dump refers to.
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL}" "${MEDIA_ROOT:?set MEDIA_ROOT}"
dest_root=${1:?usage: backup.sh DEST_DIR}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest="$dest_root/$stamp"
mkdir -p "$dest"
chmod 700 "$dest"
pg_dump --format=custom --no-owner --dbname="$DATABASE_URL" --file="$dest/db.dump"
tar -C "$MEDIA_ROOT" -czf "$dest/media.tar.gz" .
( cd "$dest" && sha256sum db.dump media.tar.gz > SHA256SUMS )
echo "backup written to $dest"
