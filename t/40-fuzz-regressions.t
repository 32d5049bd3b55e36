#!/usr/bin/perl
# Every input that once crashed a fuzz target (fuzz/regressions/TARGET/),
# and every seed (fuzz/corpus/TARGET/), replayed through the fuzz targets
# built without libFuzzer, under AddressSanitizer and UBSan, with gcc
# (`make fuzz-replay`; clang is not needed). A target that crashes, trips
# a sanitizer or fails one of its own checks fails the test.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $root = root();
my @targets = qw(decode serialize hub_message chef_load ws_message hub_wire tcpreasm ipfrag);

my $build = run(['make', '-s', '-C', $root, '-j2', 'fuzz-replay'], { timeout => 300 });
is($build->{status}, 0, 'make fuzz-replay builds the replayers') or do {
	diag($build->{err});
	done_testing();
	exit;
};

$ENV{DUMPLINGS_FUZZ_CHEF} = "$root/t/chefs/touch.lua";
$ENV{ASAN_OPTIONS} = 'detect_leaks=1:halt_on_error=1';
$ENV{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1';

for my $t (@targets) {
	my @dirs = grep { -d } map { "$root/fuzz/$_/$t" } qw(regressions corpus);
	my $r = run(["$root/build-fuzz-replay/replay-$t", @dirs], { timeout => 120 });
	my ($n) = ($r->{out} // '') =~ /replayed (\d+) inputs/;
	my $ok = ok($r->{status} == 0 && $r->{signal} == 0,
		    "$t: every regression and seed replays cleanly");
	unlike($r->{err}, qr/AddressSanitizer|LeakSanitizer|runtime error|check failed/,
	       "$t: no sanitizer report");
	ok(($n // 0) > 0, "$t: replayed " . ($n // 0) . ' inputs');
	# The last input named before the report is the one that failed.
	diag(join "\n", grep { defined } (split /\n/, $r->{err} // '')[-40 .. -1]) unless $ok;
}

done_testing();
