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

my $syn = slurp(root() . '/man/dumplings-lua.3');
like($syn, qr/local chef = \{ name = "DNSLookupChef" \}/, 'the man page synopsis is the DNS chef');

done_testing;
