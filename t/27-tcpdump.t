#!/usr/bin/perl
# tcpdump's conventions: a filter after the options, -w (pcapng that
# tcpdump and tshark read back packet for packet, byte for byte, one
# interface per source with its link type, nanoseconds kept), --write-max
# (the bound each file keeps), --count, -D, --version and -q/-v in every
# role.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;
use IO::Socket::INET;
use POSIX ();

need_corpus();
need_tshark();
need(system('tcpdump --version >/dev/null 2>&1') == 0, 'tcpdump is not installed');

my $tmp = tmpdir();
my $chef = "$tmp/one.lua";
spew($chef, <<'EOF');
-- a dumpling per packet: its length
return { name = "OneChef", packet_handler = function(self, pkt) return { len = pkt.wirelen } end }
EOF
my $quiet = "$tmp/quiet.lua";
spew($quiet, "return { name = 'QuietChef', packet_handler = function() end }\n");

sub kitchen { run('kitchen', '-q', '-c', $chef, @_, { timeout => 60 }) }

sub dumplings_of { scalar grep { /"chef":"OneChef"/ } split /\n/, $_[0]{out} }

# [frame.len, frame.time_epoch, frame.interface_id] per packet, as tshark reads them
sub tshark_frames {
	my ($path, @filter) = @_;
	open my $fh, '-|', "tshark -r '$path' -T fields -e frame.len -e frame.time_epoch " .
		"-e frame.interface_id @filter 2>/dev/null" or die "tshark: $!";
	my @rows = map { chomp; [split /\t/] } <$fh>;
	close $fh;
	return \@rows;
}

sub tcpdump_count {
	my ($path, @filter) = @_;
	my @lines = `tcpdump -n -r '$path' @filter 2>/dev/null`;
	return scalar @lines;
}

# tcpdump copies the packets into a classic pcap: their bytes, as it read them
sub tcpdump_packets {
	my ($path) = @_;
	system("tcpdump -r '$path' -w '$tmp/copy.pcap' 2>/dev/null") == 0 or return [];
	my (undef, $pkts) = read_pcap("$tmp/copy.pcap");
	return $pkts;
}

my $dns = pcap('dns_udp.pcap');
my $http = pcap('http-get.pcap');
my $sll = pcap('linuxsll-arp.pcap');
my $raw = pcap('LINKTYPE_RAW_ipv4.pcap');

# A nanosecond pcap (magic a1b23c4d) of three UDP packets, and a
# microsecond one of 300 packets of 1000 bytes for the rotation bound.
my $nano = "$tmp/nano.pcap";
{
	open my $fh, '>:raw', $nano or die;
	print $fh pack('VvvlVVV', 0xa1b23c4d, 2, 4, 0, 0, 65535, 1);
	for my $i (0 .. 2) {
		my $f = ether(0x0800, ipv4(17, udp(1000 + $i, 53, 'x' x (10 + $i))));
		print $fh pack('VVVV', 1_700_000_000 + $i, 123_456_789 + $i, length $f, length $f), $f;
	}
	close $fh;
}
my $big = "$tmp/big.pcap";
write_pcap($big, 1, map { ether(0x0800, ipv4(17, udp(2000, 53, chr($_ % 256) x 958))) } 1 .. 300);

# ----------------------------------------------------- a trailing filter
{
	my $r = kitchen('-r', $http, '--stdout', 'tcp', 'port', '80');
	is($r->{status}, 0, 'trailing filter: exits 0') or diag($r->{err});
	is(dumplings_of($r), tcpdump_count($http, 'tcp port 80'),
	   'trailing filter: the words joined, as tcpdump reads them');
	$r = kitchen('-r', $dns, '--stdout', 'tcp');
	is(dumplings_of($r), 0, 'trailing filter: one that matches nothing cooks nothing');
	$r = kitchen('-r', $dns, '--stdout', '-f', 'udp', 'port', '53');
	is($r->{status}, 2, 'a filter with -f and after the options: usage error');
	like($r->{err}, qr/-f/, '... saying so');
}

# -------------------------------------------------------------- --count
{
	my $out = "$tmp/count.pcapng";
	my $r = kitchen('-r', $http, '-r', $dns, '--stdout', '-f', '', '--count', '5', '-w', $out);
	is($r->{status}, 0, '--count: exits 0') or diag($r->{err});
	is(dumplings_of($r), 5, '--count 5: five packets cooked');
	is(tcpdump_count($out), 5, '--count 5: five packets written');
	$r = kitchen('-r', $http, '-r', $dns, '--stdout', '-f', '', '--count', '15');
	is(dumplings_of($r), 15, '--count 15 over two files: the count goes on across them');
	$r = kitchen('-r', $dns, '--stdout', '--count', '0');
	is($r->{status}, 2, '--count 0: usage error');
}

