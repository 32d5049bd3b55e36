#!/usr/bin/perl
# Names off the wire hold any bytes. The bundled chefs use DNS names and
# server names as table keys, so a name with a NUL, a control or a stray
# byte in it must serialize as a key (escaped, losing nothing) just as it
# does as a value: one such packet must not make every later interval
# dumpling of the chef unserializable.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;
use JSON::PP;

my $dir = tmpdir();
my $json = JSON::PP->new->utf8;

sub query {
	my ($name) = @_;
	my $dns = dns_message({ flags => 0x0100, qd => [dns_question(dns_name($name), 1)] });
	return ether(0x0800, ipv4(17, udp(40000, 53, $dns)));
}

# A TLS ClientHello asking for server name $name, on port 443.
sub client_hello {
	my ($name) = @_;
	my $sni = pack('C n/a*', 0, $name);
	my $ext = pack('n n/a*', 0, pack('n/a*', $sni));
	my $body = pack('n a32 C n/a* C/a* n/a*', 0x0303, "\x11" x 32, 0, "\x13\x01", "\0", $ext);
	my $hs = pack('C', 1) . substr(pack('N', length $body), 1) . $body;
	my $record = pack('C n n/a*', 22, 0x0301, $hs);
	return ether(0x0800, ipv4(6, tcp(40000, 443, 0x18, $record)));
}

# cook(CHEF, FRAMES...) -> (docs, raw lines, stderr): the frames one second
# apart, an interval each second.
sub cook {
	my ($chef, @frames) = @_;
	my $pcap = "$dir/$chef.pcap";
	write_pcap($pcap, 1, @frames);
	my $r = run('kitchen', '--stdout', '-f', '', '-p', '1', '-c', $chef, '-r', $pcap);
	is($r->{status}, 0, "$chef: kitchen exits 0");
	my @lines = grep { length } split /\n/, $r->{out};
	return ([map { $json->decode($_) } @lines], \@lines, $r->{err});
}

sub intervals { grep { $_->{metadata}{driver} eq 'interval' } @{ $_[0] } }

my $nul = "nul\0byte.example.com";
my $odd = "esc\e[2J.\xff\x9b.example.com";
my ($docs, $lines, $err) = cook('dns', query($nul), query('plain.example.com'),
			       query($odd), query('plain.example.com'));
unlike($err, qr/dumpling skipped/, 'dns: no dumpling is skipped');
like($err, qr/4 packets, 8 dumplings, 0 handler errors, 0 unserializable/, 'dns: every dumpling is made');
my @iv = intervals($docs);
is(scalar @iv, 4, 'dns: an interval dumpling every second');
my $last = @iv ? $iv[-1]{payload}{lookups_seen} : {};
is($last->{$nul}{count}, 1, 'the name with a NUL is a key, NUL and all');
is($last->{'plain.example.com'}{count}, 2, 'and the names after it are counted');
is($last->{"esc\e[2J.\x{ff}\x{9b}.example.com"}{count}, 1,
   'a name with an escape and stray bytes is a key, each byte kept as a code point');
my ($raw) = grep { /"interval"/ } reverse @$lines;
like($raw, qr/"nul\\u0000byte\.example\.com":\{/, 'the NUL is escaped as \u0000 in the key');
like($raw, qr/"esc\\u001b\[2J\.\xc3\xbf\\u009b\.example\.com":\{/,
     'ESC and the stray CSI byte are escaped in the key');

($docs, $lines, $err) = cook('servernames', client_hello($nul), client_hello('plain.example.com'));
unlike($err, qr/dumpling skipped/, 'servernames: no dumpling is skipped');
@iv = intervals($docs);
is(scalar @iv, 2, 'servernames: an interval dumpling every second');
my $names = @iv ? $iv[-1]{payload}{names_seen} : {};
is($names->{$nul}{count}, 1, 'a server name with a NUL is a key');
is($names->{'plain.example.com'}{count}, 1, 'and the next name is counted');

# C1 and bidirectional controls, which a terminal acts on or which reorder
# what it shows, are written as \u escapes wherever the kitchen writes text:
# in string values, in keys and in the chef's name. Their neighbours, and
# any other character, are written as they are.
my @hidden = (0x80, 0x85, 0x9b, 0x9f, 0x61c, 0x200e, 0x200f, 0x202a .. 0x202e, 0x2066 .. 0x2069);
my @shown = (0x7f, 0xa0, 0xff, 0x61b, 0x200d, 0x2028, 0x2029, 0x202f, 0x2065, 0x206a, 0x263a);
sub lua_bytes { join '', map { sprintf '\\%d', ord } split //, $_[0] }
sub utf8_of { my $s = chr $_[0]; utf8::encode($s); $s }
my $chef = "$dir/controls.lua";
spew($chef, 'local chef = { name = "Evil' . lua_bytes(utf8_of(0x202e)) . 'Chef" }' . "\n" .
      'local texts = {' . join(',', map { '"<' . lua_bytes(utf8_of($_)) . '>"' } @hidden, @shown) . "}\n" .
      'function chef:packet_handler(pkt) return { texts = texts, ["k' . lua_bytes(utf8_of(0x9b)) .
      '"] = "stray' . lua_bytes("\x9b") . '" } end' . "\nreturn chef\n");
my $r = run('kitchen', '--stdout', '-f', '', '-c', $chef, '-r', "$dir/dns.pcap");
my ($line) = split /\n/, $r->{out};
ok(defined $line, 'a chef with controls in its name and dumplings cooks');
$line //= '';
unlike($line, qr/\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]/,
       'no C1 or bidirectional control is written raw');
like($line, qr/"chef":"Evil\\u202eChef"/, 'the chef name has its control escaped');
like($line, qr/"k\\u009b":"stray\\u009b"/, 'so has a key, and a stray 0x9b byte in a value');
for my $cp (@hidden) {
	my $esc = sprintf '\\u%04x', $cp;
	like($line, qr/"<\Q$esc\E>"/, sprintf 'U+%04X is escaped as %s', $cp, $esc);
}
for my $cp (@shown) {
	my $raw = utf8_of($cp);
	like($line, qr/"<\Q$raw\E>"/, sprintf 'U+%04X is written as it is', $cp);
}
my $doc = eval { $json->decode($line) } // {};
is_deeply($doc->{payload}{texts}, [map { '<' . chr($_) . '>' } @hidden, @shown],
	  'a JSON parser reads back the very code points');
is($doc->{metadata}{chef}, "Evil\x{202e}Chef", 'and the chef name');

done_testing;
