#!/usr/bin/perl
# The examples in the README and the man pages are the ones in examples/,
# and they run.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $chef = slurp(root() . '/examples/syncounter.lua');
my $readme = slurp(root() . '/README.md');
my $man = slurp(root() . '/man/dumplings-lua.3');

# The README indents code by four spaces; the man page uses a literal block.
(my $in_readme = $chef) =~ s/^(?=.)/    /mg;
ok(index($readme, $in_readme) >= 0, 'the README shows examples/syncounter.lua as it is');
ok(index($man, $chef) >= 0, 'dumplings-lua(3) shows examples/syncounter.lua as it is');

my $r = run('kitchen', '-q', '-r', root() . '/examples/sample.pcap', '-c',
	    root() . '/examples/syncounter.lua', '--stdout');
is($r->{status}, 0, 'the SYN counter runs on the bundled capture');
my %syns;
my @kinds = map { ref $_->{payload}{syns_by_port} } decode_lines($r->{out});
ok(@kinds && !grep({ $_ ne 'HASH' } @kinds), 'syns_by_port is always an object');
for my $d (decode_lines($r->{out})) {
	my $ports = $d->{payload}{syns_by_port};
	$syns{$_} += $ports->{$_} for keys %$ports;
}
ok($syns{443} && $syns{80}, 'it counts SYNs to ports 443 and 80');

my $tcpdump = run([qw(tcpdump -nr), root() . '/examples/sample.pcap',
		   'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port 443']);
SKIP: {
	skip 'tcpdump not available', 1 if $tcpdump->{status};
	my $want = () = $tcpdump->{out} =~ /\n/g;
	is($syns{443}, $want, 'as many SYNs to 443 as tcpdump finds');
}

# examples/wifi.lua, run as its comment says, on beacons from two access
# points (and a data frame its filter leaves out)
{
	use Pcap;
	my $wifi = slurp(root() . '/examples/wifi.lua');
	my ($filter) = $wifi =~ /^--\s+dumplings kitchen -i \S+ -f '([^']+)' -c examples\/wifi\.lua$/m;
	ok($filter, 'examples/wifi.lua says how to run it');
	my $beacon = sub {
		my ($bssid, $ssid, $mhz, $dbm) = @_;
		pack('CCv V vv c', 0, 0, 13, 0x28, $mhz, 0x0140, $dbm)
		. pack('CCv', 0x80, 0, 0) . pack('H12', 'ffffffffffff') . pack('H12', $bssid) x 2
		. pack('v Q< v v', 0, 1, 100, 0x0401) . pack('CC/a*', 0, $ssid) . pack('CC/a*', 1, "\x82")
	};
	my $dir = tmpdir();
	write_pcap("$dir/air.pcap", 127, $beacon->('02000000000a', 'cafe', 2412, -70),
		   $beacon->('02000000000b', 'library', 5180, -61),
		   $beacon->('02000000000a', 'cafe', 2412, -48),
		   pack('CCv V', 0, 0, 8, 0) . pack('CCv', 0x08, 0x02, 0) . "\0" x 20);
	$r = run('kitchen', '-q', '-r', "$dir/air.pcap", '-f', $filter // '', '-c',
		 root() . '/examples/wifi.lua', '--stdout');
	is($r->{status}, 0, 'the wifi example runs on a radiotap capture');
	my ($last) = reverse decode_lines($r->{out});
	is_deeply($last->{payload}{networks}, {
		'02:00:00:00:00:0a' => { ssid => 'cafe', mhz => 2412, best_dbm => -48, beacons => 2 },
		'02:00:00:00:00:0b' => { ssid => 'library', mhz => 5180, best_dbm => -61, beacons => 1 } },
		  'each access point: its SSID, channel, strongest signal, beacons');
}

my $syn = slurp(root() . '/man/dumplings-lua.3');
like($syn, qr/local chef = \{ name = "DNSLookupChef" \}/, 'the man page synopsis is the DNS chef');

done_testing;
