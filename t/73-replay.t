#!/usr/bin/perl
# History over NATS JetStream (dumplings hub --nats-stream, eat --since and
# --latest): a real nats-server with JetStream in a temporary directory, and
# real hubs, kitchens and eaters on loopback.
#  - what a kitchen on hub A made is replayed to an eater on hub B;
#  - an eater that joins while a kitchen is mid-stream gets history, then
#    the live stream, with neither a gap nor a duplicate at the seam (each
#    kitchen run's seq, as a plain WebSocket client received it);
#  - after hub B restarts, --latest comes from the stream (the restarted
#    hub has nothing in memory) and --since still replays;
#  - an eater whose hub dies mid-stream goes on from another, gapless;
#  - a NATS server back with an empty store gets the stream made again;
#  - a hub without --nats-stream, and bad --since or --retain, say why.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;
use Pcap;

my $nats_server = $ENV{NATS_SERVER} // 'nats-server';
need(system("$nats_server --version >/dev/null 2>&1") == 0,
     'nats-server is not installed (Debian package nats-server)');
need(pyok(), 'python3-websockets is not installed');

my $dir = $ENV{KEEP_DIR} || tmpdir();
my $chef = root() . '/t/chefs/every.lua';
my $port = free_port();
mkdir "$dir/js";
my $node = spawn([$nats_server, '-a', '127.0.0.1', '-p', $port, '-js', '-sd', "$dir/js"],
		 err => "$dir/nats.err");
ok(wait_for_port($port), 'a nats-server with JetStream');
my $url = "nats://127.0.0.1:$port";
my @stream = ('--nats', $url, '--nats-stream', 'dumplings_test', '--retain', '1h,64M',
	      '--status-freq', 1000);



sub stream_hub {
	my $hub = start_hub(@stream, @_);
	ok(wait_for(sub { hub_log($hub) =~ /NATS stream dumplings_test: keeps/ }, 20),
	   'the hub made sure of the stream') or diag(hub_log($hub));
	return $hub;
}

sub kitchen {
	my ($hub, $name, $pcap, @args) = @_;
	return spawn([bin(), 'kitchen', '-n', $name, '-f', '', '-c', $chef, '-r', $pcap,
		      '--status-interval', 0, '-H', "127.0.0.1:$hub->{in}", @args],
		     err => "$dir/kitchen-$name.err");
}

sub eater {
	my ($hub, $name, @args) = @_;
	my %e = (out => "$dir/$name.out", err => "$dir/$name.err");
	my @hubs = map { ('-H', "127.0.0.1:$_->{out}") } ref $hub eq 'ARRAY' ? @$hub : ($hub);
	$e{pid} = spawn([bin(), 'eat', @hubs, '--json', '-n', $name, @args],
			out => $e{out}, err => $e{err});
	return \%e;
}

# the seqs of one kitchen's EveryChef dumplings, as they came
sub seqs {
	my ($file, $kitchen) = @_;
	return map { /"chef":"EveryChef","kitchen":"\Q$kitchen\E".*?"seq":(\d+)/ ? $1 : () }
		split /\n/, slurp($file) // '';
}

