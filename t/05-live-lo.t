#!/usr/bin/perl
# Live capture: DNS queries sent over loopback come out as dumplings.
# Capturing needs root (or CAP_NET_RAW), so the test skips without it.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use IO::Socket::INET;

plan skip_all => 'live capture on lo needs root' if $> != 0;

my $dir = tmpdir();
my $token = sprintf 't%d%d', $$, int(rand(1e6));
my @names = map { "host$_.$token.example" } 1 .. 3;

my $pid;
$pid = spawn([bin(), 'kitchen', '-i', 'lo', '-c', 'dns', '--stdout', '-p', '60',
		 '-f', 'udp dst port 53 and dst host 127.0.0.1'],
		out => "$dir/out", err => "$dir/err");
ok(wait_for(sub { (slurp("$dir/err") // '') =~ /capturing on lo/ }, 20), 'the kitchen starts capturing on lo')
	or diag(slurp("$dir/err"));

sub dns_query {
	my ($id, $name) = @_;
	my $qname = join('', map { chr(length) . $_ } split /\./, $name) . "\0";
	return pack('n6', $id, 0x0100, 1, 0, 0, 0) . $qname . pack('n2', 1, 1);
}

my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 53, Proto => 'udp')
	or BAIL_OUT("udp socket: $!");
# Resend until seen (bounded): the first packets may race the filter setup.
my %seen;
for my $round (1 .. 20) {
	$sock->send(dns_query($round * 10 + $_, $names[$_])) for 0 .. $#names;
	last if wait_for(sub {
		%seen = map { ($_->{payload}{lookup}{hostname} // '') => 1 }
			grep { $_->{metadata}{driver} eq 'packet' }
			decode_lines(join "\n", grep { /\}$/ } split /\n/, slurp("$dir/out") // '');
		!grep { !$seen{$_} } @names;
	}, 0.5);
}
ok($seen{$_}, "lookup of $_ became a dumpling") for @names;

my $status = stop($pid, 'TERM');
is($status >> 8, 0, 'SIGTERM stops the kitchen cleanly');
my @docs = decode_lines(slurp("$dir/out"));
my ($final) = grep { $_->{metadata}{driver} eq 'interval' } reverse @docs;
ok($final && $final->{payload}{lookups_seen}{$names[0]}, 'a final interval dumpling summarizes the lookups');
is($docs[0]{metadata}{chef}, 'DNSLookupChef', 'dumplings come from the DNS chef');
like(slurp("$dir/err"), qr/packets, \d+ dumplings/, 'the kitchen reports its totals on exit');

# With no -f, the default filter must suit the interface: "any" is a Linux
# cooked capture, where the VLAN clauses of the Ethernet default are refused.
$pid = spawn([bin(), 'kitchen', '-i', 'any', '-c', 'dns', '--stdout', '-p', '60'],
	     out => "$dir/any.out", err => "$dir/any.err");
ok(wait_for(sub { (slurp("$dir/any.err") // '') =~ /capturing on any/ }, 20),
   'the default filter works on the "any" interface');
is(stop($pid, 'TERM') >> 8, 0, 'and the kitchen stops cleanly');

# The default filter, live on Ethernet (lo): DNS inside an MPLS label
# stack, a PPPoE session and a VLAN tag, sent as raw frames, all come
# through; the kernel takes the joined program.
{
	use Socket;
	use Pcap;
	my $ifindex = (slurp('/sys/class/net/lo/ifindex') // 1) + 0;
	socket(my $raw, 17, SOCK_RAW, 0) or BAIL_OUT("packet socket: $!");	# AF_PACKET
	my $to = pack('S n i S C C a8', 17, 0, $ifindex, 0, 0, 6, '');
	my $q = sub { ipv4(17, udp(40000, 53, dns_query(7, $_[0])), { src => '127.0.0.1', dst => '127.0.0.1' }) };
	my $label = sub { pack('N', $_[0] << 12 | $_[1] << 8 | 64) };
	my %frame = (
		"mpls.$token.example" => ether(0x8847, $label->(16, 0) . $label->(17, 1) . $q->("mpls.$token.example")),
		"pppoe.$token.example" => ether(0x8864, pack('CCnn', 0x11, 0, 1, 2 + length $q->("pppoe.$token.example"))
						  . pack('n', 0x21) . $q->("pppoe.$token.example")),
		"vlan.$token.example" => ether(0x8100, pack('nn', 7, 0x0800) . $q->("vlan.$token.example")),
	);
	$pid = spawn([bin(), 'kitchen', '-i', 'lo', '-c', 'dns', '--stdout', '-p', '60'],
		     out => "$dir/tagged.out", err => "$dir/tagged.err");
	ok(wait_for(sub { (slurp("$dir/tagged.err") // '') =~ /capturing on lo/ }, 20),
	   'the default filter is set on lo') or diag(slurp("$dir/tagged.err"));
	my %got;
	for my $round (1 .. 20) {
		send($raw, $frame{$_}, 0, $to) // diag("send: $!") for sort keys %frame;
		last if wait_for(sub {
			%got = map { ($_->{payload}{lookup}{hostname} // '') => 1 }
				grep { $_->{metadata}{driver} eq 'packet' }
				decode_lines(join "\n", grep { /\}$/ } split /\n/, slurp("$dir/tagged.out") // '');
			!grep { !$got{$_} } keys %frame;
		}, 0.5);
	}
	ok($got{$_}, "the default filter takes $_") for sort keys %frame;
	is(stop($pid, 'TERM') >> 8, 0, 'and the kitchen stops cleanly');
}

# Live, interval handlers run on the wall clock, guarded like any call into
# Lua: an endless one is interrupted and disabled, the others go on.
spew("$dir/spin.lua", <<'LUA');
local c = { name = "LiveSpin", pokes = 0 }
function c:interval_handler()
  self.pokes = self.pokes + 1
  if self.pokes == 2 then while true do end end
  return { pokes = self.pokes }
end
jit.off(c.interval_handler)
return c
LUA
spew("$dir/tick.lua", <<'LUA');
local c = { name = "LiveTick", n = 0 }
function c:interval_handler() self.n = self.n + 1; return { n = self.n } end
return c
LUA
$pid = spawn([bin(), 'kitchen', '-i', 'lo', '-f', 'udp port 9', '--stdout', '-p', '0.2',
	      '--chef-timeout', '0.5', '--status-interval', '3600',
	      '-c', "$dir/spin.lua", '-c', "$dir/tick.lua"],
	     out => "$dir/spin.out", err => "$dir/spin.err");
ok(wait_for(sub { (slurp("$dir/spin.err") // '') =~ /LiveSpin: error: interval_handler: disabled/ }, 30),
   'an endless live interval handler is interrupted and disabled');
my $ticks = sub { scalar grep { $_->{metadata}{chef} eq 'LiveTick' } decode_lines(join "\n",
	grep { /\}$/ } split /\n/, slurp("$dir/spin.out") // '') };
my $before = $ticks->();
ok(wait_for(sub { $ticks->() > $before + 2 }, 30), 'the other chef goes on ticking');
is(stop($pid, 'TERM') >> 8, 0, 'and SIGTERM stops the kitchen cleanly');
like(slurp("$dir/spin.err"), qr/chef LiveSpin has run for [\d.]+ s: interrupting it/, 'the guard named the chef');
my ($health) = grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } decode_lines(slurp("$dir/spin.out"));
cmp_ok($health->{payload}{pokes_skipped} // 0, '>=', 1,
       'the intervals that passed while it ran are not made up for, but counted');

done_testing;
