#!/usr/bin/perl
# The application layers against tshark: TLS records and their ClientHello
# and ServerHello (JA3 and JA3S included), HTTP requests and responses,
# BOOTP and DHCP. t/chefs/apps.lua prints, for every packet, each field
# under the name of the tshark field it answers to, spelled as tshark
# spells it; tshark runs here, on the same packets: every capture of the
# corpus and examples/sample.pcap (merged into one file, so that tshark
# starts once), and captures built here for what they lack (GREASE, no
# extensions, folded and repeated header fields, option overload, bytes
# cut short). Every field of every frame must match, but for the
# differences listed in %DIFFERENT, each with its reason.
#
# tshark reads with TCP reassembly and IP defragmenting off: the kitchen
# decodes each segment on its own, and with reassembly tshark would show
# a message in the segment that completes it.
#
# tshark 4.0 has no JA4. JA4 is checked against its specification (FoxIO's
# JA4.md) twice: on a ClientHello built from the specification's worked
# example, whose fingerprint the specification gives, and on every whole
# ClientHello, against a JA4 this test makes from tshark's fields by the
# specification's rules (ja4_of below).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use List::Util qw(min);
use TestLib;
use Pcap;

need_corpus();
need_tshark();

my @FIELDS = qw(
	tls.record.content_type tls.record.version tls.handshake.type tls.handshake.version
	tls.handshake.ciphersuite tls.handshake.extension.type
	tls.handshake.extensions_server_name tls.handshake.extensions_alpn_str
	tls.handshake.extensions.supported_version tls.handshake.extensions_supported_group
	tls.handshake.extensions_ec_point_format tls.handshake.sig_hash_alg
	tls.handshake.ja3 tls.handshake.ja3_full tls.handshake.ja3s tls.handshake.ja3s_full
	http.request.method http.request.uri http.request.version http.host http.user_agent
	http.response.version http.response.code http.response.phrase
	dhcp.type dhcp.hw.type dhcp.hw.len dhcp.hops dhcp.id dhcp.secs dhcp.flags
	dhcp.ip.client dhcp.ip.your dhcp.ip.server dhcp.ip.relay dhcp.hw.mac_addr
	dhcp.server dhcp.file dhcp.option.type dhcp.option.dhcp
	dhcp.option.requested_ip_address dhcp.option.dhcp_server_id
	dhcp.option.ip_address_lease_time dhcp.option.hostname
	dhcp.option.vendor_class_id dhcp.option.request_list_item);

# Read from tshark to make what we compare: the header lines become
# "headers"; the content type of a TLS 1.3 record after the handshake,
# which tshark calls its opaque type, is tls.record.content_type.
my @HELPERS = qw(http.request.line http.response.line tls.record.opaque_type);

# tshark shows these once per frame in our terms: the first record's type
# and version, the hello's version, the hardware address of BOOTP's chaddr
# (option 61 holds one too).
my %FIRST = map { $_ => 1 } qw(tls.record.content_type tls.record.version
	tls.handshake.version dhcp.hw.type dhcp.hw.mac_addr);

# A ClientHello's fields: in another frame tshark may show the same
# fields from a ServerHello's extensions or a ServerKeyExchange, which
# this decoder does not read.
my %CLIENT_ONLY = map { $_ => 1 } qw(tls.handshake.extensions_server_name
	tls.handshake.extensions_supported_group tls.handshake.extensions_ec_point_format
	tls.handshake.sig_hash_alg tls.handshake.ja3 tls.handshake.ja3_full);

# Intentional differences: "capture frame" => { field => [ours, reason] }.
my $NOT_UTF8 = 'the first ALPN protocol is the bytes ab 78 cd, not UTF-8: tshark '
	. 'shows each stray byte as U+FFFD, we keep the bytes (JSON shows them as '
	. 'the code points of the same value)';
my $NOT_UTF8_JA4 = 'made from the bytes sent, the first ALPN protocol gives "ad" (its '
	. 'hex, ab...cd, since it neither starts nor ends alphanumerically); the JA4 '
	. 'this test makes from tshark\'s text sees U+FFFD (ef bf bd) and says "ed"';
