#!/usr/bin/perl
# The bundled chefs stay bounded however many names, hosts and devices
# they see, count only what they should, and name layers as the original's
# clients expect; a dumpling over --max-dumpling is refused in the kitchen,
# naming its chef.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $dir = tmpdir();

sub query {
	my ($id, $name) = @_;
	my $dns = dns_message({ id => $id, flags => 0x0100, qd => [dns_question(dns_name($name), 1)] });
	return ether(0x0800, ipv4(17, udp(5353, 53, $dns)));
}

# 3,000 names asked once each, and a few asked often.
my @frames;
for my $i (1 .. 3000) {
	push @frames, query($i, "once$i.example");
	push @frames, query(60000 + $i % 7, 'often' . ($i % 3) . '.example') if $i % 10 == 0;
}
write_pcap("$dir/names.pcap", 1, @frames);

my $r = run('kitchen', '-q', '-f', '', '-c', 'dns', '-p', '86400', '-r', "$dir/names.pcap", '--stdout');
is($r->{status}, 0, 'the DNS chef cooks 3,000 names');
my ($final) = grep { $_->{metadata}{driver} eq 'interval' } reverse decode_lines($r->{out});
my $seen = $final->{payload}{lookups_seen};
my $kept = keys %$seen;
cmp_ok($kept, '<=', 1000, "it keeps at most 1,000 names ($kept)");
is($kept + $final->{payload}{evicted}, 3003, 'and counts those it forgot');
ok($seen->{"often$_.example"}, "the often-asked often$_.example is kept") for 0 .. 2;
cmp_ok(length $r->{out}, '<', 2_000_000, 'its output stays small');

