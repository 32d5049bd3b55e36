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
like($raw, qr/"esc\\u001b\[2J\.\xc3\xbf\xc2\x9b\.example\.com":\{/,
     'ESC is escaped in the key, stray bytes become code points');

($docs, $lines, $err) = cook('servernames', client_hello($nul), client_hello('plain.example.com'));
unlike($err, qr/dumpling skipped/, 'servernames: no dumpling is skipped');
@iv = intervals($docs);
is(scalar @iv, 2, 'servernames: an interval dumpling every second');
my $names = @iv ? $iv[-1]{payload}{names_seen} : {};
is($names->{$nul}{count}, 1, 'a server name with a NUL is a key');
is($names->{'plain.example.com'}{count}, 1, 'and the next name is counted');

done_testing;