my %DIFFERENT = (
	'communityid-tcp.pcap 4' => {
		'http.request.version' => ['', 'the snapshot length cuts the request line '
			. 'in the version; tshark shows what is there ("HTT"), we leave a part '
			. 'cut short out rather than pass it for a whole one'],
	},
	'communityid-tcp.pcap 6' => {
		headers => ['', 'the snapshot length cuts the first field line ("Date: Tue, 16"); '
			. 'tshark shows it, we leave a line cut short out'],
	},
	'hand 6' => {
		# (read back from JSON as bytes: the UTF-8 of U+00AB, x, U+00CD)
		'tls.handshake.extensions_alpn_str' => ["\xc2\xabx\xc3\x8d", $NOT_UTF8],
		ja4 => ['t12i0102ad_0f2cb44170f4_79c50902419d', $NOT_UTF8_JA4],
		ja4_r => ['t12i0102ad_1301_000d_0403', $NOT_UTF8_JA4],
	},
	'hand 10' => {
		headers => ["accept: text/html, */*\ncontent-length: 4\nhost: www.example.com\n"
			. "x-long: one two", 'tshark stops reading fields at a continuation line '
			. '(obsolete line folding, which RFC 9112 5.2 lets a recipient read as '
			. 'a space): it has neither the rest of X-Long nor the fields after it. '
			. 'We also join the two Accept fields, as RFC 9110 5.3 allows, and skip '
			. 'the line that is not a field'],
	},
	'hand 13' => {
		'dhcp.option.type' => ['53,52,55,60,50,12', 'option 52 puts options in the '
			. 'file field; tshark shows them where option 52 stands, we list them '
			. 'after the options field, the order RFC 2131 4.1 reads them in'],
	},
);

my $tmp = tmpdir();
my $chef = root() . '/t/chefs/apps.lua';
my $dir = pcaps_dir();
my @captures = grep { !/invalid-vers/ } sort map { s{.*/}{}r } glob("$dir/*.pcap $dir/*.pcapng");
need(scalar @captures, "no captures in $dir");
my %used;

# ---------------------------------------------------------------------------
# Ours and tshark's, frame by frame

# Our fields for every packet of the files, in order: [source, {field => value}].
sub ours {
	my (@paths) = @_;
	my $r = run('kitchen', '-q', '-f', '', '--stdout', '-c', $chef, map { ('-r', $_) } @paths);
	is($r->{status}, 0, 'the kitchen cooks ' . @paths . ' captures') or diag($r->{err});
	is($r->{err}, '', '... and logs nothing');
	return map { $_->{payload} } decode_lines($r->{out});
}