# A DNS message quoted in an ICMP error is not a lookup.
SKIP: {
	corpus_skip(2);
	$r = run('kitchen', '-q', '-f', '', '-c', 'dns', '-r', pcap('icmp-destunreach-udp.pcap'), '--stdout');
	my @lookups = grep { $_->{metadata}{driver} eq 'packet' } decode_lines($r->{out});
	my $pc = run('kitchen', '-q', '-f', '', '-c', 'packetcount', '-r', pcap('icmp-destunreach-udp.pcap'), '--stdout');
	my ($counts) = map { $_->{payload}{packet_counts} } reverse decode_lines($pc->{out});
	ok($counts->{'UDP in ICMP'}, 'the capture quotes a datagram in an ICMP error');
	is(scalar(grep { $_->{payload}{lookup} } @lookups), ($counts->{DNS} // 0) - ($counts->{'UDP in ICMP'} // 0),
	   'the DNS chef counts the lookups, not the quoted one');
}

# PacketCountChef names layers as scapy displays them.
SKIP: {
	corpus_skip(3);
	$r = run('kitchen', '-q', '-f', '', '-c', 'packetcount', '-r', pcap('icmp_dot1q.pcap'),
		 '-r', pcap('linuxsll-arp.pcap'), '--stdout');
	my %names;
	for my $d (decode_lines($r->{out})) { $names{$_} = 1 for keys %{ $d->{payload}{packet_counts} } }
	ok($names{'802.1Q'}, 'Dot1Q is counted as "802.1Q"');
	ok($names{'cooked linux'}, 'CookedLinux as "cooked linux"');
	ok(!$names{Dot1Q} && !$names{CookedLinux}, 'and not under our own names');
}

# TLSChef: 3,000 client hosts, one hello each, and one host that shows
# 100 fingerprints (a cipher list of its own each time) and one often.
sub hello_from {
	my ($src, @ciphers) = @_;
	my $hello = tls_client_hello(ciphers => \@ciphers, exts => [tls_sni_ext('example.com')]);
	return ether(0x0800, ipv4(6, tcp(40000, 443, 0x18, $hello), { src => $src }));
}
my @hellos = map { hello_from('10.' . ($_ >> 8) . '.' . ($_ & 255) . '.1', 0x1301) } 1 .. 3000;
push @hellos, map { (hello_from('192.0.2.9', 0x1000 + $_), hello_from('192.0.2.9', 0x1301)) } 1 .. 100;
write_pcap("$dir/hellos.pcap", 1, @hellos);
$r = run('kitchen', '-q', '-f', '', '-c', 'tls', '-p', '86400', '-r', "$dir/hellos.pcap", '--stdout');
is($r->{status}, 0, 'the TLS chef cooks 3,200 hellos');
($final) = grep { $_->{metadata}{driver} eq 'interval' } reverse decode_lines($r->{out});
my $clients = $final->{payload}{clients};
cmp_ok(scalar(keys %$clients), '<=', 1000, 'it keeps at most 1,000 client hosts');
is(keys(%$clients) + $final->{payload}{evicted}, 3001, 'and counts those it forgot');
my $busy = $clients->{'192.0.2.9'};
ok($busy, 'the busiest host is kept');
cmp_ok(scalar(keys %{ $busy->{ja4} }), '<=', 16, 'a host keeps at most 16 JA4 fingerprints');
cmp_ok(scalar(keys %{ $busy->{ja3} }), '<=', 16, '... and 16 JA3 ones');
is(keys(%{ $busy->{ja4} }) + keys(%{ $busy->{ja3} }) + $busy->{evicted}, 2 * 101,
   'and counts those it forgot');
my ($often) = grep { $busy->{ja4}{$_}{count} == 100 } keys %{ $busy->{ja4} };
ok($often, 'the fingerprint it shows most is kept');

# DHCPChef: 3,000 devices, one discover each, and one that asks often.
sub discover {
	my ($mac) = @_;
	my $msg = bootp_message(chaddr => $mac, options => dhcp_option(53, "\1")
				. dhcp_option(12, "host-$mac") . "\xff");
	return ether(0x0800, ipv4(17, udp(68, 67, $msg)));
}
my @discovers = map { discover(sprintf '02000000%04x', $_) } 1 .. 3000;
push @discovers, map { discover('020000ffffff') } 1 .. 20;
write_pcap("$dir/discovers.pcap", 1, @discovers);
$r = run('kitchen', '-q', '-f', '', '-c', 'dhcp', '-p', '86400', '-r', "$dir/discovers.pcap", '--stdout');
is($r->{status}, 0, 'the DHCP chef cooks 3,020 discovers');
($final) = grep { $_->{metadata}{driver} eq 'interval' } reverse decode_lines($r->{out});
my $devices = $final->{payload}{devices};
cmp_ok(scalar(keys %$devices), '<=', 1000, 'it keeps at most 1,000 devices');
is(keys(%$devices) + $final->{payload}{evicted}, 3001, 'and counts those it forgot');
is($devices->{'02:00:00:ff:ff:ff'}{hostname}, 'host-020000ffffff', 'the busiest device is kept, with its name');

# --max-dumpling: refused in the kitchen, with the chef's name.
spew("$dir/big.lua", <<'LUA');
local c = { name = "BigChef", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n == 1 then return string.rep("x", 100000) end
  if self.n == 2 then return "small" end
end
return c
LUA
$r = run('kitchen', '-f', '', '-c', "$dir/big.lua", '--max-dumpling', '50000',
	 '-r', root() . '/examples/sample.pcap', '--stdout');
is($r->{status}, 0, 'a dumpling over --max-dumpling does not stop the kitchen');
like($r->{err}, qr/chef BigChef: dumpling skipped: \d+ bytes, over --max-dumpling 50000/, 'it is refused, naming the chef');
my @made = decode_lines($r->{out});
is(scalar @made, 1, 'the other dumpling goes out');
is($made[0]{metadata}{seq}, 1, 'a refused dumpling takes no seq: numbers have no gaps at the source');
$r = run('kitchen', '-f', '', '-c', "$dir/big.lua", '--max-dumpling', 'lots',
	 '-r', root() . '/examples/sample.pcap', '--stdout');
is($r->{status}, 2, 'a bad --max-dumpling is a usage error');

done_testing;
