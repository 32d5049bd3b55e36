#!/usr/bin/perl
# The decoder against tshark: every capture in the shared corpus is run
# through t/chefs/truth.lua, which prints the same 30 columns as the corpus's
# tshark ground truth (FILE.truth.tsv, made with tshark's IP reassembly on,
# as the kitchen reassembles by default). Where reassembly changes the output
# the corpus also has FILE.truth-noreasm.tsv, made with it off: the capture is
# run once more with --reassembly-memory 0 and compared with that.
# Every column of every frame must match, except the differences listed in
# %DIFFERENT below, each with its reason.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

need_corpus();

my @COLUMNS = qw(frame.number frame.len frame.cap_len eth.src eth.dst vlan.id
	arp.opcode arp.src.proto_ipv4 arp.dst.proto_ipv4 ip.src ip.dst ip.proto
	ipv6.src ipv6.dst ipv6.nxt tcp.srcport tcp.dstport tcp.flags
	udp.srcport udp.dstport icmp.type icmpv6.type dns.id dns.flags.response
	dns.qry.name dns.qry.type dns.count.answers
	tls.handshake.extensions_server_name http.request.method http.host);

# Captures libpcap refuses to open (broken file headers): the kitchen must
# exit non-zero with one line naming the file. tshark fails on them too.
my %UNREADABLE = (
	'pcap-invalid-version-1.pcap'  => qr/archaic pcap savefile format/,
	'pcapng-invalid-vers-1.pcapng' => qr/unsupported pcapng savefile version/,
);

# Intentional differences: "file frame" => { column => [ours, reason] }.
# A malformed DNS name ends the decoding of its message: the question is
# not reported at all, while tshark prints a placeholder for the name and
# goes on reading the question's type behind it.
my %DIFFERENT = (
	'dns-invalid-names.pcap 2' => {
		'dns.qry.name' => ['', 'the name is a compression pointer to itself; '
			. 'tshark prints "<Name contains a pointer that loops>"'],
		'dns.qry.type' => ['', 'no question is reported behind a malformed name'],
	},
	'dns-badlabel.pcap 1' => {
		'dns.qry.name' => ['', 'the name runs on for over a thousand bytes of labels, '
			. 'past the 255 DNS allows; tshark prints "<Name too long>"'],
		'dns.qry.type' => ['', 'no question is reported behind a malformed name'],
	},
);

my $bin = bin();
my $chef = root() . '/t/chefs/truth.lua';
my $dir = pcaps_dir();
my @captures = sort map { s{.*/}{}r } glob("$dir/*.pcap $dir/*.pcapng");
need(scalar @captures, "no captures in $dir");

my %used;
for my $file (@captures) {
	subtest $file => sub { check_capture($file, 'truth') };
	next unless -e pcap("$file.truth-noreasm.tsv");
	subtest "$file, not reassembling" => sub {
		check_capture($file, 'truth-noreasm', '--reassembly-memory', 0);
	};
}
for my $key (sort keys %DIFFERENT) {
	for my $col (sort keys %{ $DIFFERENT{$key} }) {
		ok($used{"$key $col"}, "listed difference $key $col still occurs");
	}
}
done_testing();

sub read_truth {
	my ($file, $kind) = @_;
	my $path = pcap("$file.$kind.tsv");
	open my $fh, '<', $path or die "$path: $!";
	return map { chomp; [split /\t/, $_, -1] } <$fh>;
}

sub check_capture {
	my ($file, $kind, @options) = @_;
	my $r = run('kitchen', '-r', pcap($file), '-c', $chef, '--stdout', '-f', '', '-q', @options);
	if (my $why = $UNREADABLE{$file}) {
		isnt($r->{status}, 0, 'unreadable capture: non-zero exit');
		like($r->{err}, qr/\Q$file\E.*$why/, '... with a message naming the file');
		is($r->{out}, '', '... and no dumplings');
		return;
	}
	is($r->{status}, 0, 'kitchen exits 0') or diag($r->{err});
	is($r->{signal}, 0, 'no signal');
	my @got = map { $_->{payload} } decode_lines($r->{out});
	my @truth = read_truth($file, $kind);
	is(scalar @got, scalar @truth, 'one dumpling per frame');
	for my $c (1 .. $#COLUMNS) {
		my (@want, @have);
		for my $i (0 .. $#truth) {
			my $frame = $i + 1;
			my $want = $truth[$i][$c] // '';
			my $diff = $DIFFERENT{"$file $frame"}{ $COLUMNS[$c] };
			if ($diff && $want ne $diff->[0]) {
				$want = $diff->[0];
				$used{"$file $frame $COLUMNS[$c]"} = 1;
			}
			push @want, "frame $frame: $want";
			push @have, "frame $frame: " . ($got[$i][ $c - 1 ] // '(none)');
		}
		is_deeply(\@have, \@want, $COLUMNS[$c]);
	}
}
