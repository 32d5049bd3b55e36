#!/usr/bin/perl
# Deterministic output: the same capture gives byte-identical dumplings
# run after run, but for what dumplings(1) says varies (creation_time, the
# wall clock; run, new each start), because object keys are sorted
# whatever order Lua's table walk took.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

need_corpus();
my @files = (root() . '/examples/sample.pcap', map { pcap($_) }
	     qw(wikipedia.pcap dhcp.pcap tls-chrome-34-google.pcap dns-long-connection.pcap));

sub cook {
	my $r = run('kitchen', '-q', '--stdout', '-p', '1', map({ ('-r', $_) } @files), @_);
	is($r->{status}, 0, 'the kitchen exits 0') or diag $r->{err};
	(my $out = $r->{out}) =~ s/"creation_time":[-0-9.e+]+/"creation_time":T/g;
	$out =~ s/"run":"[0-9a-f]+"/"run":R/g;
	return $out;
}

my $first = cook();
my $lines = () = $first =~ /\n/g;
ok($lines > 100, "every bundled chef made dumplings ($lines)");
is(cook(), $first, 'a second run prints the same bytes, but for creation_time and run');

# One table, two insertion orders and sizes: one text.
my $r = run('kitchen', '-q', '--stdout', '-f', '', '-c', root() . '/t/chefs/orders.lua',
	    '-r', root() . '/examples/sample.pcap');
my @payloads = map { /"payload":(.*)\}$/ ? $1 : () } split /\n/, $r->{out};
is(scalar @payloads, 4, 'two dumplings of a big table, two of a small one');
is($payloads[0], $payloads[1], 'built in different orders, they print the same');
like($payloads[0] // '', qr/^\{"a":2,"inner":\{"2\.5":"two and a half","7":"seven","K":"upper","k00":40,"k01":/,
     'keys sorted by their bytes');
is($payloads[2], $payloads[3], 'so do two small ones of the same size');
my @small = ($payloads[2] // '') =~ /"(k\d\d)"/g;
is_deeply(\@small, [sort @small], 'in order') or diag($payloads[2]);
is(scalar @small, 10, 'all ten keys');

done_testing;
