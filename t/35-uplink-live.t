#!/usr/bin/perl
# Live capture never waits for the network: with the hub away, the uplink
# buffers up to its bound, drops the oldest dumplings, counts and logs the
# drops, and the kitchen keeps cooking; when the hub appears, the newest
# dumplings flow. Needs root to capture on the loopback interface.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Socket qw(pack_sockaddr_in inet_aton);
use Test::More;
use TestLib;
use HubTest;

plan skip_all => 'live capture needs root' if $> != 0;
need(pyok(), 'python3-websockets is not installed');

my $dir = tmpdir();
# the DNS decoder looks at the DNS ports; mDNS's is the quiet one here
my $dport = 5353;
my ($in, $out) = (free_port(), free_port());

# A DNS query for NAME: the chef sees it on lo, whether anyone answers or not.
sub query {
	my ($name) = @_;
	my $q = pack('n6', 0x1234, 0x0100, 1, 0, 0, 0);
	$q .= pack('C', length $_) . $_ for split /\./, $name;
	return $q . pack('Cn2', 0, 1, 1);
}

my $kerr = "$dir/kitchen.err";
my $kpid = spawn([bin(), 'kitchen', '-i', 'lo', '-f', "udp and dst port $dport", '-c', 'dns',
		  '-p', '3600', '-H', "127.0.0.1:$in"], err => $kerr);
ok(wait_for(sub { (slurp($kerr) // '') =~ /cannot reach hub/ }, 20), 'the kitchen starts without a hub');
sleep 1;	# capture is set up before the hub is tried; give it a moment

# Unconnected, so the ICMP "port unreachable" answers cannot fail our sends.
my $s = IO::Socket::INET->new(Proto => 'udp') or die "socket: $!";
my $to = pack_sockaddr_in($dport, inet_aton('127.0.0.1'));
for my $i (1 .. 30000) {
	$s->send(query("q$i.example.com"), 0, $to);
	select undef, undef, undef, 0.001 if $i % 500 == 0;	# let the kernel buffer drain
}
ok(wait_for(sub { (slurp($kerr) // '') =~ /uplink to hub \S+ is full: dropped the oldest/ }, 30),
   'with the hub away, the uplink drops the oldest dumplings and says so');
ok(kill(0, $kpid), 'the kitchen keeps running');

# The hub appears: the kitchen reconnects and the newest dumplings arrive.
# The kitchen is held still meanwhile, so that the eater is there first:
# else its next retry may beat the eater to the hub, and what it buffered
# goes to no one.
kill 'STOP', $kpid;
my $hpid = spawn([bin(), 'hub', '-a', '127.0.0.1', '--in-port', $in, '--out-port', $out],
		 err => "$dir/hub.err");
wait_for_port($out);
my $eout = "$dir/eat.out";
my $epid = spawn([bin(), 'eat', '-H', "127.0.0.1:$out", '--json', '--no-interval'],
		 out => $eout);
ok(wait_for(sub { (slurp("$dir/hub.err") // '') =~ /eater \S+ joined/ }, 20), 'an eater joined');
kill 'CONT', $kpid;
ok(wait_for(sub { (slurp($kerr) // '') =~ /connected to hub/ }, 30), 'the kitchen reconnects');
$s->send(query('after.example.com'), 0, $to);
ok(wait_for(sub { (slurp($eout) // '') =~ /"hostname":"after\.example\.com"/ }, 30),
   'a dumpling made after the reconnect arrives');
my ($first) = (slurp($eout) // '') =~ /"hostname":"q(\d+)\.example\.com"/;
ok(defined $first && $first > 1, "the oldest were dropped (the first to arrive is q${\($first // '?')})");
is(stop($epid), 0, 'eater exits 0');
stop($kpid, 'INT');
like(slurp($kerr), qr/dumplings sent, \d+ dropped/, 'the kitchen reports its drops on the way out');
is(stop($hpid), 0, 'hub exits 0');

done_testing();
