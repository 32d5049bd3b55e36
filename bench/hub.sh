#!/bin/sh
# Hub figures: throughput, latency and memory with bench/hubload, how they
# scale with eaters (hub CPU per delivery, latency at 1000 eaters) and with
# kitchens (what one eater gets from 1 to 1000 of them), then the
# end-to-end kitchen -> hub -> eater rate set against the kitchen's own
# --stdout rate. Never a test: numbers to read.
#   bench/hub.sh [path/to/dumplings [all-DNS capture]]
# BENCH_RUNS rounds of the end-to-end part (default 5); HUB_IN_PORT and
# HUB_OUT_PORT the ports (default: free ones).
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-./dumplings}
OUT=${TMPDIR:-/tmp}/dumplings-bench.$$
mkdir -p "$OUT"
cc -O2 -D_GNU_SOURCE -o "$OUT/hubload" bench/hubload.c -lpthread
# ports free a moment ago, unless given: another hub may well be running
free_port() {
	perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr => "127.0.0.1",
		LocalPort => 0, Listen => 1)->sockport'
}
IN=${HUB_IN_PORT:-$(free_port)}
EAT=${HUB_OUT_PORT:-$(free_port)}
RUNS=${BENCH_RUNS:-5}
HUB=

start_hub() {
	"$BIN" hub -a 127.0.0.1 --in-port "$IN" --out-port "$EAT" "$@" 2>"$OUT/hub.err" &
	HUB=$!
	for _ in $(seq 100); do
		perl -MIO::Socket::INET -e "exit !IO::Socket::INET->new('127.0.0.1:$EAT')" && return
		sleep 0.05
	done
	echo "hub did not start" >&2
	exit 1
}

stop_hub() {
	kill "$HUB"
	wait "$HUB" || true
}

HUB_A= HUB_B= HUB_C= NATS_PID=
trap 'kill $HUB $HUB_A $HUB_B $HUB_C $NATS_PID 2>/dev/null || true; rm -rf "$OUT"' EXIT

# load ARGS...: one hubload run against the running hub, its line printed
# and kept in $line
load() {
	line=$("$OUT/hubload" -i "$IN" -o "$EAT" -p "$HUB" "$@")
	echo "$line"
}

# field REGEX: the number REGEX captures in $line
field() {
	echo "$line" | sed -n "s|.*$1.*|\1|p"
}

# now: seconds, for timing
now() {
	date +%s.%N
}

# best A B: the smaller of two times, A possibly empty
best() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'
}

# stdout_seconds: one timed run of the kitchen on its own
stdout_seconds() {
	t0=$(now)
	"$BIN" kitchen -q -c dns -r "$DNSCAP" --stdout >/dev/null
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# eater_out: what the hub's /metrics says it sent the bench's eater
eater_out() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new("127.0.0.1:'"$EAT"'") or exit;
		print $s "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
		local $/; my $m = <$s> // "";
		print $m =~ /^dumplings_hub_eater_dumplings_out_total\{eater="bench-eater",[^}]*\} (\d+)$/m ? $1 : 0'
}

# hub_metric NAME: one of the hub's own series from /metrics
hub_metric() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new("127.0.0.1:'"$EAT"'") or exit;
		print $s "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
		local $/; my $m = <$s> // "";
		print $m =~ /^dumplings_hub_'"$1"' (\d+)$/m ? $1 : "?"'
}

# e2e_round: one timed run through a fresh hub, from the kitchen's start
# to the eater's last dumpling; sets e2e_t (seconds) and e2e_got
e2e_round() {
	# a hub with its default queue: the eater asks not to be skipped, and the
	# hub holds the kitchen back while it is a full queue behind
	start_hub
	"$BIN" eat -H "127.0.0.1:$EAT" --json --lossless -n bench-eater -k bench-kitchen --count "$want" \
		>/dev/null 2>"$OUT/eat.err" &
	EATER=$!
	for _ in $(seq 200); do
		grep -q 'eater .* joined' "$OUT/hub.err" && break
		sleep 0.05
	done
	rm -f "$OUT/eat.count"
	t0=$(now)
	"$BIN" kitchen -q -n bench-kitchen -c dns -r "$DNSCAP" -H "127.0.0.1:$IN" --status-interval 0
	# an eater still waiting a minute after the kitchen is done never will be
	(
		for _ in $(seq 600); do
			kill -0 "$EATER" 2>/dev/null || exit 0
			sleep 0.1
		done
		eater_out >"$OUT/eat.count"
		kill "$EATER" 2>/dev/null
	) &
	WATCH=$!
	if wait "$EATER"; then
		e2e_got=$want
	else
		wait "$WATCH"
		e2e_got=$(cat "$OUT/eat.count" 2>/dev/null || echo 0)
	fi
	t1=$(now)
	wait "$WATCH" 2>/dev/null || true
	e2e_t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	stop_hub
}

