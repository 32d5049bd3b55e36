#!/usr/bin/perl
# eat --latest: an eater that says "latest": true in its hello is first
# sent the latest dumpling of every (kitchen, chef) the hub has heard from
# that its filters take, oldest first, after a notice saying how many;
# then the live stream, with no gap counted at the seam. The hub keeps
# them within --latest-memory, letting go of the least recently replaced.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'python3-websockets is not installed');

my $sample = root() . '/examples/sample.pcap';
my $dir = tmpdir();

sub cook_into {
	my ($hub, $name) = @_;
	my $k = run('kitchen', '-q', '-n', $name, '-c', 'dns', '-r', $sample, '--status-interval', 0,
		    '-H', "127.0.0.1:$hub->{in}", { timeout => 60 });
	is($k->{status}, 0, "kitchen $name cooked the sample into the hub") or diag($k->{err});
}
sub eat_json { run('eat', '--json', '-H', "127.0.0.1:$_[0]{out}", @_[1 .. $#_], { timeout => 30 }) }

my @made = decode_lines(run('kitchen', '-q', '-c', 'dns', '-r', $sample, '--stdout',
			    '--status-interval', 0)->{out});
my $last = $made[-1]{payload};
my $n = scalar @made;

my $hub = start_hub('--status-freq', 0.3);
# the kitchens publish with an eater on, so the hub is not idle for them
my $idle = spawn([bin(), 'eat', '--json', '-H', "127.0.0.1:$hub->{out}", '-c', 'none'], out => '/dev/null');
ok(joined($hub, 'eater', 1), 'an eater is on');
cook_into($hub, 'k1');
cook_into($hub, 'k2');

my $r = eat_json($hub, '--latest', '--count', 2);
is($r->{status}, 0, 'eat --latest --count 2 got two and exited 0') or diag($r->{err});
my @got = decode_lines($r->{out});
is_deeply([map { "$_->{metadata}{kitchen}/$_->{metadata}{chef}" } @got],
	  ['k1/DNSLookupChef', 'k2/DNSLookupChef'], 'the latest of each kitchen and chef, oldest first');
is_deeply($got[1]{payload}, $last, 'and it is the last that kitchen made');
is($got[1]{metadata}{seq}, $n, 'with its seq');

$r = eat_json($hub, '--latest', '-k', 'k2', '--count', 1);
is((decode_lines($r->{out}))[0]{metadata}{kitchen}, 'k2', 'the eater\'s filters apply');

# the latest, then the live stream: --count exits 1 if it saw a gap, and
# the jump from the latest to the live seq numbers is none
my $live = spawn([bin(), 'eat', '--json', '-H', "127.0.0.1:$hub->{out}", '--latest', '-k', 'k1',
		  '--count', 1 + $n], out => "$dir/live.out", err => "$dir/live.err");
ok(joined($hub, 'eater', 2), 'a --latest eater waits for more');
ok(wait_for(sub { (slurp("$dir/live.out") // '') =~ /\n/ }, 20), 'it has the latest');
cook_into($hub, 'k1');
is(reap($live, 30) >> 8, 0, 'then the whole live run, with no loss counted')
	or diag(slurp("$dir/live.err"));
@got = decode_lines(slurp("$dir/live.out"));
is(scalar @got, 1 + $n, 'one latest and every live dumpling');
is($got[1]{metadata}{seq}, 1, 'the live run from its start');
isnt($got[0]{metadata}{run}, $got[1]{metadata}{run}, 'after the latest of the run before');

# without --latest, nothing old
my $plain = spawn([bin(), 'eat', '--json', '-H', "127.0.0.1:$hub->{out}", '-k', 'k2'],
		  out => "$dir/plain.out");
ok(joined($hub, 'eater', 2), 'a plain eater joined');
my $status = hub_status($hub);
is($status->{latest_kept}, 2, 'the hub keeps two latest dumplings');
ok($status->{latest_bytes} > 0, "and says how many bytes ($status->{latest_bytes})");
is($status->{total_latest_sent}, 4, 'it sent four, to eaters that asked');
is($status->{total_latest_evicted}, 0, 'and let none go');
stop($plain, 'INT');
is(slurp("$dir/plain.out") // '', '', 'the plain eater got nothing old');
stop($idle, 'INT');
stop($hub->{pid}, 'TERM');

# bounded: room for one, so the older goes, counted
my $small = start_hub('--status-freq', 0.3, '--latest-memory', 1500);
$idle = spawn([bin(), 'eat', '--json', '-H', "127.0.0.1:$small->{out}", '-c', 'none'], out => '/dev/null');
ok(joined($small, 'eater', 1), 'an eater is on the bounded hub');
cook_into($small, 'k1');
cook_into($small, 'k2');
$status = hub_status($small);
is($status->{latest_kept}, 1, '--latest-memory: room for one');
ok($status->{latest_bytes} <= 1500, 'within the bound');
ok($status->{total_latest_evicted} >= 1, 'the older let go, and counted');
$r = eat_json($small, '--latest', '--count', 1);
is((decode_lines($r->{out}))[0]{metadata}{kitchen}, 'k2', 'the newer one kept');
stop($idle, 'INT');
stop($small->{pid}, 'TERM');

# --latest-memory 0: none kept; an eater that asks is told none come
my $none = start_hub('--latest-memory', 0);
cook_into($none, 'k1');
my $probe = py('eater_client.py', '--port', $none->{out}, '--name', 'latest-probe',
	       '--hello', '{"latest": true}', '--count', 1, '--timeout', 20);
my ($notice) = decode_lines($probe->{out});
is_deeply($notice, { notice => 'latest', count => 0 }, 'nothing kept: the notice says none');

$r = run('hub', '--latest-memory', 'lots');
is($r->{status}, 2, 'a bad --latest-memory: a usage error');
like($r->{err}, qr/--latest-memory 'lots'/, 'that names it');

done_testing();
