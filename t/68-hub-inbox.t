#!/usr/bin/perl
# The hub's inbox, through which other threads hand it dumplings (a link to
# other hubs will): t/hubinbox-driver.c, built against the hub's objects,
# pushes from several threads and drains into ingest and fan-out with no
# connection in sight, and says what it found in TAP.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;

my $driver = driver('hubinbox-driver');
ok($driver, 'make hubinbox-driver builds the driver') or do {
	done_testing();
	exit;
};

my $r = run([$driver], { timeout => 120 });
is($r->{status}, 0, 'the driver exits 0') or diag($r->{err});
my @lines = split /\n/, $r->{out} // '';
my ($plan) = ($lines[0] // '') =~ /^1\.\.(\d+)$/;
ok($plan, 'it states a plan');
my @results = grep { /^(not )?ok \d+/ } @lines;
is(scalar @results, $plan // -1, 'and runs all of it');
for (@results) {
	my ($not, $what) = /^(not )?ok \d+ - (.*)$/;
	ok(!$not, $what);
}

done_testing();
