#!/usr/bin/perl
# Golden tests for the bundled chefs: each chef cooks known captures and
# must produce exactly the dumplings in t/golden/ (creation_time and run,
# which change between runs, chef_rev, which changes with every edit of a
# chef, and seq are left out; each is checked for its form). To accept a deliberate
# change, run with DUMPLINGS_REGOLD=1 and review the diff of t/golden/.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

need_corpus();
use JSON::PP;

my %cases = (
	dns => [ [qw(-p 60)], 'dns_udp.pcap', 'dns-long-connection.pcap',
		 'pcapng-multi-interface.pcapng', 'ipv6-fragmented-dns.pcap', 'SAMPLE' ],
	arp => [ [], 'arp-who-has.pcap', 'linuxsll-arp.pcap', 'icmp_dot1q.pcap',
		 '802.1ad_QinQ.pcap', 'SAMPLE' ],
	packetcount => [ [qw(-p 1)], 'wikipedia.pcap', 'q-in-q.pcap', 'linux_dlt_sll2.pcap',
			 'icmp-destunreach-udp.pcap' ],
	toptalkers => [ [qw(-p 2)], 'http-get.pcap', 'wikipedia.pcap', 'SAMPLE' ],
	servernames => [ [qw(-p 60)], 'tls-chrome-34-google.pcap', 'http-get.pcap',
			 'wikipedia.pcap', 'SAMPLE' ],
	tls => [ [qw(-p 60)], 'tls-chrome-34-google.pcap', 'SAMPLE' ],
	dhcp => [ [qw(-p 60)], 'dhcp.pcap', 'pcapng-be-test001.pcapng' ],
	flow => [ [], 'http-get.pcap', 'dns_tcp.pcap', 'communityid-udp.pcap', 'icmpv6.pcap',
		  'tcp-handshake-nano.pcap', 'SAMPLE' ],
);

my $canon = JSON::PP->new->canonical->utf8;

# metadata.seq must count 1, 2, 3 ... over every dumpling of the run and
# metadata.run be one 16-digit hex id: checked here, then left out too.
sub normalize {
	my ($out) = @_;
	my (@lines, %runs);
	for my $doc (decode_lines($out)) {
		delete $doc->{metadata}{creation_time};
		my $rev = delete $doc->{metadata}{chef_rev} // '';
		$doc->{metadata}{chef_rev} = 'not 8 hex digits' if $rev !~ /^[0-9a-f]{8}$/;
		my $seq = delete $doc->{metadata}{seq} // 0;
		$doc->{metadata}{seq} = "not " . (@lines + 1) if $seq != @lines + 1;
		my $run = delete $doc->{metadata}{run} // '';
		$doc->{metadata}{run} = 'not 16 hex digits' if $run !~ /^[0-9a-f]{16}$/;
		$runs{$run} = 1;
		push @lines, $canon->encode($doc);
	}
	push @lines, 'more than one run: ' . join(',', sort keys %runs) if keys %runs > 1;
	return join('', map { "$_\n" } @lines);
}

for my $chef (sort keys %cases) {
	my ($opts, @files) = @{ $cases{$chef} };
	my @args = map { ('-r', $_ eq 'SAMPLE' ? root() . '/examples/sample.pcap' : pcap($_)) } @files;
	my $r = run('kitchen', '--stdout', '-q', '-f', '', '-c', $chef, @$opts, @args);
	is($r->{status}, 0, "$chef: kitchen exits 0");
	is($r->{err}, '', "$chef: nothing logged");
	my $got = normalize($r->{out});
	my $golden = root() . "/t/golden/$chef.ndjson";
	spew($golden, $got) if $ENV{DUMPLINGS_REGOLD};
	my $want = slurp($golden) // '';
	ok(length $got, "$chef: makes dumplings");
	if ($got eq $want) {
		pass("$chef: matches t/golden/$chef.ndjson");
	} else {
		my @g = split /\n/, $got;
		my @w = split /\n/, $want;
		my ($i) = grep { ($g[$_] // '') ne ($w[$_] // '') } 0 .. ($#g > $#w ? $#g : $#w);
		fail("$chef: matches t/golden/$chef.ndjson");
		diag("first difference at dumpling " . ($i + 1) . ":\n got: " . ($g[$i] // '(none)') .
		     "\nwant: " . ($w[$i] // '(none)'));
	}
}

done_testing;
