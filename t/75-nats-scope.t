#!/usr/bin/perl
# What a federated hub subscribes to follows its eaters' kitchen filters:
# a real nats-server, kitchens on hub A, eaters on hub B.
#  - while every eater of hub B names kitchen kA, hub B is sent only kA's
#    dumplings (dumplings.kA.>), and its eater misses none of them;
#  - an eater that takes every kitchen widens it to dumplings.>, at once
#    for what comes next;
#  - a kitchen that hub B stopped taking mid-run, and takes again, is no
#    loss in hub B's books;
#  - what NATS brings over a hub's --max-message is dropped and counted.
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

my $dir = tmpdir();
my $chef = root() . '/t/chefs/every.lua';
my $port = free_port();
my $node = spawn([$nats_server, '-a', '127.0.0.1', '-p', $port], err => "$dir/nats.err");
ok(wait_for_port($port), 'a nats-server');
my @nats = ('--nats', "nats://127.0.0.1:$port", '--status-freq', 1000);
my $A = start_hub(@nats);
my $B = start_hub(@nats);
# hub C takes what NATS brings whole, but its own --max-message refuses it
my $C = start_hub(@nats, '--max-message', 512);
ok(wait_for(sub { hub_log($_) =~ /NATS link: connected/ }, 20), 'a hub joined') for $A, $B, $C;



sub kitchen {
	my ($name, $pcap, @args) = @_;
	return spawn([bin(), 'kitchen', '-n', $name, '-f', '', '-c', $chef, '-r', $pcap,
		      '--status-interval', 0, '-H', "127.0.0.1:$A->{in}", @args],
		     err => "$dir/kitchen-$name.err");
}

sub eater {
	my ($name, @args) = @_;
	my %e = (out => "$dir/$name.out", err => "$dir/$name.err");
	$e{pid} = spawn([bin(), 'eat', '-H', "127.0.0.1:$B->{out}", '--json', '-n', $name, @args],
			out => $e{out}, err => $e{err});
	return \%e;
}

sub seqs {
	my ($file, $kitchen) = @_;
	return map { /"kitchen":"\Q$kitchen\E".*?"seq":(\d+)/ ? $1 : () } split /\n/, slurp($file) // '';
}

sub scope_said {
	my ($re, $times) = @_;
	return wait_for(sub { my @m = hub_log($B) =~ /$re/g; @m >= $times }, 20);
}

# ---- only kA --------------------------------------------------------------------

my $n = 1000;
write_pcap("$dir/p$n.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $n);
my $onlyA = eater('onlyA', '-k', 'kA');
ok(scope_said(qr/NATS link: takes only the dumplings of kA,/, 1),
   'hub B, whose one eater names kA, takes only kA\'s dumplings');
my $in0 = hub_metric($B, 'nats_dumplings_in_total') // 0;
my %k = (kA => kitchen('kA', "$dir/p$n.pcap", '--speed', 4000),
	 kB => kitchen('kB', "$dir/p$n.pcap", '--speed', 4000));
is(reap($k{$_}, 60), 0, "kitchen $_ on hub A sent its file") for sort keys %k;
ok(wait_for(sub { seqs($onlyA->{out}, 'kA') >= $n }, 20), 'the eater has all of kA');
is(join(',', seqs($onlyA->{out}, 'kA')), join(',', 1 .. $n), 'in order, once');
sleep 0.5;
is((hub_metric($B, 'nats_dumplings_in_total') // 0) - $in0, $n, "hub B was sent kA's $n, none of kB's");

# ---- every kitchen, then kA again, then every kitchen: one run of kB across ----------

my $long = 3000;
write_pcap("$dir/p$long.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $long);
my $kb = kitchen('kB', "$dir/p$long.pcap", '--speed', 500);
sleep 1;
my $all1 = eater('all1');
ok(scope_said(qr/NATS link: takes every kitchen's dumplings/, 1),
   'an eater with no kitchen filter: hub B takes every kitchen');
ok(wait_for(sub { seqs($all1->{out}, 'kB') >= 300 }, 20), 'and it gets kB, from then on');
kill 'TERM', $all1->{pid};
reap($all1->{pid}, 10);
ok(scope_said(qr/NATS link: takes only the dumplings of kA,/, 2), 'it leaves: only kA again');
sleep 1;
my $all2 = eater('all2');
ok(scope_said(qr/NATS link: takes every kitchen's dumplings/, 2), 'another comes: every kitchen again');
is(reap($kb, 60), 0, 'kitchen kB sent its long file');
ok(wait_for(sub { ((seqs($all2->{out}, 'kB'))[-1] // 0) == $long }, 20),
   'the second eater has kB to its last dumpling');
my @got = seqs($all2->{out}, 'kB');
is(join(',', @got), join(',', $got[0] .. $long), 'with no gap from when it came');
is(hub_metric($B, 'dumplings_lost_upstream_total'), 0,
   'and hub B counts no loss: kB\'s dumplings while it was not taking them were not lost');

ok(wait_for(sub { (hub_metric($C, 'nats_oversized_total') // 0) == 2 * $n + $long }, 20),
   'hub C dropped and counted every dumpling over its --max-message')
	or diag(hub_metric($C, 'nats_oversized_total'));
is(hub_metric($C, 'nats_dumplings_in_total'), 0, 'and took none');

kill 'TERM', $_->{pid} for $onlyA, $all2;
reap($_->{pid}, 10) for $onlyA, $all2;
kill 'TERM', $_->{pid} for $A, $B, $C;
reap($_->{pid}, 20) for $A, $B, $C;
kill 'TERM', $node;
reap($node, 20);
done_testing();
