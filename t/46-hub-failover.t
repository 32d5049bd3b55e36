#!/usr/bin/perl
# -H given several times: a kitchen or an eater tries the hubs in turn.
# When its hub dies, it moves to the next one at once and carries on;
# only when every hub has failed in a row does a kitchen back off (and
# an eater without --retry give up).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;
use Pcap;

my $dir = tmpdir();
my $n = 3000;
# one packet a second of capture time, replayed 500 times faster: 6 s
write_pcap("$dir/stream.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $n);
my $chef = root() . '/t/chefs/every.lua';
my $dead = free_port();

my $ha = start_hub('--status-freq', 1000);
my $hb = start_hub('--status-freq', 1000);
my $eat = spawn([bin(), 'eat', '--json', '-H', "127.0.0.1:$ha->{out}", '-H', "127.0.0.1:$hb->{out}"],
		out => "$dir/eat.out", err => "$dir/eat.err");
ok(joined($ha, 'eater', 1), 'the eater joined the first hub it was given');
my $kitchen = spawn([bin(), 'kitchen', '-f', '', '-c', $chef, '-r', "$dir/stream.pcap",
		     '--speed', 500, '--status-interval', 0,
		     '-H', "127.0.0.1:$dead", '-H', "127.0.0.1:$ha->{in}", '-H', "127.0.0.1:$hb->{in}"],
		    err => "$dir/kitchen.err");
ok(joined($ha, 'kitchen', 1), 'the kitchen, finding no hub at the first address, joined the second');
sub lines { my @l = split /\n/, slurp($_[0]) // ''; scalar @l }
ok(wait_for(sub { lines("$dir/eat.out") > 300 }, 60), 'dumplings flow through the first hub');

kill 'KILL', $ha->{pid};
waitpid $ha->{pid}, 0;
ok(joined($hb, 'kitchen', 1), 'the hub killed, the kitchen moved to the next hub');
ok(joined($hb, 'eater', 1), 'and so did the eater');
is(reap($kitchen, 120), 0, 'the kitchen finished the file and exited 0');
my $klog = slurp("$dir/kitchen.err") // '';
like($klog, qr/cannot reach hub 127\.0\.0\.1:$dead \([^)]*\); trying hub 127\.0\.0\.1:$ha->{in} in 0\.1 s/,
     'the kitchen said it tried the next hub when the first was not there');
like($klog, qr/lost the connection to hub 127\.0\.0\.1:$ha->{in} \([^)]*\); trying hub 127\.0\.0\.1:$hb->{in} in 0\.1 s/,
     'and when its hub was lost');
like($klog, qr/connected to hub 127\.0\.0\.1:$hb->{in} again/, 'and that it connected to that one');

# the last dumplings came through the second hub, none of them twice
ok(wait_for(sub { (slurp("$dir/eat.out") // '') =~ /"seq":$n\b/ }, 30),
   'the eater got the last dumpling, through the second hub');
stop($eat, 'INT');
my @seq = map { /"chef":"EveryChef".*?"seq":(\d+)/ ? $1 : () } split /\n/, slurp("$dir/eat.out");
my %seen = map { $_ => 1 } @seq;
is(scalar @seq, scalar keys %seen, 'no dumpling shown twice');
is_deeply([@seq], [sort { $a <=> $b } @seq], 'in the order the kitchen made them');
like(slurp("$dir/eat.err") // '', qr/warning: hub ws:\/\/127\.0\.0\.1:$ha->{out}: [^;]+; trying hub ws:\/\/127\.0\.0\.1:$hb->{out}$/m,
     'the eater said it moved on');

# an eater whose hubs are all gone gives up (without --retry), naming the last
my $r = run('eat', '--json', '-H', "127.0.0.1:$dead", '-H', "127.0.0.1:$ha->{out}", { timeout => 60 });
is($r->{status}, 1, 'no hub answers: the eater exits 1');
like($r->{err}, qr/warning: hub ws:\/\/127\.0\.0\.1:$dead: .*; trying hub ws:\/\/127\.0\.0\.1:$ha->{out}\n.*error: cannot connect to hub at 127\.0\.0\.1:$ha->{out}: /s,
     'after trying each in turn');

# hubs that take the upgrade and then refuse the hello: the round ends
# all the same (a hub proves itself by keeping a connection 2 s)
my @picky = map { start_hub('--max-hello', 64) } 1 .. 2;
$r = run('eat', '--json', '-n', 'x' x 100, map({ ('-H', "127.0.0.1:$_->{out}") } @picky), { timeout => 60 });
is($r->{status}, 1, 'hubs that each refuse the hello: the eater gives up, exit 1') or diag($r->{err});
stop($_->{pid}, 'TERM') for @picky;

$r = run('eat', '--json', map { ('-H', "127.0.0.1:$dead") } 1 .. 17);
is($r->{status}, 2, 'seventeen hubs: a usage error');
like($r->{err}, qr/too many hubs \(--hub at most 16 times\)/, 'that says the bound');
$r = run('kitchen', '-r', "$dir/stream.pcap", map { ('-H', "127.0.0.1:$dead") } 1 .. 17);
is($r->{status}, 2, 'for the kitchen too');
like($r->{err}, qr/too many hubs \(-H at most 16 times\)/, 'with the same words');

done_testing();
