#!/usr/bin/perl
# The kitchen's command line: help and version, and bad input of every kind
# answered with one line naming the problem and a non-zero exit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

# Most of the command line needs no capture; what does skips without the
# corpus (and fails under CI=true).
my $r;

$r = run('--version');
is($r->{status}, 0, 'dumplings --version exits 0');
like($r->{out}, qr/^dumplings \S+\n/, '--version: its own first');
like($r->{out}, qr/^libpcap version /m, '--version: then the libraries\'');

$r = run('kitchen', '--help');
is($r->{status}, 0, 'kitchen --help exits 0');
like($r->{out}, qr/^usage: dumplings kitchen /, 'kitchen --help starts with the synopsis');
for my $opt (qw(--kitchen-name --hub --stdout --interface --read --filter --chef
		--chef-list --poke-interval --snaplen --no-promisc)) {
	like($r->{out}, qr/\Q$opt\E/, "kitchen --help documents $opt");
}
$r = run('kitchen', '--version');
is($r->{status}, 0, 'kitchen --version exits 0');

$r = run('bake');
is($r->{status}, 2, 'unknown subcommand exits 2');
like($r->{err}, qr/unknown subcommand 'bake'/, '... and names it');
like($r->{err}, qr/usage:/, '... and shows usage');

$r = run();
is($r->{status}, 2, 'no subcommand exits 2');