echo "== throughput (flat out, 200-byte dumplings)"
# kitchens flat out outrun eaters: a queue that holds a whole run keeps the
# hub from skipping them, so every dumpling counts
start_hub --queue 1000000 --queue-bytes 400000000
load -k 1 -e 1 -n 500000
one_one=$(field '= \([0-9]*\)/s')
load -k 1 -e 8 -n 200000
one_eight=$(field '= \([0-9]*\)/s')
load -k 4 -e 4 -n 100000
stop_hub

echo "== latency at a steady 10k dumplings/s (a fresh hub, default settings)"
# three runs, the median p99 counts: a shared machine's hiccup lands in one
start_hub
p99s=
for _ in 1 2 3; do
	load -k 1 -e 1 -n 50000 -r 10000
	p99s="$p99s $(field 'p99 \([0-9.]*\) ms')"
done
p99=$(echo $p99s | tr ' ' '\n' | sort -n | sed -n 2p)
echo "median p99: $p99 ms"
stop_hub

# Two hubs federated through one nats-server (hub_link.c): hubload's
# kitchen on hub A, its eater on hub B, against the 1->1 figure above.
echo "== two hubs over NATS: kitchen -> hub A -> nats-server -> hub B -> eater"
fed_one= fed_p99= fed_eight= fed_eight_p50= fed_eight_p99= grow1= grow2= grow3= down_hwm=
if command -v nats-server >/dev/null 2>&1; then
	NATS=$(free_port)
	nats-server -a 127.0.0.1 -p "$NATS" 2>"$OUT/nats.err" &
	NATS_PID=$!
	B_IN=$(free_port) B_EAT=$(free_port)
	# start_fed ARGS...: hub A on $IN/$EAT and hub B on $B_IN/$B_EAT, both
	# on the NATS server, with ARGS
	start_fed() {
		start_hub --nats "nats://127.0.0.1:$NATS" "$@"
		HUB_A=$HUB
		"$BIN" hub -a 127.0.0.1 --in-port "$B_IN" --out-port "$B_EAT" \
			--nats "nats://127.0.0.1:$NATS" "$@" 2>"$OUT/hub-b.err" &
		HUB_B=$!
		for _ in $(seq 100); do
			grep -q 'NATS link: connected' "$OUT/hub.err" 2>/dev/null &&
				grep -q 'NATS link: connected' "$OUT/hub-b.err" && break
			sleep 0.05
		done
		sleep 0.2	# hub B's subscription reaches the server
	}
	stop_fed() {
		kill "$HUB_A" "$HUB_B"
		wait "$HUB_A" "$HUB_B" || true
	}
	fed_load() {
		line=$("$OUT/hubload" -i "$IN" -o "$B_EAT" -p "$HUB_B" "$@")
		echo "$line"
	}
	start_fed --queue 1000000 --queue-bytes 400000000
	fed_load -k 1 -e 1 -n 500000
	fed_one=$(field '= \([0-9]*\)/s')
	stop_fed
	start_fed
	p99s=
	for _ in 1 2 3; do
		fed_load -k 1 -e 1 -n 50000 -r 10000
		p99s="$p99s $(field 'p99 \([0-9.]*\) ms')"
	done
	fed_p99=$(echo $p99s | tr ' ' '\n' | sort -n | sed -n 2p)
	echo "median p99: $fed_p99 ms"
	stop_fed

	echo "== 1 -> 8 eaters spread over the two hubs (4 on each)"
	start_fed --queue 1000000 --queue-bytes 400000000
	line=$("$OUT/hubload" -i "$IN" -o "$EAT,$B_EAT" -k 1 -e 8 -n 200000)
	echo "$line"
	fed_eight=$(field '= \([0-9]*\)/s')
	line=$("$OUT/hubload" -i "$IN" -o "$EAT,$B_EAT" -k 1 -e 8 -n 50000 -r 10000)
	echo "$line"
	fed_eight_p50=$(field 'p50 \([0-9.]*\) ms')
	fed_eight_p99=$(field 'p99 \([0-9.]*\) ms')

	echo "== delivered as hubs serve the eaters: one kitchen on hub A, 12 eaters on 1, 2, 3 hubs"
	C_IN=$(free_port) C_EAT=$(free_port)
	"$BIN" hub -a 127.0.0.1 --in-port "$C_IN" --out-port "$C_EAT" --queue 1000000 \
		--queue-bytes 400000000 --nats "nats://127.0.0.1:$NATS" 2>"$OUT/hub-c.err" &
	HUB_C=$!
	for _ in $(seq 100); do
		grep -q 'NATS link: connected' "$OUT/hub-c.err" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.2
	for hubs in 1 2 3; do
		ports=$(echo "$EAT $B_EAT $C_EAT" | cut -d' ' -f1-$hubs | tr ' ' ,)
		line=$("$OUT/hubload" -i "$IN" -o "$ports" -k 1 -e 12 -n 100000)
		echo "$hubs hub(s): $line"
		rate=$(field '= \([0-9]*\)/s')
		case $hubs in 1) grow1=$rate ;; 2) grow2=$rate ;; 3) grow3=$rate ;; esac
	done
	kill "$HUB_C"
	wait "$HUB_C" || true
	HUB_C=
	stop_fed
	kill "$NATS_PID"
	wait "$NATS_PID" 2>/dev/null || true
