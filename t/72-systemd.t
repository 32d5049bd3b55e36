#!/usr/bin/perl
# make install puts systemd units for the hub and for kitchens (one per
# configuration file), hardened, running the installed binary with the
# configuration file they name; systemd-analyze finds nothing wrong in them.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $tmp = tmpdir();
my ($prefix, $conf) = ("$tmp/prefix", "$tmp/etc");
my $r = run(['make', '-s', '-C', root(), 'install', 'DESTDIR=', "PREFIX=$prefix", "CONFDIR=$conf"]);
is($r->{status}, 0, 'make install succeeds') or diag($r->{err});
my $units = "$prefix/lib/systemd/system";
my %unit = map { $_ => slurp("$units/$_") // '' } qw(dumplings-hub.service dumplings-kitchen@.service);
ok(length $unit{$_}, "$_ is installed") for sort keys %unit;

my %exec = map { $_ => ($unit{$_} =~ /^ExecStart=(.*)$/m)[0] // '' } keys %unit;
is($exec{'dumplings-hub.service'}, "$prefix/bin/dumplings hub --config $conf/hub.conf",
   'the hub runs the installed binary with its configuration file');
is($exec{'dumplings-kitchen@.service'}, "$prefix/bin/dumplings kitchen --config $conf/%i.conf",
   'a kitchen, with the configuration file its instance names');
for my $u (sort keys %unit) {
	for my $want (qw(DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure)) {
		like($unit{$u}, qr/^\Q$want\E$/m, "$u: $want");
	}
}
like($unit{'dumplings-kitchen@.service'}, qr/^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$/m,
     'a kitchen may capture, and nothing more');
like($unit{'dumplings-kitchen@.service'}, qr/^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN$/m,
     '... not even by gaining capabilities');
like($unit{'dumplings-hub.service'}, qr/^CapabilityBoundingSet=$/m, 'the hub has no capabilities');

# What a kitchen's unit runs, run here: its instance's file is read.
my $pcap = "$tmp/one.pcap";
write_pcap($pcap, 1, ether(0x0800, ipv4(17, udp(40000, 53, 'x'))));
mkdir $conf or die "$conf: $!";
spew("$conf/lab.conf", "kitchen-name lab\nstdout\nread $pcap\nchef PacketCountChef\n");
(my $cmd = $exec{'dumplings-kitchen@.service'}) =~ s/%i/lab/g;
$r = run([split / /, $cmd]);
is($r->{status}, 0, "dumplings-kitchen\@lab's command runs") or diag($r->{err});
my @d = decode_lines($r->{out});
is($d[-1]{metadata}{kitchen}, 'lab', '... the kitchen its file describes');

SKIP: {
	my $analyze = `sh -c 'command -v systemd-analyze' 2>/dev/null`;
	chomp $analyze;
	skip 'systemd-analyze is not installed (Debian package systemd)', 1 unless $analyze;
	# an instance, as systemd would load it, beside the template
	spew("$tmp/dumplings-kitchen\@lab.service", $unit{'dumplings-kitchen@.service'});
	my @man = `sh -c 'command -v man' 2>/dev/null` ? () : ('--man=no');
	local $ENV{MANPATH} = "$prefix/share/man";
	$r = run([$analyze, 'verify', @man, "$units/dumplings-hub.service",
		  "$units/dumplings-kitchen\@.service", "$tmp/dumplings-kitchen\@lab.service"]);
	is($r->{status} . $r->{out} . $r->{err}, '0', 'systemd-analyze verify: nothing to say');
}

done_testing;