# ------------------------------------------------- -w: same link type
{
	my $out = "$tmp/eth.pcapng";
	my $r = kitchen('-r', $dns, '-r', $http, '-r', $nano, '--stdout', '-f', '', '-w', $out);
	is($r->{status}, 0, '-w: exits 0') or diag($r->{err});
	my @want = map { @{ (read_pcap($_))[1] } } $dns, $http, $nano;
	is(tcpdump_count($out), scalar @want, '-w: tcpdump reads every packet back');
	my $got = tcpdump_packets($out);
	is_deeply([map { [unpack('H*', $_->[0]), $_->[1]] } @$got],
		  [map { [unpack('H*', $_->[0]), $_->[1]] } @want],
		  '-w: the bytes and wire lengths tcpdump reads are those read');
	my $frames = tshark_frames($out);
	is_deeply([map { $_->[0] } @$frames], [map { $_->[1] } @want],
		  '-w: tshark reads the same frame lengths');
	is_deeply([map { $_->[2] } @$frames],
		  [(0) x 2, (1) x 14, (2) x 3], '-w: each packet names its source\'s interface');
	my @times = map { $_->[1] } grep { $_->[2] == 2 } @$frames;
	is_deeply(\@times, [map { sprintf '%d.%09d', 1_700_000_000 + $_, 123_456_789 + $_ } 0 .. 2],
		  '-w: nanosecond stamps kept to the nanosecond');
	is_deeply([map { $_->[1] } grep { $_->[2] == 0 } @$frames],
		  [map { $_->[1] } @{ tshark_frames($dns) }], '-w: microsecond stamps kept');
	my $idb = `tshark -r '$out' -T fields -e frame.interface_name 2>/dev/null`;
	like($idb, qr/\Q$dns\E/, '-w: interfaces named after their sources');
}

# ------------------------------------------- -w: several link types
{
	my $out = "$tmp/mixed.pcapng";
	my $r = kitchen('-r', $dns, '-r', $sll, '-r', $raw, '-r', $nano, '--stdout', '-f', '',
			'-w', $out);
	is($r->{status}, 0, '-w, four link types: exits 0') or diag($r->{err});
	my $frames = tshark_frames($out);
	my @want = map { @{ tshark_frames($_) } } $dns, $sll, $raw, $nano;
	is_deeply([map { "$_->[0] $_->[1]" } @$frames], [map { "$_->[0] $_->[1]" } @want],
		  '-w, four link types: tshark reads every packet, length and stamp');
	my $types = `tshark -r '$out' -T fields -e frame.interface_id -e frame.protocols 2>/dev/null`;
	like($types, qr/^1\tsll:ethertype:arp$/m, '-w: the Linux cooked source keeps its link type');
	like($types, qr/^2\traw:ip:udp:dns$/m, '-w: the raw IP source keeps its link type');
	like($types, qr/^0\teth:ethertype:ip:udp:dns$/m, '-w: the Ethernet source keeps its link type');
}

# ----------------------------------------------------------- -w -
{
	my $r = run(['sh', '-c', "'" . bin() . "' kitchen -q -c '$quiet' --status-interval 0 " .
		     "-r '$http' -f '' -w - | tcpdump -n -r - 2>/dev/null | wc -l"], { timeout => 60 });
	is($r->{out} + 0, 14, '-w -: tcpdump reads standard output');
	$r = kitchen('-r', $dns, '--stdout', '-w', '-');
	is($r->{status}, 2, '-w - with --stdout: usage error');
	$r = kitchen('-r', $dns, '--stdout', '--write-max', '1');
	is($r->{status}, 2, '--write-max without -w: usage error');
	$r = kitchen('-r', $dns, '-H', '127.0.0.1:1', '-w', '-', '--write-max', '1');
	is($r->{status}, 2, '--write-max with -w -: usage error');
	$r = kitchen('-r', $dns, '--stdout', '-w', "$tmp/no/such/dir/x.pcapng");
	is($r->{status}, 1, '-w into a missing directory: exits 1');
	like($r->{err}, qr{no/such/dir/x\.pcapng}, '... naming the file');
	SKIP: {
		skip('no /dev/full here', 3) if !-c '/dev/full';
		$r = kitchen('-r', $big, '--stdout', '-f', '', '-w', '/dev/full');
		is($r->{status}, 1, '-w a full disk: exits 1');
		is(scalar(() = $r->{err} =~ /writing \/dev\/full: /g), 1, '... saying so once, naming it');
		is(dumplings_of($r), 300, '... and cooks every packet still');
	}
}