else
	echo "nats-server is not installed: skipped"
fi

echo "== memory: 1M dumplings past one stalled eater (default queue)"
start_hub
load -k 1 -e 1 -S 1 -n 1000000
hwm=$(field 'VmHWM \([0-9]*\) KiB')
stop_hub

echo "== memory: the same with --nats and no NATS server there"
start_hub --nats "nats://127.0.0.1:$(free_port)"
load -k 1 -e 1 -S 1 -n 1000000
down_hwm=$(field 'VmHWM \([0-9]*\) KiB')
stop_hub

echo
printf '%-36s %12s   %-14s %s\n' target measured wanted result
awk -v a="$one_one" -v b="$one_eight" -v p="$p99" -v m="$hwm" -v f="$fed_one" -v fp="$fed_p99" \
    -v f8="$fed_eight" -v f8p50="$fed_eight_p50" -v f8p99="$fed_eight_p99" \
    -v g1="$grow1" -v g2="$grow2" -v g3="$grow3" -v dm="$down_hwm" 'BEGIN {
	row("1->1 dumplings/s", a, a >= 400000, ">= 400000")
	row("1->8 deliveries/s", b, b >= 1000000, ">= 1000000")
	row("p99 latency at 10k/s (ms)", p, p < 1, "< 1")
	row("hub peak RSS, stalled eater (MiB)", sprintf("%.1f", m / 1024), m < 32 * 1024, "< 32")
	if (f != "") {
		row("two hubs 1->1 / one hub 1->1", sprintf("%.2fx", f / a), f >= a / 2, ">= 0.5x")
		row("two hubs p99 at 10k/s (ms)", fp, fp < 2, "< 2")
		info("1->8 over two hubs deliveries/s", f8, sprintf("%.2fx one hub", f8 / b))
		info("1->8 over two hubs p50 / p99 (ms)", f8p50 " / " f8p99, "at 10k/s")
		info("12 eaters on 1 / 2 / 3 hubs (/s)", g1 " / " g2 " / " g3,
		     sprintf("%.2fx, %.2fx", g2 / g1, g3 / g1))
	}
	row("hub peak RSS, NATS down (MiB)", sprintf("%.1f", dm / 1024), dm < 32 * 1024, "< 32")
}
function row(label, v, ok, want) {
	printf "%-36s %12s   %-14s %s\n", label, v, want, v == "" ? "FAILED" : ok ? "PASS" : "MISS"
}
function info(label, v, note) {
	printf "%-36s %12s   %s\n", label, v, note
}'
echo

