#!/usr/bin/perl
# The books balance: a kitchen streams while one eater stalls for a while
# and the hub is killed (kill -9) and restarted mid-stream. Every gap in
# the seq numbers an eater saw is accounted for by what the kitchen, the
# hubs and the eater report: the hub's notices of what it skipped for the
# stalled eater, and nothing else, since what the dead hub had not
# acknowledged the kitchen sent again (and the eaters dropped what they had).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;
use Pcap;

need(pyok(), 'python3-websockets is not installed');

my $dir = $ENV{KEEP_DIR} || tmpdir();
my $n = 30000;
# one packet a second of capture time, replayed 5000 times faster: 6 s
write_pcap("$dir/stream.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $n);
my $chef = root() . '/t/chefs/every.lua';
my ($in, $out) = (free_port(), free_port());

# no status dumplings (they carry no seq), and a queue the stalled eater
# soon falls out of; under ThreadSanitizer, whose eaters are slow, one
# that holds the kitchen's burst of what it sends again after the break,
# which the stalled eater still falls out of in its 2 s (10000 dumplings)
my $queue = bin() =~ /tsan/ ? 3000 : 300;
sub hub_on_ports {
	my ($tag) = @_;
	my $pid = spawn([bin(), 'hub', '-a', '127.0.0.1', '--in-port', $in, '--out-port', $out,
			 '--queue', $queue, '--status-freq', 1000], err => "$dir/hub$tag.err");
	wait_for_port($out) && wait_for_port($in) or die 'hub did not start';
	return { pid => $pid, in => $in, out => $out, err => "$dir/hub$tag.err" };
}

my $hub = hub_on_ports(1);
my %eat;
for my $name ('fast', 'stalled') {
	$eat{$name} = { out => "$dir/$name.out", err => "$dir/$name.err" };
	$eat{$name}{pid} = spawn([bin(), 'eat', '-H', "127.0.0.1:$out", '--json', '--retry', '-n', $name],
				 out => $eat{$name}{out}, err => $eat{$name}{err});
}
ok(joined($hub, 'eater', 2), 'two eaters joined');
# no health reports: every numbered dumpling is one of the chef's
my $kitchen = spawn([bin(), 'kitchen', '-f', '', '-c', $chef, '-r', "$dir/stream.pcap", '--speed', 5000, '--status-interval', 0,
		     '-H', "127.0.0.1:$in"], err => "$dir/kitchen.err");
sub lines { my @l = split /\n/, slurp($_[0]) // ''; scalar @l }

# the stalled eater stops reading for two seconds, and catches up after
ok(wait_for(sub { lines($eat{stalled}{out}) > 1000 }, 60), 'the stream is flowing');
kill 'STOP', $eat{stalled}{pid};
sleep 2;
kill 'CONT', $eat{stalled}{pid};
ok(wait_for(sub { lines($eat{fast}{out}) > $n / 2 }, 60), 'half way');

# kill -9 mid-stream; the kitchen is held still while the new hub starts, so
# that nothing it sends again finds a hub with no eater yet
kill 'KILL', $hub->{pid};
waitpid $hub->{pid}, 0;
kill 'STOP', $kitchen;
$hub = hub_on_ports(2);
ok(joined($hub, 'eater', 2), 'both eaters are back on the restarted hub');
kill 'CONT', $kitchen;
is(reap($kitchen, 120), 0, 'the kitchen finished the file and exited 0');

sub seqs {
	my ($file) = @_;
	return map { /"chef":"EveryChef".*?"seq":(\d+)/ ? $1 : () } split /\n/, slurp($file) // '';
}
ok(wait_for(sub { lines($eat{fast}{out}) >= $n }, 60), 'the fast eater has them all');
sleep 1;	# whatever the stalled one is still to get
stop($eat{$_}{pid}, 'TERM') for keys %eat;
stop($hub->{pid}, 'TERM');

my $kerr = slurp("$dir/kitchen.err") // '';
unlike($kerr, qr/uplink.*(?:dropped|unconfirmed)/, 'the kitchen dropped nothing and has nothing unconfirmed');
my ($again) = $kerr =~ /uplink to hub \S+: \d+ dumplings sent, (\d+) of them again/;
ok(defined $again, 'the kitchen says what it sent again after the break (' . ($again // '?') . ')');
for my $name ('fast', 'stalled') {
	my @seq = seqs($eat{$name}{out});
	my %seen = map { $_ => 1 } @seq;
	my $gaps = $n - keys %seen;
	is(scalar @seq, scalar keys %seen, "$name: no dumpling shown twice");
	my $err = slurp($eat{$name}{err}) // '';
	my ($lost, $skipped, $before) = $err =~ /lost (\d+): (\d+) skipped by the hub because this eater was slow, (\d+) lost before the hub/;
	($lost, $skipped, $before) = (0, 0, 0) if $err =~ /lost no dumplings/;
	ok(defined $lost, "$name: it reports what it lost");
	is($lost // -1, $gaps, "$name: what it reports lost ($lost) is the gaps in what it showed");
	is($before // -1, 0, "$name: nothing was lost before the hub");
	if ($name eq 'fast') {
		is($gaps, 0, 'fast: the hub dying mid-stream cost it nothing');
	} else {
		ok($skipped > 0, "stalled: the hub skipped $skipped for it, and said so");
	}
}

done_testing();
