package Pcap;
# Reading and writing classic pcap files, and building frames byte by byte,
# for tests that need packets no capture has. Checksums are left zero: the
# decoder does not check them.
use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(read_pcap write_pcap write_pcap_us ether ipv4 ipv6 udp tcp icmp icmpv6
		 gre vxlan dns_message dns_name dns_question dns_rr tls_ext tls_u16s tls_sni_ext
		 tls_alpn_ext tls_client_hello tls_server_hello bootp_message dhcp_option);

# read_pcap(PATH) -> (linktype, [[caplen-bytes, wirelen], ...]) for a classic
# pcap file of either byte order; undef for anything else (pcapng).
sub read_pcap {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "$path: $!";
	local $/;
	my $s = <$fh>;
	return undef if length $s < 24;
	my $magic = unpack('V', $s);
	my $e = $magic == 0xa1b2c3d4 || $magic == 0xa1b23c4d ? 'V'
	      : $magic == 0xd4c3b2a1 || $magic == 0x4d3cb2a1 ? 'N' : return undef;
	my $linktype = unpack("x20 $e", $s);
	my (@pkts, $off);
	for ($off = 24; $off + 16 <= length $s;) {
		my ($caplen, $wirelen) = unpack("x8 $e $e", substr($s, $off, 16));
		last if $off + 16 + $caplen > length $s;
		push @pkts, [substr($s, $off + 16, $caplen), $wirelen];
		$off += 16 + $caplen;
	}
	return ($linktype, \@pkts);
}

