#!/usr/bin/perl
# Hubs federated over NATS (dumplings hub --nats): a real three-node
# nats-server cluster (routes, JetStream in temporary directories) on free
# loopback ports, and three real hubs, one on each node.
#  - kitchens on hubs A and B, eaters on hub C: every dumpling of both,
#    exactly once, each kitchen's in order; nothing comes back to its own
#    hub; the server-side filters work across hubs;
#  - a stalled eater on hub B does not cost hub C's eater a dumpling;
#  - status and /metrics show the link and the remote kitchens apart from
#    the local ones, and kitchens' health reports cross like any dumpling;
#  - hub B's node killed and restarted mid-stream: hub B reconnects to
#    another node by itself, and what the switch lost is a seq gap that
#    hub B's books and its eater's report, exactly;
#  - hub A's node stalled: hub A's own eaters miss nothing.
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

my $dir = $ENV{KEEP_DIR} || tmpdir();
my $chef = root() . '/t/chefs/every.lua';
my @client = map { free_port() } 1 .. 3;
my @route = map { free_port() } 1 .. 3;
my @monitor = map { free_port() } 1 .. 3;
my $routes = join ',', map { "nats://127.0.0.1:$_" } @route;

sub start_node {
	my ($i) = @_;
	mkdir "$dir/js$i";
	my $pid = spawn([$nats_server, '-a', '127.0.0.1', '-p', $client[$i], '-m', $monitor[$i],
			 '-n', "node$i", '--cluster_name', 'dumplings-test',
			 '--cluster', "nats://127.0.0.1:$route[$i]", '--routes', $routes,
			 '-js', '-sd', "$dir/js$i"], err => "$dir/node$i.err");
	wait_for_port($client[$i]) or die "nats-server node$i did not start: " . (slurp("$dir/node$i.err") // '');
	return $pid;
}


# Every node has heard, over its routes, of the subscriptions of the hubs
# on the other two: what a kitchen publishes from now on reaches them all.
sub interest_everywhere {
	return wait_for {
		my $all = 1;
		for my $i (0 .. 2) {
			my $n = () = http_get($monitor[$i], '/routez?subs=1') =~ /"dumplings\.(?:>|\\u003e)"/g;	# JSON may escape >
			$all = 0 if $n < 2;
		}
		$all;
	} 20;
}

my @node = map { start_node($_) } 0 .. 2;

# hub A: status every second, for the status test; default queues (8192
# dumplings, 16 MiB), which the stalled eater there falls out of
my %hub = (
	A => start_hub('--nats', "nats://127.0.0.1:$client[0]", '--status-freq', 1),
	B => start_hub('--nats', "nats://127.0.0.1:$client[1]", '--status-freq', 1000),
	C => start_hub('--nats', "nats://127.0.0.1:$client[2]", '--status-freq', 1000),
);
ok(wait_for(sub { hub_log($hub{$_}) =~ /NATS link: connected to/ } , 20), "hub $_ joined its NATS node")
	for qw(A B C);
ok(interest_everywhere(), 'every node knows of the other hubs\' subscriptions');

sub lines { my @l = split /\n/, slurp($_[0]) // ''; scalar @l }

sub eater {
	my ($hub, $name, @args) = @_;
	my %e = (out => "$dir/$name.out", err => "$dir/$name.err");
	$e{pid} = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '-n', $name, @args],
			out => $e{out}, err => $e{err});
	return \%e;
}

sub kitchen {
	my ($hub, $name, $pcap, @args) = @_;
	return spawn([bin(), 'kitchen', '-n', $name, '-f', '', '-c', $chef, '-r', $pcap,
		      '--status-interval', 0, '-H', "127.0.0.1:$hub->{in}", @args],
		     err => "$dir/kitchen-" . substr($name, 0, 16) . '.err');
}

# (kitchen, seq) of each EveryChef dumpling in an eater's output
sub seqs {
	my ($file) = @_;
	return map { /"chef":"EveryChef","kitchen":"([^"]*)".*?"seq":(\d+)/ ? [$1, $2] : () }
		split /\n/, slurp($file) // '';
}

sub in_order_once {
	my ($file, $kitchen, $n) = @_;
	my @s = map { $_->[1] } grep { $_->[0] eq $kitchen } seqs($file);
	return scalar(@s) == $n && join(',', @s) eq join(',', 1 .. $n);
}


# ---- two kitchens, three hubs ------------------------------------------------