# Scaling with eaters and kitchens. A thousand of each needs file
# descriptors: raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
conns=2200
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt $((conns + 64)) ] || conns=$(($(ulimit -n) - 64))

# median3 A B C: the middle one of three numbers (empty if any is missing)
median3() {
	[ $# -eq 3 ] || return 0
	printf '%s\n' "$@" | sort -n | sed -n 2p
}

# Each figure a target is stated in is the median of three runs: on a
# shared machine a hiccup lands in one.
echo "== eaters: hub CPU per delivery, one kitchen flat out (a queue that holds the run)"
start_hub --queue 100000 --max-connections "$conns"
for e in 8 64 1000; do
	if [ "$e" -gt "$((conns - 8))" ]; then
		echo "eaters $e: skipped (ulimit -n too low)"
		continue
	fi
	vals=
	for _ in 1 2 3; do
		load -k 1 -e "$e" -n $((1000000 / e)) -T 30
		vals="$vals $(field '= \([0-9.]*\) us/delivery')"
	done
	eval "cpu_$e=\$(median3 $vals)"
done
stop_hub

echo "== latency: 100k deliveries/s over 1000 eaters (100 dumplings/s; default queue)"
start_hub --max-connections "$conns"
p50_1000=
if [ 1000 -le "$((conns - 8))" ]; then
	vals=
	for _ in 1 2 3; do
		load -k 1 -e 1000 -n 300 -r 100 -T 10
		vals="$vals $(field 'p50 \([0-9.]*\) ms')"
	done
	p50_1000=$(median3 $vals)
fi
stop_hub
# the same fan-out's send()s with no hub: how long the kernel alone takes
# here, half of which the median eater waits when one thread sends them all
floor_1000=
if [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt 2100 ]; then
	line=$("$OUT/hubload" -F -e 1000) && echo "$line"
	floor_1000=$(field 'p50 >= \([0-9.]*\) ms')
fi

echo "== memory: 1000 eaters taking everything, the hub's status every 0.5 s"
start_hub --max-connections "$conns" --status-freq 0.5
status_hwm=
if [ 1000 -le "$((conns - 8))" ]; then
	load -k 1 -e 1000 -n 3 -r 1 -T 10 -A
	status_hwm=$(field 'VmHWM \([0-9]*\) KiB')
fi
stop_hub

echo "== kitchens: one eater, kitchens flat out (default queue)"
start_hub --max-connections "$conns"
for k in 1 16 128; do
	vals=
	for _ in 1 2 3; do
		load -k "$k" -e 1 -n $((1200000 / k)) -T 30
		vals="$vals $(field '= \([0-9]*\)/s')"
	done
	eval "rate_$k=\$(median3 $vals)"
done
[ 1000 -gt "$((conns - 8))" ] || load -k 1000 -e 1 -n 200 -T 30
echo "-- 100 KB dumplings, one kitchen, 8 eaters"
load -k 1 -e 8 -n 500 -s 100000 -T 30
stop_hub
echo "medians of 3: CPU/delivery ${cpu_8:-?} us (8 eaters), ${cpu_64:-?} us (64), ${cpu_1000:-?} us (1000);" \
	"one eater gets ${rate_1:-?}/s from 1 kitchen, ${rate_16:-?}/s from 16, ${rate_128:-?}/s from 128"

echo
printf '%-36s %12s   %-14s %s\n' target measured wanted result
awk -v c8="${cpu_8:-}" -v c1000="${cpu_1000:-}" -v p="$p50_1000" -v r1="${rate_1:-}" \
    -v fl="${floor_1000:-}" \
    -v r128="${rate_128:-}" -v m="$status_hwm" 'BEGIN {
	cr = (c8 != "" && c1000 != "" && c8 > 0) ? sprintf("%.2fx", c1000 / c8) : ""
	row("CPU/delivery, 1000 vs 8 eaters", cr, c1000 <= 1.5 * c8, "<= 1.5x")
	row("p50 at 100k/s over 1000 eaters (ms)", p, p < 1, "< 1")
	if (fl != "")
		printf "%-36s %12s   %s\n", "  its floor: the send()s, no hub", fl,
			sprintf("(p50 is %.1fx it)", p / fl)
	kr = (r1 != "" && r128 != "" && r1 > 0) ? sprintf("%.2fx", r128 / r1) : ""
	row("128 kitchens vs 1, to one eater", kr, r128 >= 0.8 * r1, ">= 0.8x")
	row("hub peak RSS, 1000 eaters (MiB)", m == "" ? "" : sprintf("%.1f", m / 1024), m < 32 * 1024, "< 32")
}
function row(label, v, ok, want) {
	printf "%-36s %12s   %-14s %s\n", label, v, want, v == "" ? "FAILED" : ok ? "PASS" : "MISS"
}'
echo