my @bad = (
	[ [qw(kitchen --frobnicate)], qr/unknown option '--frobnicate'/, 'unknown option' ],
	[ ['kitchen', "--bogus\e[31m"], qr/unknown option '--bogus\\u001b\[31m'/, 'an unknown option is quoted escaped' ],
	[ [qw(kitchen -p 0 --stdout)], qr/bad poke interval '0': too small/, 'zero poke interval' ],
	[ [qw(kitchen -p soon --stdout)], qr/bad poke interval 'soon'/, 'poke interval not a number' ],
	[ [qw(kitchen -s 10 --stdout)], qr/bad snaplen '10'/, 'snaplen too small' ],
	[ [qw(kitchen -s 99999999999999999999 --stdout)], qr/bad snaplen/, 'snaplen overflow' ],
	[ [qw(kitchen --stdout -H localhost:1)], qr/cannot be combined/, '--stdout with --hub' ],
	[ [qw(kitchen --stdout -i lo -r x.pcap)], qr/-i and -r cannot be combined/, '-i with -r' ],
	[ [qw(kitchen --stdout -f udp extra)], qr/a filter both with -f and after the options \('extra'\)/,
	  'a filter after the options as well as -f' ],
	[ [qw(kitchen -H localhost:notaport -c dns)], qr/bad hub address 'localhost:notaport'/,
	  'bad hub address' ],
	[ [qw(kitchen -H http://localhost:1 -c dns)], qr/bad hub address 'http:\/\/localhost:1'/,
	  'a hub address of another scheme' ],
);
for my $case (@bad) {
	my ($args, $re, $what) = @$case;
	$r = run(@$args);
	is($r->{status}, 2, "$what: exit 2");
	like($r->{err}, $re, "$what: says what is wrong");
	like($r->{err}, qr/usage: dumplings kitchen/, "$what: shows usage");
}

my $dns = root() . '/examples/sample.pcap';
my @fail = (
	[ ['kitchen', '--stdout', '-c', 'dns', '-r', '/nonexistent/x.pcap'],
	  qr{cannot read capture file /nonexistent/x\.pcap}, 'missing capture file' ],
	[ ['kitchen', '--stdout', '-c', 'dns', '-r', $dns, '-f', 'udp and nonsense ('],
	  qr/bad filter 'udp and nonsense \(':/, 'bad filter' ],
	[ ['kitchen', '--stdout', '-c', 'nosuchchef', '-r', $dns],
	  qr/no bundled chef named 'nosuchchef'/, 'unknown bundled chef' ],
	[ ['kitchen', '--stdout', '-c', './missing.lua', '-r', $dns],
	  qr{chef file \./missing\.lua: No such file or directory}, 'missing chef file' ],
	[ ['kitchen', '--stdout', '-c', 'dns', '-i', 'nosuchif0'],
	  qr/interface nosuchif0: /, 'unknown interface' ],
);
my @corrupt = (
	[ ['kitchen', '--stdout', '-c', 'dns', '-r', pcap('pcap-invalid-version-1.pcap')],
	  qr{pcap-invalid-version-1\.pcap: archaic pcap savefile format}, 'corrupt capture file' ],
	[ ['kitchen', '--stdout', '-c', 'dns', '-r', pcap('pcapng-invalid-vers-1.pcapng')],
	  qr{pcapng-invalid-vers-1\.pcapng: unsupported pcapng savefile version}, 'corrupt pcapng' ],
);
sub fails_naming {
	my ($args, $re, $what) = @_;
	$r = run(@$args);
	is($r->{status}, 1, "$what: exit 1");
	like($r->{err}, $re, "$what: names the problem");
	is($r->{signal}, 0, "$what: no crash");
}
fails_naming(@$_) for @fail;
SKIP: {
	corpus_skip(3 * @corrupt);
	fails_naming(@$_) for @corrupt;
}

# The default filter suits every link type: VLAN-aware on Ethernet, plain
# elsewhere (libpcap refuses `vlan` on cooked, raw and loopback captures).
my @linktypes = qw(dns_udp.pcap linuxsll-arp.pcap linux_dlt_sll2.pcap LINKTYPE_RAW_ipv4.pcap
		   LINKTYPE_IPV6.pcap dns-badcookie.pcap q-in-q.pcap);
SKIP: {
	corpus_skip(2 * @linktypes);
	for my $f (@linktypes) {
		$r = run('kitchen', '-q', '-c', 'packetcount', '--stdout', '-r', pcap($f));
		is($r->{status}, 0, "the default filter works on $f");
		my ($counts) = map { $_->{payload}{packet_counts} } (decode_lines($r->{out}))[-1];
		ok($counts && %$counts, "... and lets packets through");
	}
}

# On Ethernet the default also takes TCP and UDP inside MPLS (one to three
# labels) and PPPoE sessions, tagged or not, and still not the rest.
{
	use Pcap;
	my $label = sub { pack('N', $_[0] << 12 | $_[1] << 8 | 64) };
	my $session = sub { pack('CCnn', 0x11, 0, 1, length $_[0]) . $_[0] };
	my ($u4, $u6) = (ipv4(17, udp(1, 53, 'x')), ipv6(17, udp(1, 53, 'x')));
	my @taken = (
		ether(0x8847, $label->(1, 1) . $u4),
		ether(0x8847, $label->(1, 0) . $label->(2, 0) . $label->(3, 1) . ipv4(6, tcp(1, 80, 2, 'x'))),
		ether(0x8847, $label->(1, 1) . $u6),
		ether(0x8864, $session->(pack('n', 0x21) . $u4)),
		ether(0x8864, $session->(pack('n', 0x57) . $u6)),
		ether(0x8100, pack('nn', 7, 0x8864) . $session->(pack('n', 0x21) . $u4)),
		ether(0x0800, $u4),
	);
	my @refused = (
		ether(0x8847, $label->(1, 1) . ipv4(1, "\x08\0\0\0\0\0\0\0")),
		ether(0x8863, "\x11\x09\0\0\0\0"),
		ether(0x88cc, "\0" x 20),
	);
	my $tagged = tmpdir() . '/tagged.pcap';
	write_pcap($tagged, 1, @taken, @refused);
	$r = run('kitchen', '-c', 'packetcount', '--stdout', '-r', $tagged);
	is($r->{status}, 0, 'the default filter on MPLS and PPPoE frames');
	my ($counts) = map { $_->{payload}{packet_counts} } (decode_lines($r->{out}))[-1];
	is($counts->{Ethernet}, scalar @taken, '... takes TCP and UDP inside them, and nothing else')
		or diag(explain($counts));
	is_deeply([@$counts{'MPLS', 'PPP over Ethernet', 'IPv6', 'TCP'}], [5, 3, 2, 1], '... MPLS to three labels deep, PPPoE tagged or not');
}

# --chef-list: every chef of the named files, assignable or not.
my $dir = tmpdir();

# Files from the field: compressed ones are named as such (libpcap only
# says "unknown file format"); a link type BPF cannot filter is read
# without the default filter, one the decoder does not know is said so.
{
	use Pcap;
	use IO::Compress::Gzip qw(gzip $GzipError);
	my $frame = ipv4(17, udp(1000, 53, dns_message({ flags => 0x0100,
		qd => [dns_question(dns_name('example.com'), 1)] })));
	write_pcap("$dir/plain.pcap", 101, $frame);
	gzip("$dir/plain.pcap" => "$dir/trace.pcap.gz") or die "gzip: $GzipError";
	$r = run('kitchen', '--stdout', '-c', 'dns', '-r', "$dir/trace.pcap.gz");
	is($r->{status}, 1, 'a gzip-compressed capture: exit 1');
	like($r->{err}, qr{cannot read capture file \Q$dir\E/trace\.pcap\.gz: it is gzip-compressed},
	     '... saying that it is compressed');

	write_pcap("$dir/lt147.pcap", 147, $frame);
	$r = run('kitchen', '--stdout', '-c', 'packetcount', '-r', "$dir/lt147.pcap");
	is($r->{status}, 0, 'a link type BPF cannot filter: read all the same');
	like($r->{err}, qr{warning: \Q$dir\E/lt147\.pcap: the default filter cannot be used on link-type 147},
	     '... without the default filter, saying so');
	like($r->{err}, qr{reading \Q$dir\E/lt147\.pcap, link-type 147\n}, '... naming the link type by number');
	like($r->{err}, qr{warning: \Q$dir\E/lt147\.pcap: link-type 147 is not decoded},
	     '... and saying it is not decoded');
	my ($counts) = map { $_->{payload}{packet_counts} } (decode_lines($r->{out}))[-1];
	is_deeply($counts, { Raw => 1 }, '... its packet counted as Raw');
	$r = run('kitchen', '--stdout', '-c', 'packetcount', '-r', "$dir/lt147.pcap", 'udp');
	is($r->{status}, 1, 'a filter given for such a link type: exit 1');
	like($r->{err}, qr{bad filter 'udp': .*\(\Q$dir\E/lt147\.pcap, link-type 147\)},
	     '... naming the file and its link type');
	$r = run('kitchen', '--stdout', '-c', 'packetcount', '-r', "$dir/plain.pcap");
	unlike($r->{err}, qr/warning/, 'a raw IP capture: no warning');

	# OpenBSD's DLT_RAW, 14, which libpcap here neither names nor filters
	write_pcap("$dir/openbsd.pcap", 14, $frame, ipv4(6, tcp(1, 2, 0x02, '')));
	$r = run('kitchen', '--stdout', '-c', 'dns', '-r', "$dir/openbsd.pcap", 'udp port 53');
	is($r->{status}, 0, 'link-type 14 is raw IP: a filter compiles for it') or diag($r->{err});
	like($r->{err}, qr/reading \Q$dir\E\/openbsd\.pcap, link-type RAW\n/, '... read as RAW');
	like($r->{err}, qr/2 packets read, 1 passed the filter/, '... and filtered as raw IP');
	unlike($r->{err}, qr/warning/, '... with no warning');
}
spew("$dir/two.lua", <<'LUA');
local base = { name = "BaseChef", assignable = false }
local a = { name = "AlphaChef" }
function a:packet_handler() end
local b = {}
function b:interval_handler() end
return { base, a, b }
LUA
$r = run('kitchen', '--chef-list', '-c', "$dir/two.lua", '-c', 'dns');
is($r->{status}, 0, '--chef-list exits 0');
like($r->{out}, qr/^BaseChef\ttwo\t\Q$dir\E\/two\.lua\t\(not assignable\)$/m, 'lists a base chef as not assignable');
like($r->{out}, qr/^AlphaChef\ttwo\t\Q$dir\E\/two\.lua$/m, 'lists a named chef, its file stem and its file');
like($r->{out}, qr/^two3\t/m, 'an unnamed chef is named after its file and position');
like($r->{out}, qr/^DNSLookupChef\tdns\t.*lua\/chefs\/dns\.lua$/m, 'a bundled chef resolves by bare name');

# -c takes a bundled chef's name as well as its file's stem
$r = run('kitchen', '--chef-list', '-c', 'DNSLookupChef');
like($r->{out}, qr/^DNSLookupChef\tdns\t.*lua\/chefs\/dns\.lua$/m, '-c DNSLookupChef names the bundled dns chef');
$r = run('kitchen', '-q', '-f', '', '-c', 'ARPChef', '-r', root() . '/examples/sample.pcap', '--stdout');
is($r->{status}, 0, '-c ARPChef cooks');
ok((grep { $_->{metadata}{chef} eq 'ARPChef' } decode_lines($r->{out})), '... with the ARP chef');
$r = run('kitchen', '-f', '', '-c', 'dns', '-c', 'DNSLookupChef', '-r', root() . '/examples/sample.pcap', '--stdout');
like($r->{err}, qr/warning: chef DNSLookupChef given twice: loading it once/, 'a chef given twice is loaded once, with a warning');
my @finals = grep { $_->{metadata}{driver} eq 'interval' } decode_lines($r->{out});
my %by_time;
$by_time{$_->{metadata}{creation_time}}++ for @finals;
ok(!grep({ $_ > 1 } values %by_time), '... so each interval dumpling comes once');
$r = run('kitchen', '-i', 'no-such-if0', '-i', 'no-such-if0', '-c', 'dns', '--stdout');
like($r->{err}, qr/warning: interface no-such-if0 given twice/, 'an interface given twice: a warning');

$r = run('kitchen', '--chef-list');
is($r->{status}, 0, '--chef-list without -c lists the bundled chefs');
for my $chef (qw(ARPChef DHCPChef DNSLookupChef FlowChef PacketCountChef ServerNameChef
		  TLSChef TopTalkersChef)) {
	like($r->{out}, qr/^$chef\t/m, "bundled chef $chef is listed");
}

# --speed paces each file from its own start, even when a later file's
# clock is earlier: 4 packets a second apart at --speed 4 take a second or
# more (a lower bound only: a slow machine takes longer, never shorter).
{
	use Pcap;
	use Time::HiRes qw(time);
	my $frame = ether(0x0800, ipv4(17, udp(1000, 9, 'x')));
	write_pcap("$dir/later.pcap", 1, $frame, $frame, { start => 2_000_000_000 });
	write_pcap("$dir/earlier.pcap", 1, ($frame) x 5, { start => 1_000_000_000 });
	my $t0 = time;
	$r = run('kitchen', '-q', '-f', '', '-c', 'packetcount', '--stdout', '--speed', '4',
		 '-r', "$dir/later.pcap", '-r', "$dir/earlier.pcap", { timeout => 60 });
	my $took = time - $t0;
	is($r->{status}, 0, '--speed over two files whose clocks go back');
	cmp_ok($took, '>=', 1.0, sprintf('the second file is paced from its own start (%.2f s)', $took));
}

done_testing;