# write_pcap(PATH, LINKTYPE, [frame-bytes or [bytes, wirelen, time]], ...,
# [{start => T}]): little-endian, microseconds, one packet per second from
# t = T (default 1e9), unless a packet gives its own time (whole seconds,
# from which the next goes on).
sub write_pcap {
	my ($path, $linktype, @frames) = @_;
	my $o = ref $frames[-1] eq 'HASH' ? pop @frames : {};
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh pack('VvvlVVV', 0xa1b2c3d4, 2, 4, 0, 0, 262144, $linktype);
	my $t = $o->{start} // 1_000_000_000;
	for my $f (@frames) {
		my ($bytes, $wirelen, $time) = ref $f ? @$f : ($f, length $f);
		$t = $time if defined $time;
		print $fh pack('VVVV', $t++, 0, length $bytes, $wirelen // length $bytes), $bytes;
	}
	close $fh or die "$path: $!";
}

# A classic pcap of Ethernet frames with microsecond stamps: [frame, time
# in microseconds since the epoch] each.
sub write_pcap_us {
	my ($path, @pkts) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh pack('VvvlVVV', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1);
	for my $p (@pkts) {
		my ($frame, $us) = @$p;
		print $fh pack('VVVV', int($us / 1e6), $us % 1_000_000, length $frame, length $frame),
		    $frame;
	}
	close $fh or die "$path: $!";
}

sub ether {
	my ($type, $payload) = @_;
	return pack('H12 H12 n', '0200000000bb', '0200000000aa', $type) . $payload;
}

# ipv4(PROTO, PAYLOAD, {src, dst, len, ihl, frag}) with the total length
# computed unless given.
sub ipv4 {
	my ($proto, $payload, $o) = @_;
	$o //= {};
	my $ihl = $o->{ihl} // 5;
	my $opts = "\x01" x ($ihl * 4 - 20);
	my $len = $o->{len} // 20 + length($opts) + length $payload;
	return pack('C C n n n C C n a4 a4', 0x40 | $ihl, 0, $len, 1, $o->{frag} // 0,
		    64, $proto, 0, pack('C4', split /\./, $o->{src} // '192.0.2.1'),
		    pack('C4', split /\./, $o->{dst} // '192.0.2.2')) . $opts . $payload;
}

sub ipv6 {
	my ($nh, $payload) = @_;
	return pack('N n C C', 0x60000000, length $payload, $nh, 64)
		. pack('H32', '20010db8000000000000000000000001')
		. pack('H32', '20010db8000000000000000000000002') . $payload;
}

sub udp {
	my ($sport, $dport, $payload, $len) = @_;
	return pack('n n n n', $sport, $dport, $len // 8 + length $payload, 0) . $payload;
}

sub tcp {
	my ($sport, $dport, $flags, $payload) = @_;
	return pack('n n N N C C n n n', $sport, $dport, 1, 0, 5 << 4, $flags, 65535, 0, 0)
		. $payload;
}

sub icmp {
	my ($type, $code, $payload) = @_;
	return pack('C C n N', $type, $code, 0, 0) . $payload;
}

sub icmpv6 { icmp(@_) }

# gre(PROTO, PAYLOAD, {version, checksum, offset, key, seq, ack, flags}):
# a GRE header with the optional fields given (checksum or offset sets C,
# key K, seq S, ack A; flags adds any other bits), then PAYLOAD.
sub gre {
	my ($proto, $payload, $o) = @_;
	$o //= {};
	my $flags = ($o->{flags} // 0) | ($o->{version} // 0);
	my $opt = '';
	if (defined $o->{checksum} || defined $o->{offset}) {
		$flags |= 0x8000;
		$opt .= pack('n n', $o->{checksum} // 0, $o->{offset} // 0);
	}
	($flags |= 0x2000, $opt .= pack('N', $o->{key})) if defined $o->{key};
	($flags |= 0x1000, $opt .= pack('N', $o->{seq})) if defined $o->{seq};
	($flags |= 0x0080, $opt .= pack('N', $o->{ack})) if defined $o->{ack};
	return pack('n n', $flags, $proto) . $opt . $payload;
}

# vxlan(VNI, FRAME): the VXLAN header (the I flag set), then FRAME.
sub vxlan {
	my ($vni, $frame) = @_;
	return pack('C x3 N', 0x08, $vni << 8) . $frame;
}

# A name as wire labels: dns_name('www.example.com') ends with the root;
# dns_name('www', \0x0c) ends with a compression pointer to offset 12.
sub dns_name {
	my ($name, $pointer) = @_;
	my $s = join '', map { pack('C/a*', $_) } grep { length } split /\./, $name;
	return $s . (defined $pointer ? pack('n', 0xc000 | $$pointer) : "\0");
}

sub dns_question {
	my ($name, $type) = @_;
	return $name . pack('n n', $type, 1);
}

# dns_rr(NAME-bytes, TYPE, RDATA, RDLENGTH) with rdlength computed unless given.
sub dns_rr {
	my ($name, $type, $rdata, $rdlen) = @_;
	return $name . pack('n n N n', $type, 1, 3600, $rdlen // length $rdata) . $rdata;
}

# dns_message({id, flags, qd => [..], an => [..], ns => [..], ar => [..],
# counts => [q, a, n, r]}) with the counts computed unless given.
sub dns_message {
	my ($m) = @_;
	my @sec = map { $m->{$_} // [] } qw(qd an ns ar);
	my @counts = $m->{counts} ? @{ $m->{counts} } : map { scalar @$_ } @sec;
	return pack('n n n n n n', $m->{id} // 0x1234, $m->{flags} // 0x8180, @counts)
		. join '', map { @$_ } @sec;
}

# TLS: an extension, a list of 16-bit numbers with its length, the
# server_name and ALPN extensions, and a record holding a hello.
sub tls_ext { my ($type, $data) = @_; pack('n n/a*', $type, $data) }
sub tls_u16s { my $s = pack('n*', @_); pack('n/a*', $s) }
sub tls_sni_ext { tls_ext(0, pack('n/a*', pack('C n/a*', 0, $_[0]))) }
sub tls_alpn_ext { tls_ext(16, pack('n/a*', join '', map { pack('C/a*', $_) } @_)) }

sub tls_handshake {
	my ($type, $body, $rversion) = @_;
	my $hs = pack('C', $type) . substr(pack('N', length $body), 1) . $body;
	return pack('C n n/a*', 22, $rversion // 0x0301, $hs);
}

# tls_client_hello(ciphers => [...], exts => [...] (none when undef),
# version => ...): a record holding it, as a TCP payload.
sub tls_client_hello {
	my (%o) = @_;
	my $body = pack('n', $o{version} // 0x0303) . ("\x11" x 32) . pack('C/a*', 'sid')
		. tls_u16s(@{ $o{ciphers} }) . pack('C/a*', "\0");
	$body .= pack('n/a*', join '', @{ $o{exts} }) if $o{exts};
	return tls_handshake(1, $body);
}

# tls_server_hello(cipher => N, exts => [...] (none when undef)).
sub tls_server_hello {
	my (%o) = @_;
	my $body = pack('n', 0x0303) . ("\x22" x 32) . pack('C/a*', '') . pack('n C', $o{cipher}, 0);
	$body .= pack('n/a*', join '', @{ $o{exts} }) if $o{exts};
	return tls_handshake(2, $body, 0x0303);
}

# bootp_message({op, xid, chaddr (hex), sname, file, options => bytes}):
# options undef for plain BOOTP, with no magic cookie.
sub bootp_message {
	my (%o) = @_;
	my $m = pack('C C C C N n n a4 a4 a4 a4 a16 a64 a128', $o{op} // 1, 1, 6, 0,
		     $o{xid} // 0x1234, 0, 0x8000, ("\0" x 4) x 4,
		     pack('H12', $o{chaddr} // '0200000000aa'), $o{sname} // '', $o{file} // '');
	$m .= "\x63\x82\x53\x63" . $o{options} if defined $o{options};
	return $m;
}

sub dhcp_option { my ($code, $data) = @_; pack('C C/a*', $code, $data) }

1;