DNSCAP=${2:-}
# The whole pipeline against the kitchen alone, in the same run: the
# kitchen's own --stdout rate on the DNS capture, and kitchen -> hub ->
# eat --json, both to /dev/null, taking turns for BENCH_RUNS rounds, the
# best of each counting. The eater asks for the kitchen's dumplings only
# (-k) and exits once it has eaten them all (--count); if some never come,
# the hub's /metrics says how many it did. Target: at least half the
# kitchen's rate, with none lost.
echo "== end to end: kitchen (DNS chef on ${DNSCAP:-no capture}) -> hub -> eat --json"
if [ -r "$DNSCAP" ]; then
	# what the kitchen makes: packet and interval dumplings, and no health
	# reports (--status-interval 0), so that both ways make the same
	want=$("$BIN" kitchen -q -c dns -r "$DNSCAP" --stdout | wc -l)
	best_k= best_e= lost_e=0
	for round in $(seq "$RUNS"); do
		t=$(stdout_seconds)
		best_k=$(best "$best_k" "$t")
		e2e_round
		best_e=$(best "$best_e" "$e2e_t")
		lost_e=$((lost_e + want - e2e_got))
		echo "round $round: --stdout $t s, through the hub $e2e_t s ($e2e_got of $want)"
	done
	awk -v n="$want" -v k="$best_k" -v e="$best_e" -v lost="$lost_e" -v runs="$RUNS" 'BEGIN {
		printf "%d dumplings; best of %d: kitchen --stdout %.0f/s, through the hub %.0f/s; lost %d\n",
			n, runs, n / k, n / e, lost
		printf "\n%-36s %12s   %-14s %s\n", "target", "measured", "wanted", "result"
		r = k / e
		printf "%-36s %12s   %-14s %s\n", "end to end / kitchen --stdout",
			sprintf("%.2fx", r), ">= 0.5x", (r >= 0.5) ? "PASS" : "MISS"
		printf "%-36s %12s   %-14s %s\n", "end to end: dumplings lost",
			lost, "0", (lost == 0) ? "PASS" : "MISS"
	}'
else
	echo "no capture given: skipped"
fi

echo
echo "== lossless: the whole capture through an eater slower than the kitchen"
if [ -r "$DNSCAP" ]; then
	start_hub
	# at most 200 lines a millisecond: slower than the kitchen makes them
	"$BIN" eat -H "127.0.0.1:$EAT" --json --lossless -k bench-slow --count "$want" 2>"$OUT/slow.err" |
		perl -ne 'print; select(undef, undef, undef, 0.001) unless $. % 200' >"$OUT/slow.out" &
	t0=$(now)
	"$BIN" kitchen -q -n bench-slow -c dns -r "$DNSCAP" -H "127.0.0.1:$IN" --status-interval 0
	for _ in $(seq 1200); do
		[ "$(wc -l <"$OUT/slow.out")" -ge "$want" ] && break
		sleep 0.1
	done
	t1=$(now)
	got=$(wc -l <"$OUT/slow.out")
	holds=$(hub_metric kitchen_holds_total)
	stop_hub
	wait 2>/dev/null || true
	awk -v n="$want" -v got="$got" -v t0="$t0" -v t1="$t1" -v h="$holds" 'BEGIN {
		printf "%d of %d dumplings in %.1f s (%.0f/s), the hub held the kitchen %s times\n",
			got, n, t1 - t0, got / (t1 - t0), h
		printf "\n%-36s %12s   %-14s %s\n", "target", "measured", "wanted", "result"
		printf "%-36s %12s   %-14s %s\n", "slow lossless eater: delivered", got, n,
			(got == n) ? "PASS" : "MISS"
	}'
else
	echo "no capture given: skipped"
fi
