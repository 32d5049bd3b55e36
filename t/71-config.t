#!/usr/bin/perl
# --config FILE: long options, one a line, read before the command line's,
# which win; the same for every role.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $dir = tmpdir();
my $udp = ether(0x0800, ipv4(17, udp(40000, 53, 'x')));
my $tcp = ether(0x0800, ipv4(6, tcp(40000, 80, 0x02, '')));
write_pcap("$dir/mix.pcap", 1, $udp, $tcp, $udp);
spew("$dir/count.lua", <<'LUA');
local chef = { name = "Count" }
function chef:packet_handler(pkt) return { n = pkt.wirelen } end
return chef
LUA

sub packet_dumplings { grep { $_->{metadata}{driver} eq 'packet' } decode_lines($_[0]) }

# Every form a line may take.
spew("$dir/k.conf", <<CONF);
# a comment, then a blank line

kitchen-name fromfile
--filter = udp
  stdout
chef $dir/count.lua
   # an indented comment
poke-interval=2
CONF
my $r = run('kitchen', '--config', "$dir/k.conf", '-r', "$dir/mix.pcap");
is($r->{status}, 0, 'a kitchen runs from its configuration file') or diag $r->{err};
my @d = packet_dumplings($r->{out});
is(scalar @d, 2, 'its filter holds: the two UDP packets');
is($d[0]{metadata}{kitchen}, 'fromfile', 'and its name');

$r = run('kitchen', "--config=$dir/k.conf", '-r', "$dir/mix.pcap", '-n', 'fromargs', '-f', 'tcp');
@d = packet_dumplings($r->{out});
is(scalar @d, 1, 'the command line wins: its filter (--config=FILE too)');
is($d[0]{metadata}{kitchen}, 'fromargs', 'and its name');

spew("$dir/empty.conf", qq(stdout\nfilter ""\nchef $dir/count.lua\n));
$r = run('kitchen', '--config', "$dir/empty.conf", '-r', "$dir/mix.pcap");
is(scalar(packet_dumplings($r->{out})), 3, 'a quoted empty value: no filter, every packet');

# What is wrong is said, and named.
spew("$dir/bad.conf", qq(stdout\n\n= nothing\n));
$r = run('kitchen', '--config', "$dir/bad.conf", '-r', "$dir/mix.pcap");
is($r->{status}, 2, 'a line with no option: exit 2');
like($r->{err}, qr/\Q$dir\E\/bad\.conf:3: want an option's long name first/, '... naming the file and line');
spew("$dir/unknown.conf", qq(no-such-option 12\n));
$r = run('kitchen', '--config', "$dir/unknown.conf", '-r', "$dir/mix.pcap");
is($r->{status}, 2, 'an unknown option: exit 2');
like($r->{err}, qr/unknown option '--no-such-option=12'/, '... named as the command line would');
$r = run('hub', '--config', "$dir/none.conf");
is($r->{status}, 2, 'a file that is not there: exit 2');
like($r->{err}, qr/cannot read configuration file \Q$dir\E\/none\.conf: No such file/, '... saying so');
$r = run('eat', '--config');
is($r->{status}, 2, '--config with no file: exit 2');
$r = run('kitchen', '--config', "$dir/k.conf", '--config', "$dir/k.conf");
like($r->{err}, qr/--config given twice/, 'one file only');
$r = run('kitchen', '--stdout', '-r', "$dir/mix.pcap", '--', '--config', "$dir/k.conf");
like($r->{err}, qr/bad filter '--config \Q$dir\E\/k\.conf'/,
     'after --, --config is an argument like any (here, the filter)');

# A hub and an eater read theirs too.
my ($in, $out) = (free_port(), free_port());
spew("$dir/hub.conf", "address 127.0.0.1\nin-port $in\nout-port $out\nstatus-freq 0.2\n");
my $hub = spawn([bin(), 'hub', '--config', "$dir/hub.conf"], err => "$dir/hub.err");
ok(wait_for_port($in) && wait_for_port($out), 'the hub listens on the ports its file gives');
spew("$dir/eat.conf", "hub 127.0.0.1:$out\ndetails\n");
$r = run('eat', '--config', "$dir/eat.conf", { timeout => 30 });
is($r->{status}, 0, 'the eater finds the hub its file names');
my $status = eval { JSON::PP->new->decode($r->{out}) } // {};
is($status->{metadata}{chef}, 'SystemStatusChef', '... and prints its status, as asked');
stop($hub);

# The examples are good configuration files (--help after them: every
# option in them is known and well formed, and nothing is opened).
for my $role (qw(kitchen hub)) {
	my $conf = root() . "/examples/$role.conf";
	$r = run($role, '--config', $conf, '--help');
	is($r->{status}, 0, "examples/$role.conf is a good $role configuration") or diag $r->{err};
}

done_testing;
