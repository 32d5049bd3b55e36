#!/bin/sh
# fuzz/check-fakes.sh BINARY BUILD-DIR: for the hub target, check that every
# libwebsockets call the hub's objects make about a connection is answered
# by a fake in fuzz/hub_message.c; the real one, handed a fake connection,
# would crash far from the cause. Only the ring buffer and logging go to
# the real library. Other targets pass unchecked.
set -eu

case $1 in
*hub_message*) ;;
*) exit 0 ;;
esac
objs="$2/hub/hub_conn.o $2/hub/hub_eater.o $2/hub/hub_fanout.o $2/hub/hub_ingest.o $2/hub/hub_status.o $2/net/wsutil.o"
needed=$(nm -u $objs | awk '$2 ~ /^lws_/ && $2 !~ /^lws_ring_/ && $2 != "lws_set_log_level" { print $2 }' | sort -u)
faked=$(nm --defined-only "$1" | awk '$3 ~ /^lws_/ { print $3 }' | sort -u)
missing=$(printf '%s\n' "$needed" | while read -r f; do
	printf '%s\n' "$faked" | grep -qx "$f" || echo "$f"
done)
if [ -n "$missing" ]; then
	echo "fuzz/hub_message.c needs a fake for:" $missing >&2
	rm -f "$1"
	exit 1
fi