my $n = 3000;
write_pcap("$dir/small.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $n);
my %eat = (
	all => eater($hub{C}, 'all', '--count', 2 * $n),
	kB => eater($hub{C}, 'only-kB', '-k', 'kB', '-c', 'EveryChef', '--count', $n),
	none => eater($hub{C}, 'only-kZ', '-k', 'kZ'),
	onA => eater($hub{A}, 'onA', '-c', 'EveryChef'),
);
ok(joined($hub{C}, 'eater', 3) && joined($hub{A}, 'eater', 1), 'the eaters joined');
my %k = (kA => kitchen($hub{A}, 'kA', "$dir/small.pcap", '--speed', 2000),
	 kB => kitchen($hub{B}, 'kB', "$dir/small.pcap", '--speed', 2000));
is(reap($k{$_}, 60), 0, "kitchen $_ finished its file") for sort keys %k;
is(reap($eat{all}{pid}, 30) >> 8, 0, 'the eater on hub C ate its count and exited 0')
	or diag(join "\n", grep { /dropped|nats_|lost|_in_total / && !/^#/ } split /\n/, http_get($hub{C}{out}, '/metrics'));
is(reap($eat{kB}{pid}, 10) >> 8, 0, 'the eater on hub C that asked for kB ate its count');
ok(in_order_once($eat{all}{out}, $_, $n), "hub C's eater got each of ${_}'s $n dumplings once, in order")
	for qw(kA kB);
is(lines($eat{all}{out}), 2 * $n, 'and nothing else (no dumpling twice)');
like(slurp($eat{all}{err}) // '', qr/lost no dumplings of 2 kitchen runs/, 'it reports no loss, of both kitchens');
ok(in_order_once($eat{kB}{out}, 'kB', $n) && lines($eat{kB}{out}) == $n,
   'the eater filtering -k kB on hub C got exactly kB\'s dumplings');

# hub A's eater: its own kitchen's and hub B's, each once: nothing echoed
ok(wait_for(sub { lines($eat{onA}{out}) >= 2 * $n }, 20), 'hub A\'s eater has both kitchens\' dumplings');
ok(in_order_once($eat{onA}{out}, $_, $n), "hub A's eater got ${_}'s once, in order") for qw(kA kB);
is(hub_metric($hub{A}, 'nats_dumplings_in_total'), $n, 'hub A took from NATS only hub B\'s dumplings (no echo)');
is(hub_metric($hub{A}, 'nats_dumplings_out_total'), $n, 'hub A published its own kitchen\'s');
is(hub_metric($hub{C}, 'nats_dumplings_out_total'), 0, 'hub C, with no kitchen, published nothing');
like(http_get($hub{C}{out}, '/metrics'), qr/^dumplings_hub_nats_connected\{server="nats:\/\/127\.0\.0\.1:$client[2]"\} 1$/m,
     'hub C\'s /metrics names the server it is connected to');
like(http_get($hub{C}{out}, '/metrics'), qr/^dumplings_hub_nats_kitchen_dumplings_in_total\{kitchen="kA"\} $n$/m,
     'and counts the remote kitchens\' dumplings by kitchen');

stop($eat{$_}{pid}, 'TERM') for qw(onA none);
is(lines($eat{none}{out}), 0, 'an eater asking for a kitchen nobody has got nothing');

# a kitchen's health report crosses like any dumpling; a kitchen name
# that is no subject token (a dot, a space, wildcards, the escape) arrives whole
my $odd = 'k.S *> west%41';
my $ks = spawn([bin(), 'kitchen', '-n', $odd, '-f', '', '-c', $chef, '-r', "$dir/small.pcap",
		'-H', "127.0.0.1:$hub{B}{in}"], err => "$dir/kitchen-kS.err");
is(reap($ks, 60), 0, 'a kitchen with health reports finished');
ok(wait_for(sub { http_get($hub{C}{out}, '/metrics') =~ /^dumplings_hub_kitchen_packets_total\{kitchen="\Q$odd\E"\} $n$/m }, 10),
   'hub C\'s /metrics has the remote kitchen\'s own report, under its name');

# a name too long for a subject: not published, and counted
write_pcap("$dir/five.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. 5);
my $klong = kitchen($hub{A}, 'x' x 1600, "$dir/five.pcap");
is(reap($klong, 60), 0, 'a kitchen with a 1600-byte name finished');
ok(wait_for(sub { (hub_metric($hub{A}, 'nats_unpublishable_total') // 0) == 5 }, 10),
   'hub A did not publish its 5 dumplings, and counted them');

# the status dumpling: the link, and the remote kitchens apart from the local
my $st = run('eat', '-H', "127.0.0.1:$hub{A}{out}", '--json', '-c', 'SystemStatusChef', '--count', 1, { timeout => 20 });
my ($status) = grep { $_->{metadata}{chef} eq 'SystemStatusChef' } decode_lines($st->{out});
SKIP: {
	skip 'no status dumpling: ' . $st->{err}, 5 unless $status;
	my $p = $status->{payload};
	ok($p->{nats}{connected} && $p->{nats}{server} eq "nats://127.0.0.1:$client[0]",
	   'hub A\'s status: connected, and to which server');
	is_deeply([sort map { $_->{kitchen} } @{ $p->{remote_kitchens} }], [$odd, 'kB'],
		  'its remote kitchens: kB and the odd name, read back from their subjects');
	is_deeply([map { $_->{info_from_kitchen}{kitchen_name} } @{ $p->{dumpling_kitchens} }], [],
		  'and none of them among its own kitchens');
	is($p->{nats}{dumplings_out}, $n, 'it counts what it published');
	is($p->{dumpling_eater_count}, 1, 'the link is not counted as an eater (the one is this)');
}

# ---- a node killed and restarted mid-stream, an eater stalled ----------------
# Hub B's node is killed and restarted; an eater on hub A, the kitchen's
# hub, stops reading all along. Hub C's eater must not notice either.

my $m = 20000;
write_pcap("$dir/stream.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $m);
%eat = (onB => eater($hub{B}, 'onB'), onC => eater($hub{C}, 'onC', '--count', $m),
	stalled => eater($hub{A}, 'stalled'));
# (joined() counts every eater that ever joined a hub)
ok(joined($hub{B}, 'eater', 1) && joined($hub{C}, 'eater', 4) && joined($hub{A}, 'eater', 3),
   'eaters on hubs A, B and C joined');
kill 'STOP', $eat{stalled}{pid};
my $kl = kitchen($hub{A}, 'kL', "$dir/stream.pcap", '--speed', 4000);
ok(wait_for(sub { lines($eat{onB}{out}) > 2000 }, 30), 'the stream reaches hub B');
kill 'KILL', $node[1];
waitpid $node[1], 0;
ok(wait_for(sub { hub_log($hub{B}) =~ /NATS link: disconnected/ }, 10), 'hub B saw its node go');
ok(wait_for(sub { my @c = hub_log($hub{B}) =~ /NATS link: connected to/g; @c >= 2 }, 20),
   'and connected to another node by itself');
$node[1] = start_node(1);
is(reap($kl, 60), 0, 'the kitchen finished the stream');
is(reap($eat{onC}{pid}, 30) >> 8, 0, 'hub C\'s eater, on a node that stayed, ate all of it')
	or diag(join "\n", grep { /dropped|nats_|lost|_in_total / && !/^#/ } split /\n/, http_get($hub{C}{out}, '/metrics'));
ok(in_order_once($eat{onC}{out}, 'kL', $m), 'each dumpling once, in order');
ok(hub_metric($hub{A}, 'dumplings_dropped_total') > 0, 'hub A skipped dumplings for its stalled eater');
kill 'CONT', $eat{stalled}{pid};

# hub B's eater asked for all m: it cannot have them all if the switch lost
# some, so it is stopped once the stream has ended
sub last_seq { my @s = seqs($_[0]); @s ? $s[-1][1] : 0 }
ok(wait_for(sub { last_seq($eat{onB}{out}) == $m }, 20), 'hub B\'s eater has the last dumpling');
stop($eat{onB}{pid}, 'TERM');
my @got = map { $_->[1] } grep { $_->[0] eq 'kL' } seqs($eat{onB}{out});
my %seen = map { $_ => 1 } @got;
is(scalar @got, scalar keys %seen, 'hub B\'s eater saw no dumpling twice');
is(join(',', @got), join(',', sort { $a <=> $b } @got), 'and saw them in order');
my $gaps = $got[-1] - @got;
my ($lost, $before) = (slurp($eat{onB}{err}) // '') =~ /lost (\d+): \d+ skipped by the hub because this eater was slow, (\d+) lost before the hub/;
($lost, $before) = (0, 0) if (slurp($eat{onB}{err}) // '') =~ /lost no dumplings/;
is($before // -1, $gaps, "hub B's eater reports the switch's gaps as lost before the hub ($gaps)");
my ($booked) = http_get($hub{B}{out}, '/metrics') =~ /^dumplings_hub_kitchen_dumplings_lost_total\{kitchen="kL"\} (\d+)$/m;
is($booked // -1, $gaps, 'and hub B\'s books say the same');
ok(hub_metric($hub{B}, 'nats_reconnects_total') >= 1, 'hub B counts its reconnect');

# ---- a stalled node never slows a hub's own eaters ----------------------------
# Hub A's node stops reading (SIGSTOP): hub A's own eater still gets all of
# hub A's own kitchen's dumplings (20 MB, more than socket buffers hold),
# while the link's publisher is stuck.
kill 'STOP', $node[0];
my $local = eater($hub{A}, 'local', '-k', 'kT', '--count', $m);
ok(joined($hub{A}, 'eater', 4), 'an eater joined hub A');
my $kt = kitchen($hub{A}, 'kT', "$dir/stream.pcap", '--speed', 8000);
is(reap($kt, 60), 0, 'a kitchen on hub A finished while its NATS node is stalled');
is(reap($local->{pid}, 30) >> 8, 0, 'hub A\'s own eater ate all of it');
ok(in_order_once($local->{out}, 'kT', $m), 'each once, in order');
kill 'CONT', $node[0];

stop($hub{$_}{pid}, 'TERM') for qw(A B C);
unlike(hub_log($hub{$_}), qr/ERROR|AddressSanitizer|runtime error/, "hub $_ logged no error") for qw(A B C);
stop($_, 'TERM') for @node;

done_testing();