# ------------------------------------------------------- --write-max
{
	my $out = "$tmp/rot.pcapng";
	my $r = kitchen('-r', $big, '--stdout', '-f', '', '-w', $out, '--write-max', '0.1');
	is($r->{status}, 0, '--write-max: exits 0') or diag($r->{err});
	my @files = ($out, map { "$out.$_" } 1 .. 9);
	@files = grep { -e } @files;
	is(scalar @files, 4, '--write-max 0.1: 300 packets of 1000 bytes in 4 files');
	ok(!-e "$out.4", '--write-max: no file past the last');
	my @sizes = map { -s } @files;
	is(scalar(grep { $_ > 100_000 } @sizes), 0, '--write-max: no file over 100000 bytes')
		or diag("@sizes");
	ok($sizes[0] > 90_000, '--write-max: a file is filled to near its bound') or diag("@sizes");
	my $total = 0;
	$total += tcpdump_count($_) for @files;
	is($total, 300, '--write-max: tcpdump reads every packet across the files');
	my @got = map { @{ tcpdump_packets($_) } } @files;
	my (undef, $want) = read_pcap($big);
	ok(@got == @$want && !grep({ $got[$_][0] ne $want->[$_][0] } 0 .. $#got),
	   '--write-max: the same bytes, in order');
	my $ts = 0;
	$ts += @{ tshark_frames($_) } for @files;
	is($ts, 300, '--write-max: tshark reads each file on its own');
}

# ------------------------------------- live: --count ends it, -w keeps it
SKIP: {
	skip('live capture on lo needs root', 5) if $> != 0;
	my $port = free_port();
	my $out = "$tmp/live.pcapng";
	my $pid = spawn([bin(), 'kitchen', '-i', 'lo', '-c', $chef, '--stdout', '--count', '3',
			 '-w', $out, 'udp', 'dst', 'port', $port],
			out => "$tmp/live.out", err => "$tmp/live.err");
	ok(wait_for(sub { (slurp("$tmp/live.err") // '') =~ /capturing on lo/ }, 20),
	   'live: the kitchen starts capturing on lo') or diag(slurp("$tmp/live.err"));
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'udp')
		or BAIL_OUT("udp socket: $!");
	# more than three, in case the first race the filter; --count stops it
	my ($gone, $status);
	for (1 .. 50) {
		$sock->send("packet $_");
		last if ($gone = wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 0.1));
	}
	$status = $?;
	$gone ||= wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid && do { $status = $?; 1 } }, 10);
	ok($gone, 'live --count 3: the kitchen ends by itself');
	$status = stop($pid, 'KILL') if !$gone;
	is($status >> 8, 0, 'live --count 3: exits 0') or diag(slurp("$tmp/live.err"));
	is(dumplings_of({ out => slurp("$tmp/live.out") }), 3, 'live --count 3: three packets cooked');
	is(tcpdump_count($out, "udp dst port $port"), 3, 'live -w: the three written, as tcpdump reads them');
}

# ------------------------------------------------------------------ -D
SKIP: {
	my $r = run('kitchen', '-D');
	is($r->{status}, 0, '-D: exits 0') or diag($r->{err});
	skip('libpcap lists no interfaces here (no permission to see them)', 1) if $r->{out} eq '';
	like($r->{out}, qr/^\d+\.lo \[.*Loopback.*\]$/m, '-D: lists lo as tcpdump -D does');
}

# ----------------------------------------------------------- --version
{
	my ($pcapver) = grep { /^libpcap version/ } `tcpdump --version 2>&1`;
	chomp $pcapver if $pcapver;
	for my $role ('kitchen', 'hub', 'eat') {
		my $r = run($role, '--version');
		is($r->{status}, 0, "$role --version: exits 0");
		like($r->{out}, qr/^dumplings \S+\n/, "$role --version: dumplings first");
		like($r->{out}, qr/^\Q$pcapver\E$/m, "$role --version: the libpcap tcpdump uses too");
		like($r->{out}, qr/^LuaJIT 2\.\S+$/m, "$role --version: LuaJIT");
		like($r->{out}, qr/^libwebsockets \d+\.\d+/m, "$role --version: libwebsockets");
		like($r->{out}, qr/^cJSON \d+\.\d+\.\d+$/m, "$role --version: cJSON");
		like($r->{out}, qr/^OpenSSL \d+\.\d+/m, "$role --version: OpenSSL");
	}
}

# ------------------------------------------------------------ -q and -v
{
	my $r = run('kitchen', '-r', $dns, '-c', $chef, '--stdout');
	like($r->{err}, qr/info: /, 'kitchen: says what it does');
	$r = run('kitchen', '-q', '-r', $dns, '-c', $chef, '--stdout');
	is($r->{err}, '', 'kitchen -q: says nothing but errors');
	$r = run('kitchen', '-v', '-r', $dns, '-c', $chef, '--stdout');
	like($r->{err}, qr/info: /, 'kitchen -v: says what it does');
	my ($in, $out) = (free_port(), free_port());
	for my $flag ('-q', '-v') {
		$r = run(['timeout', '-s', 'INT', '1', bin(), 'hub', $flag, '-a', '127.0.0.1',
			  '--in-port', $in, '--out-port', $out]);
		if ($flag eq '-q') {
			is($r->{err}, '', 'hub -q: says nothing but errors');
		} else {
			like($r->{err}, qr/info: listening/, 'hub -v: says what it does');
		}
	}
	$r = run('eat', '-q', '-H', "127.0.0.1:$in");
	is($r->{status}, 1, 'eat -q, no hub: exits 1');
	like($r->{err}, qr/error: cannot connect/, 'eat -q: errors still said');
	$r = run('eat', '-v', '-H', "127.0.0.1:$in");
	like($r->{err}, qr/debug: |libwebsockets/, 'eat -v: debugging detail');
}

done_testing();