sub all_once_in_order {
	my ($file, $kitchen, $n) = @_;
	my @s = seqs($file, $kitchen);
	return 1 if @s == $n && join(',', @s) eq join(',', 1 .. $n);
	diag("$kitchen in $file: " . scalar(@s) . " dumplings, first " . ($s[0] // 'none') .
	     ", last " . ($s[-1] // 'none'));
	return 0;
}

write_pcap("$dir/p500.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. 500);
write_pcap("$dir/p3000.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. 3000);

my $A = stream_hub('--status-freq', 1);
my $B = stream_hub();
is(hub_metric($A, 'nats_stream_ready'), 1, '/metrics says the stream is ready');
my $st = run('eat', '-H', "127.0.0.1:$A->{out}", '--json', '-c', 'SystemStatusChef', '--count', 1,
	     { timeout => 20 });
like($st->{out}, qr/"stream":\{"name":"dumplings_test","ready":true\}/, 'so does the status dumpling');
# an RFC 3339 time with an offset reaches the hub as seconds since the epoch
my $timed = eater($A, 'timed', '--since', '2026-12-02T08:00:00.5+01:00', '-k', 'nobody');
ok(joined($A, 'eater', 2), 'an eater with --since TIME joined');
my $details = run('eat', '-H', "127.0.0.1:$A->{out}", '--details', { timeout => 20 });
like($details->{out}, qr/"since":\s*1796194800\.5\b/, 'its hello says since 2026-12-02T07:00:00.5Z')
	or diag($details->{out});
kill 'TERM', $timed->{pid};
reap($timed->{pid}, 10);

# ---- what is over, replayed on another hub ---------------------------------------

is(reap(kitchen($A, 'kOld', "$dir/p500.pcap"), 60), 0, 'kitchen kOld on hub A sent its file');
my $old = eater($B, 'old', '--since', '1h', '-k', 'kOld', '--count', 500);
is(reap($old->{pid}, 40) >> 8, 0, 'an eater on hub B with --since 1h ate 500 and exited 0')
	or diag(slurp($old->{err}));
ok(all_once_in_order($old->{out}, 'kOld', 500), 'kOld\'s 500 dumplings, from history, in order, once');
like(slurp($old->{err}) // '', qr/lost no dumplings/, 'and it reports no loss');

# one chef and no kitchen: the replay reads dumplings.*.EveryChef
my $bychef = eater($B, 'bychef', '--since', '1h', '-c', 'EveryChef', '--count', 500);
is(reap($bychef->{pid}, 40) >> 8, 0, 'an eater with --since 1h and only a chef filter ate 500')
	or diag(slurp($bychef->{err}));
ok(all_once_in_order($bychef->{out}, 'kOld', 500), 'the same 500, from history, in order, once');

# ---- the seam: history, then live ------------------------------------------------

my $live = kitchen($A, 'kLive', "$dir/p3000.pcap", '--speed', 500);
# the eaters join once a good part of the run is in the stream
my $watch = eater($B, 'watch', '-k', 'kLive', '-c', 'EveryChef');
ok(wait_for(sub { seqs($watch->{out}, 'kLive') >= 800 }, 30), 'kLive is a good way into its run');
my $hello = '{"since": ' . (time - 3600) . ', "kitchens": ["kLive"], "chefs": ["EveryChef"]}';
my $raw = spawn(py_cmd('eater_client.py', '--port', $B->{out}, '--hello', $hello,
		       '--count', 3000, '--timeout', 20),
		out => "$dir/raw.out", err => "$dir/raw.err");
my $seam = eater($B, 'seam', '--since', '1h', '-k', 'kLive', '-c', 'EveryChef', '--count', 3000);
is(reap($live, 60), 0, 'kitchen kLive sent its file');
is(reap($raw, 40) >> 8, 0, 'a plain WebSocket client that said "since" got its 3000');
ok(all_once_in_order("$dir/raw.out", 'kLive', 3000),
   'every seq of the run, once, in order: no gap and no duplicate at the seam');
is(reap($seam->{pid}, 30) >> 8, 0, 'eat --since got its 3000 too');
ok(all_once_in_order($seam->{out}, 'kLive', 3000), 'in order, once');
my $replayed = hub_metric($B, 'replay_sent_total') // 0;
my $from_history = $replayed - 500;	# the first eater's
ok($from_history > 2 * 800 && $from_history < 2 * 3000,
   "the two came part from history, part live ($from_history from history)");
kill 'TERM', $watch->{pid};
reap($watch->{pid}, 10);

# ---- hub B restarted: --latest and --since from the stream ------------------------

kill 'TERM', $B->{pid};
is(reap($B->{pid}, 20) >> 8, 0, 'hub B stopped');
$B = stream_hub();
my $latest = run('eat', '-H', "127.0.0.1:$B->{out}", '--json', '--latest', '-c', 'EveryChef',
		 '--count', 2, { timeout => 30 });
is($latest->{status}, 0, 'eat --latest on the restarted hub B exited 0');
my %last = map { /"kitchen":"(k\w+)".*?"seq":(\d+)/ ? ($1 => $2) : () } split /\n/, $latest->{out};
is_deeply(\%last, { kOld => 500, kLive => 3000 },
	  'it got each kitchen\'s last dumpling, which only the stream had') or diag($latest->{out});
my $again = run('eat', '-H', "127.0.0.1:$B->{out}", '--json', '--since', '1h', '-k', 'kOld',
		'--count', 500, { timeout => 30 });
is($again->{status}, 0, 'eat --since on the restarted hub B exited 0');
is(scalar(() = $again->{out} =~ /"kitchen":"kOld"/g), 500, 'with all of kOld\'s 500');

# ---- a hub gone mid-stream: the eater goes on from the next -------------------------

my $moving = eater([$B, $A], 'moving', '--since', '1h', '-k', 'kMove',
		   '--count', 3000);
ok(joined($B, 'eater', 1), 'an eater with --since joined hub B (then hub A, if B goes)');
my $kmove = kitchen($A, 'kMove', "$dir/p3000.pcap", '--speed', 500);
ok(wait_for(sub { seqs($moving->{out}, 'kMove') >= 1000 }, 30), 'it is a third of the way');
kill 'KILL', $B->{pid};
waitpid $B->{pid}, 0;
is(reap($kmove, 60), 0, 'kitchen kMove sent its file');
is(reap($moving->{pid}, 40) >> 8, 0, 'the eater moved to hub A and got its 3000')
	or diag(slurp($moving->{err}));
ok(all_once_in_order($moving->{out}, 'kMove', 3000), 'each once, in order, across the move');
like(slurp($moving->{err}) // '', qr/lost no dumplings/, 'and it reports no loss');

# ---- an eater that stops reading while history comes ---------------------------------

# 20000 dumplings of a kilobyte: more than the NATS client holds for a
# replay, so it drops some while the eater does not read, and the replay
# must read again from where it was
my $big = 20000;
write_pcap("$dir/p$big.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $big);
is(reap(kitchen($A, 'kBig', "$dir/p$big.pcap"), 120), 0, "kitchen kBig sent its $big");
my $stopped = eater($A, 'stopped', '--since', '1h', '-k', 'kBig', '--count', $big);
ok(wait_for(sub { seqs($stopped->{out}, 'kBig') >= 10 }, 30), 'an eater is being sent kBig\'s history');
kill 'STOP', $stopped->{pid};
sleep 4;
kill 'CONT', $stopped->{pid};
is(reap($stopped->{pid}, 120) >> 8, 0, 'it stopped reading for 4 s, and still got its count')
	or diag(slurp($stopped->{err}));
ok(all_once_in_order($stopped->{out}, 'kBig', $big), 'all of them, in order, once');

# ---- a hub with a small queue: the seam is no loss ---------------------------------

my $small = stream_hub('--queue', 100);
my $fast = kitchen($A, 'kFast', "$dir/p3000.pcap", '--speed', 1500);
my $watch_fast = eater($small, 'watch-fast', '-k', 'kFast');
ok(wait_for(sub { seqs($watch_fast->{out}, 'kFast') >= 500 }, 30), 'kFast is a good way into its run');
my $onsmall = eater($small, 'onsmall', '--since', '1h', '-k', 'kFast', '--count', 3000);
is(reap($fast, 60), 0, 'kitchen kFast sent its file');
is(reap($onsmall->{pid}, 60) >> 8, 0, 'an eater with --since on a hub with --queue 100 got its count');
ok(all_once_in_order($onsmall->{out}, 'kFast', 3000), 'in order, once');
like(slurp($onsmall->{err}) // '', qr/lost no dumplings/,
     'and no loss: what fan-out passed while history came was history\'s to send');
kill 'TERM', $watch_fast->{pid};
reap($watch_fast->{pid}, 10);

# ---- a hub that stops while dumplings come from NATS --------------------------------

# flat out, so that the hub's inbox holds some of the NATS client's when it stops
my $busy = kitchen($A, 'kBusy', "$dir/p$big.pcap");
ok(wait_for(sub { (hub_metric($small, 'nats_dumplings_in_total') // 0) > 3000 + 2000 }, 30),
   'dumplings of kBusy come to the small hub');
kill 'TERM', $small->{pid};
is(reap($small->{pid}, 20), 0, 'which stops when told, with exit status 0');
reap($busy, 60);

# ---- a NATS server back without its store: the stream is made again ---------------

kill 'TERM', $node;
reap($node, 20);
mkdir "$dir/js2";
$node = spawn([$nats_server, '-a', '127.0.0.1', '-p', $port, '-js', '-sd', "$dir/js2"],
	      err => "$dir/nats2.err");
ok(wait_for_port($port), 'the nats-server is back, with an empty store');
ok(wait_for(sub { hub_log($A) =~ /NATS stream dumplings_test: gone from the NATS server; making it again/ },
	    30), 'hub A finds the stream gone') or diag(hub_log($A));
ok(wait_for(sub { (() = hub_log($A) =~ /NATS stream dumplings_test: keeps/g) >= 2 }, 30),
   'and makes it again');
is(reap(kitchen($A, 'kAfter', "$dir/p500.pcap"), 60), 0, 'kitchen kAfter on hub A sent its file');
my $after = eater($A, 'after', '--since', '1h', '-k', 'kAfter', '--count', 500);
is(reap($after->{pid}, 40) >> 8, 0, 'an eater with --since 1h ate 500 and exited 0')
	or diag(slurp($after->{err}));
ok(all_once_in_order($after->{out}, 'kAfter', 500), 'kAfter\'s 500, kept by the new stream, in order, once');

# ---- what cannot be ---------------------------------------------------------------

my $far = py('eater_client.py', '--port', $A->{out}, '--hello', '{"since": 1e300, "kitchens": ["kOld"]}',
	     '--timeout', 3);
like($far->{err}, qr/close timeout/, 'a "since" far in the future: nothing from history, and no close');
ok(kill(0, $A->{pid}), 'and the hub is still there');

my $plain = start_hub();
my $r = run('eat', '-H', "127.0.0.1:$plain->{out}", '--since', '10m', { timeout => 20 });
is($r->{status}, 1, 'eat --since on a hub without --nats-stream exits 1');
like($r->{err}, qr/no history: this hub runs without --nats-stream/, 'saying why');
$r = run('eat', '--since', '10 minutes');
is($r->{status}, 2, 'a --since that is neither a span nor a time is refused');
like($r->{err}, qr/--since '10 minutes'/, 'naming it');
$r = run('hub', '--nats', $url, '--nats-stream', 'x', '--retain', '10');
is($r->{status}, 2, 'a --retain without units is refused');
like($r->{err}, qr/--retain '10': expected AGE,SIZE/, 'saying what it expects');
$r = run('hub', '--retain', '1h');
like($r->{err}, qr/need --nats-stream/, '--retain needs --nats-stream');

kill 'TERM', $_->{pid} for $A, $plain;
reap($_->{pid}, 20) for $A, $plain;
kill 'TERM', $node;
reap($node, 20);
done_testing();
