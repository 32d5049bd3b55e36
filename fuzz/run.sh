#!/bin/sh
# fuzz/run.sh BUILD-DIR SECONDS TARGET...: run each libFuzzer target for
# SECONDS, then print its executions and coverage from libFuzzer's final
# lines. New inputs go to BUILD-DIR/corpus/TARGET (which grows from run to
# run), seeded from fuzz/corpus/TARGET; crashers go to
# BUILD-DIR/crashes/TARGET/; fuzz/TARGET.dict, if there is one, is the
# target's dictionary. Exits non-zero if any target failed; the log of each
# run is BUILD-DIR/TARGET.log.
set -u

dir=$1
seconds=$2
shift 2
status=0
# LuaJIT's biased pointers look like leaks while a state is open (see it)
LSAN_OPTIONS=suppressions=$(pwd)/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export LSAN_OPTIONS

for t in "$@"; do
	mkdir -p "$dir/corpus/$t" "$dir/crashes/$t"
	log=$dir/$t.log
	dict=
	[ -f "fuzz/$t.dict" ] && dict=-dict=fuzz/$t.dict
	"$dir/fuzz-$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
	    -print_final_stats=1 -artifact_prefix="$dir/crashes/$t/" $dict \
	    "$dir/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]*' | tail -n 1)
	ft=$(grep -E '^#[0-9]+' "$log" | grep -o 'ft: [0-9]*' | tail -n 1)
	corp=$(grep -E '^#[0-9]+' "$log" | grep -o 'corp: [0-9]*' | tail -n 1)
	printf '%-12s %s executions in %ss, %s (edges), %s (features), %s inputs\n' \
	    "$t" "${execs:-?}" "$seconds" "${cov:-cov: ?}" "${ft:-ft: ?}" "${corp:-corp: ?}"
	if [ "$rc" -ne 0 ]; then
		echo "$t: FAILED (exit $rc), see $log; crashers in $dir/crashes/$t/:" >&2
		grep -E 'ERROR|SUMMARY|check failed' "$log" | head -n 5 >&2
		status=1
	fi
done
exit $status