# tshark's fields for every frame of one file: [{field => raw value}].
sub theirs {
	my ($path) = @_;
	my @f = (@FIELDS, @HELPERS);
	my $r = run(['tshark', '-n', '-r', $path, '-o', 'tcp.desegment_tcp_streams:FALSE',
		     '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE',
		     '-T', 'fields', '-E', 'occurrence=a', '-E', "aggregator=\x01",
		     map { ('-e', $_) } @f], { timeout => 120 });
	is($r->{status}, 0, 'tshark reads ' . ($path =~ s{.*/}{}r)) or diag($r->{err});
	return map { my @v = split /\t/, $_, -1; +{ map { $f[$_] => $v[$_] // '' } 0 .. $#f } }
		split /\n/, $r->{out};
}

# Header lines as apps.lua prints our fields: names lower-cased, repeats
# joined with ", ", "name: value" lines sorted. tshark writes the line end
# as the four characters \r\n.
sub header_text {
	my (@lines) = @_;
	my (%value, @order);
	for (@lines) {
		my ($name, $v) = /^([^:]*):[ \t]*(.*?)[ \t]*(?:\\r)?(?:\\n)?$/s or next;
		$name = lc $name;
		push @order, $name unless exists $value{$name};
		$value{$name} = exists $value{$name} ? "$value{$name}, $v" : $v;
	}
	return join "\n", sort map { "$_: $value{$_}" } @order;
}

# tshark's raw values made into what apps.lua prints.
sub tshark_view {
	my ($t) = @_;
	my %v;
	for my $f (@FIELDS) {
		my @items = split /\x01/, $t->{$f}, -1;
		$v{$f} = $FIRST{$f} ? ($items[0] // '') : join ',', @items;
	}
	$v{'tls.record.content_type'} = (split /\x01/, $t->{'tls.record.opaque_type'})[0] // ''
		if $v{'tls.record.content_type'} eq '';
	my $type = (split /\x01/, $t->{'tls.handshake.type'})[0] // '';
	$v{'tls.handshake.type'} = $type eq '1' || $type eq '2' ? $type : '';
	if ($type ne '1') {
		$v{$_} = '' for keys %CLIENT_ONLY;
	}
	$v{'tls.handshake.version'} = '' unless $v{'tls.handshake.type'};
	# tshark lists the pad and end options as options of type 0; we list
	# neither, since they carry nothing.
	$v{'dhcp.option.type'} = join ',', grep { $_ ne '0' } split /,/, $v{'dhcp.option.type'};
	my $lines = $t->{'http.request.line'} . $t->{'http.response.line'};
	$v{headers} = header_text(split /\x01/, $lines);
	$v{_alpn} = [split /\x01/, $t->{'tls.handshake.extensions_alpn_str'}];
	return \%v;
}

# A field as we have it, and as tshark has it once the listed difference
# is taken into account.
sub expected {
	my ($key, $field, $want) = @_;
	my $diff = $DIFFERENT{$key}{$field};
	return $want unless $diff && $want ne $diff->[0];
	$used{"$key $field"} = 1;
	return $diff->[0];
}

sub compare_frames {
	my ($label, $mine, $tshark) = @_;
	my (%have, %want);
	is(scalar @$mine, scalar @$tshark, "$label: as many frames as tshark");
	for my $i (0 .. $#$tshark) {
		my $key = "$label " . ($i + 1);
		my $t = tshark_view($tshark->[$i]);
		my $o = $mine->[$i] // {};
		for my $f (@FIELDS, 'headers') {
			push @{ $have{$f} }, "frame " . ($i + 1) . ": " . ($o->{$f} // '');
			push @{ $want{$f} }, "frame " . ($i + 1) . ": " . expected($key, $f, $t->{$f});
		}
		check_ja4($key, $t, $o) if $t->{'tls.handshake.ja3'} ne '';
	}
	is_deeply($have{$_}, $want{$_}, "$label: $_") for @FIELDS, 'headers';
}

# ---------------------------------------------------------------------------
# JA4, by its specification

sub is_grease { my ($x) = @_; ($x & 0x0f0f) == 0x0a0a && ($x >> 8) == ($x & 0xff) }

sub hex4 { join ',', map { sprintf '%04x', $_ } @_ }

# The first and last character of the first ALPN protocol, or of its hex
# when either is not alphanumeric; 00 without one.
sub ja4_alpn {
	my ($p) = @_;
	return '00' unless defined $p && length $p;
	return substr($p, 0, 1) . substr($p, -1) if $p =~ /^[0-9A-Za-z]/ && $p =~ /[0-9A-Za-z]$/;
	my $h = unpack('H*', $p);
	return substr($h, 0, 1) . substr($h, -1);
}

# JA4 and JA4_r from a ClientHello's lists: version, ciphers, extension
# types, signature algorithms, supported versions (numbers) and ALPN.
sub ja4_of {
	my (%h) = @_;
	my @ciphers = grep { !is_grease($_) } @{ $h{ciphers} };
	my @ext = grep { !is_grease($_) } @{ $h{ext} };
	my @sig = grep { !is_grease($_) } @{ $h{sig_algs} };
	my ($ver) = sort { $b <=> $a } grep { !is_grease($_) } @{ $h{versions} };
	my %name = (0x0304 => '13', 0x0303 => '12', 0x0302 => '11', 0x0301 => '10',
		    0x0300 => 's3', 0x0002 => 's2', 0xfeff => 'd1', 0xfefd => 'd2', 0xfefc => 'd3');
	my $head = sprintf 't%s%s%02d%02d%s', $name{ $ver // $h{version} } // '00',
		(grep { $_ == 0 } @ext) ? 'd' : 'i', min(99, scalar @ciphers),
		min(99, scalar @ext), ja4_alpn($h{alpn}[0]);
	my $c = hex4(sort { $a <=> $b } @ciphers);
	my $e = hex4(sort { $a <=> $b } grep { $_ != 0 && $_ != 16 } @ext);
	$e .= '_' . hex4(@sig) if @sig;
	my $zero = '0' x 12;
	return ("${head}_" . (@ciphers ? substr(sha256_hex($c), 0, 12) : $zero) . '_'
		. ($e ne '' ? substr(sha256_hex($e), 0, 12) : $zero), "${head}_${c}_$e");
}

sub numbers { my ($s, $hex) = @_; map { $hex ? hex : $_ } grep { length } split /,/, $s }

sub check_ja4 {
	my ($key, $t, $o) = @_;
	my ($ja4, $raw) = ja4_of(
		version => hex $t->{'tls.handshake.version'},
		ciphers => [numbers($t->{'tls.handshake.ciphersuite'}, 1)],
		ext => [numbers($t->{'tls.handshake.extension.type'})],
		sig_algs => [numbers($t->{'tls.handshake.sig_hash_alg'}, 1)],
		versions => [numbers($t->{'tls.handshake.extensions.supported_version'}, 1)],
		alpn => $t->{_alpn});
	is($o->{ja4} // '', expected($key, 'ja4', $ja4), "$key: ja4 by the specification, from tshark's fields");
	is($o->{ja4_r} // '', expected($key, 'ja4_r', $raw), "$key: ja4_r likewise");
}

# ---------------------------------------------------------------------------
# Building TLS, HTTP and DHCP by hand (the builders are in t/lib/Pcap.pm)

sub tcp_frame {
	my ($sport, $dport, $payload) = @_;
	return ether(0x0800, ipv4(6, tcp($sport, $dport, 0x18, $payload)));
}

# The specification's example: its 15 ciphers, 16 extensions and 8
# signature algorithms, in its order, ALPN h2 first and TLS 1.3 offered;
# GREASE thrown in everywhere, which JA4 must ignore.
my @SPEC_CIPHERS = map { hex } qw(1301 1302 1303 c02b c02f c02c c030 cca9 cca8 c013 c014
	009c 009d 002f 0035);
my @SPEC_EXT = map { hex } qw(001b 0000 0033 0010 4469 0017 002d 000d 0005 0023 0012 002b
	ff01 000b 000a 0015);
my @SPEC_SIG = map { hex } qw(0403 0804 0401 0503 0805 0501 0806 0601);

sub spec_ext {
	my ($type) = @_;
	return tls_sni_ext('example.com') if $type == 0;
	return tls_alpn_ext('h2', 'http/1.1') if $type == 16;
	return tls_ext(13, tls_u16s(@SPEC_SIG)) if $type == 13;
	return tls_ext(43, pack('C/a*', pack('n*', 0x3a3a, 0x0304, 0x0303))) if $type == 43;
	return tls_ext(10, tls_u16s(0x4a4a, 0x001d, 0x0017)) if $type == 10;
	return tls_ext(11, pack('C/a*', "\0")) if $type == 11;
	return tls_ext(0xff01, "\0") if $type == 0xff01;
	return tls_ext(0x0015, "\0" x 8) if $type == 0x0015;
	return tls_ext($type, '');
}

my $SPEC_HELLO = tls_client_hello(ciphers => [0x0a0a, @SPEC_CIPHERS],
	exts => [tls_ext(0x2a2a, ''), map({ spec_ext($_) } @SPEC_EXT), tls_ext(0x5a5a, "\0")]);
my $SPEC_JA4 = 't13d1516h2_8daaf6152771_e5627efa2ab1';
my $SPEC_JA4_R = 't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,'
	. 'c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,'
	. 'ff01_0403,0804,0401,0503,0805,0501,0806,0601';

sub dhcp_frame {
	my ($sport, $dport, $msg) = @_;
	return ether(0x0800, ipv4(17, udp($sport, $dport, $msg)));
}

my @HAND = (
	# 1-2: the specification's ClientHello, and a ServerHello with GREASE
	tcp_frame(50007, 443, $SPEC_HELLO),
	tcp_frame(443, 50001, tls_server_hello(cipher => 0x1301, exts => [tls_ext(43, pack('n', 0x0304)),
		tls_ext(51, pack('n n/a*', 29, 'k' x 32)), tls_ext(0x2a2a, '')])),
	# 3-4: no extensions at all, and an empty extension block
	tcp_frame(50008, 443, tls_client_hello(ciphers => [0x002f, 0x0035, 0x0a0a])),
	tcp_frame(50009, 443, tls_client_hello(ciphers => [0x002f], exts => [])),
	# 5: TLS 1.0, the server name only
	tcp_frame(50010, 443, tls_client_hello(version => 0x0301, ciphers => [4, 5],
		exts => [tls_sni_ext('a.example')])),
	# 6: a first ALPN protocol that does not start and end alphanumerically
	tcp_frame(50011, 443, tls_client_hello(ciphers => [0x1301], exts => [tls_alpn_ext("\xabx\xcd"),
		tls_ext(13, tls_u16s(0x0403))])),
	# 7: a ServerHello without extensions
	tcp_frame(443, 50002, tls_server_hello(cipher => 0x002f)),
	# 8: an alert record, then application data
	tcp_frame(443, 50003, pack('C n n/a*', 21, 0x0303, "\x02\x28")),
	tcp_frame(443, 50004, pack('C n n/a*', 23, 0x0303, 'x' x 40)),
	# 10-12: HTTP on ports of no meaning: a request with folded, repeated
	# and mixed-case fields and a body; a response with bare LF line ends;
	# one without a reason phrase
	tcp_frame(50012, 8080, "POST /form?a=1 HTTP/1.1\r\nHost: www.example.com\r\nX-Long: one\r\n"
		. "\t two\r\nAccept: text/html\r\nACCEPT: */*\r\nbroken line\r\n"
		. "Content-Length: 4\r\n\r\nbody"),
	tcp_frame(12345, 50005, "HTTP/1.0 404 Not Found\nServer: test\nContent-Type: text/plain\n\n"),
	tcp_frame(12345, 50006, "HTTP/1.1 204\r\nDate: now\r\n\r\n"),
	# 13-15: DHCP: a discover whose file field holds options (overload),
	# an offer from the server port, and plain BOOTP without a cookie
	dhcp_frame(68, 67, bootp_message(xid => 0xdeadbeef, file => dhcp_option(12, 'in-the-file') . "\xff",
		options => dhcp_option(53, "\1") . dhcp_option(52, "\1") . dhcp_option(55, "\1\3\6\x0f")
			. dhcp_option(60, 'vendor-x') . dhcp_option(50, "\xc0\0\2\x07") . "\xff")),
	dhcp_frame(67, 68, bootp_message(op => 2, xid => 0xdeadbeef, sname => 'server', file => 'boot.img',
		options => dhcp_option(53, "\2") . dhcp_option(54, "\xc0\0\2\1")
			. dhcp_option(51, "\0\0\x0e\x10") . "\0\0\xff")),
	dhcp_frame(68, 67, bootp_message(xid => 7)),
);

# ---------------------------------------------------------------------------

subtest 'the corpus and the sample capture, against tshark' => sub {
	my @paths = ((map { pcap($_) } @captures), root() . '/examples/sample.pcap');
	my @mine = ours(@paths);
	my $all = "$tmp/all.pcapng";
	my $m = run(['mergecap', '-a', '-F', 'pcapng', '-w', $all, @paths]);
	is($m->{status}, 0, 'mergecap puts the corpus in one file') or diag($m->{err});
	my @tshark = theirs($all);
	is(scalar @mine, scalar @tshark, 'tshark and the kitchen read as many frames');
	# Back into files, by the source each of our dumplings names.
	my %frames;
	for my $i (0 .. $#mine) {
		my $file = $mine[$i]{source} =~ s{.*/}{}r;
		push @{ $frames{$file}{mine} }, $mine[$i];
		push @{ $frames{$file}{tshark} }, $tshark[$i];
	}
	compare_frames($_, $frames{$_}{mine}, $frames{$_}{tshark}) for sort keys %frames;
};

subtest 'captures built by hand, against tshark' => sub {
	my $path = "$tmp/hand.pcap";
	write_pcap($path, 1, @HAND);
	compare_frames('hand', [ours($path)], [theirs($path)]);
};

subtest 'JA4: the example of its specification' => sub {
	my $path = "$tmp/spec.pcap";
	write_pcap($path, 1, $HAND[0]);
	my ($o) = ours($path);
	is($o->{ja4}, $SPEC_JA4, 'ja4 is the one the specification works out');
	is($o->{ja4_r}, $SPEC_JA4_R, 'ja4_r likewise');
	my ($ja4, $raw) = ja4_of(version => 0x0303, ciphers => [0x0a0a, @SPEC_CIPHERS],
				 ext => [0x2a2a, @SPEC_EXT, 0x5a5a], sig_algs => \@SPEC_SIG,
				 versions => [0x3a3a, 0x0304, 0x0303], alpn => ['h2']);
	is($ja4, $SPEC_JA4, "and this test's own JA4 agrees, so it may judge the rest");
	is($raw, $SPEC_JA4_R, '... raw too');
};

# ---------------------------------------------------------------------------
# Cut short: every application-layer packet above, cut at every length,
# then overwritten here and there. Nothing may crash or log, and a cut
# hello has its fingerprints exactly when it is whole in what is left,
# the same as uncut: one made from part of a hello would name a client
# that does not exist.

# Where the hello a TLS record at the start of the TCP payload holds
# ends, in an Ethernet/IPv4 frame; undef if there is none.
sub hello_end {
	my ($f) = @_;
	return undef unless length $f > 34 && unpack('n', substr($f, 12, 2)) == 0x0800
		&& ord(substr($f, 23, 1)) == 6;
	my $tcp = 14 + (ord(substr($f, 14, 1)) & 15) * 4;
	my $data = $tcp + (ord(substr($f, $tcp + 12, 1)) >> 4) * 4;
	my ($ct, $type, $hi, $lo) = unpack('C x4 C C n', substr($f, $data, 9) . "\0" x 9);
	return $ct == 22 && ($type == 1 || $type == 2) ? $data + 9 + ($hi << 16 | $lo) : undef;
}

sub prints { my ($o) = @_; join ' ', map { $o->{$_} // '-' } qw(tls.handshake.ja3 ja4 tls.handshake.ja3s) }

subtest 'cut at every length, and overwritten' => sub {
	my @frames = @HAND;
	for my $file (qw(tls-chrome-34-google.pcap http-get.pcap dhcp.pcap)) {
		my (undef, $pkts) = read_pcap(pcap($file));
		push @frames, map { $_->[0] } @$pkts;
	}
	write_pcap("$tmp/whole.pcap", 1, @frames);
	my @whole = ours("$tmp/whole.pcap");
	my (@cut, @want);
	for my $i (0 .. $#frames) {
		my $f = $frames[$i];
		my $end = hello_end($f);
		for my $len (14 .. length($f) - 1) {
			push @cut, [substr($f, 0, $len), length $f];
			push @want, defined $end && $len >= $end ? prints($whole[$i]) : '- - -';
		}
	}
	my $path = "$tmp/cut.pcap";
	write_pcap($path, 1, @cut);
	my @mine = ours($path);
	is(scalar @mine, scalar @cut, 'a dumpling for every cut packet');
	my @bad = grep { prints($mine[$_] // {}) ne $want[$_] } 0 .. $#cut;
	is(scalar @bad, 0, 'a hello has fingerprints exactly when it is whole, the same as uncut')
		or diag("cut packet $bad[0]: " . prints($mine[$bad[0]]) . ", want $want[$bad[0]]");
	ok((grep { $_ ne '- - -' } @want) > 0, '... and some cut packets keep a whole hello');
	my $touch = run('kitchen', '-q', '-f', '', '--stdout', '-c', root() . '/t/chefs/touch.lua',
			'-r', $path, { timeout => 120 });
	is($touch->{status}, 0, 'the touch chef reads every field of every cut packet');
	is($touch->{err}, '', '... without an error');

	# And with bytes overwritten past the TCP or UDP header, 32 times each.
	my $seed = 12345;
	my $rnd = sub { $seed = ($seed * 1103515245 + 12345) % 2**31; $seed % $_[0] };
	my @mutants;
	for my $f (@frames) {
		next unless length $f > 60;
		for (1 .. 32) {
			my $m = $f;
			substr($m, 42 + $rnd->(length($m) - 42), 1) = chr $rnd->(256) for 0 .. $rnd->(6);
			push @mutants, $m;
		}
	}
	write_pcap("$tmp/mutants.pcap", 1, @mutants);
	$touch = run('kitchen', '-q', '-f', '', '--stdout', '-c', root() . '/t/chefs/touch.lua',
		     '-r', "$tmp/mutants.pcap", { timeout => 120 });
	is($touch->{status}, 0, 'the touch chef reads every field of ' . @mutants . ' mutants');
	is($touch->{err}, '', '... without an error');
	is(scalar(decode_lines($touch->{out})), scalar @mutants, '... one valid dumpling each');
};

for my $key (sort keys %DIFFERENT) {
	for my $f (sort keys %{ $DIFFERENT{$key} }) {
		ok($used{"$key $f"}, "listed difference $key $f still occurs");
	}
}

done_testing();
