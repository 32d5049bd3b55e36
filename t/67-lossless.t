#!/usr/bin/perl
# eat --lossless: an eater slower than its kitchen is never skipped. While
# it is a full queue behind, the hub stops reading from kitchens; a kitchen
# reading a file then waits, and every dumpling arrives, in order, with no
# gap in its seq. A plain eater beside it may be skipped if it falls a
# full queue behind (on a loaded machine), and then says exactly how many;
# the hub says it held its kitchens back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;
use Pcap;

need(pyok(), 'python3-websockets is not installed');

my $dir = tmpdir();
my $n = 20000;
write_pcap("$dir/many.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. $n);
my $chef = root() . '/t/chefs/every.lua';

# a queue of 200 one-kilobyte dumplings is far less than the run
my $hub = start_hub("--queue", 200, "--status-freq", 0.5);
my $out = "$dir/lossless.out";
# The consumer takes about 10 dumplings a millisecond: well under what the
# kitchen makes, so the eater falls behind whatever the machine's speed.
my $slow = q{$| = 1; while (<STDIN>) { print; select(undef, undef, undef, 0.001) unless $. % 10 }};
system('mkfifo', "$dir/pipe") == 0 or die "mkfifo: $!";
my $consumer = spawn(['perl', '-e', $slow], in => "$dir/pipe", out => $out);
my $eater = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '--lossless'],
		  out => "$dir/pipe", err => "$out.err");
my $plain_out = "$dir/plain.out";
# (of one chef, so that what the hub skips for it is only what it counts)
my $plain = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '-c', 'EveryChef'],
		  out => $plain_out, err => "$plain_out.err");
ok(joined($hub, 'eater', 2), 'a lossless eater and a plain one joined');

my $r = run('kitchen', '-q', '-f', '', '-c', $chef, '-r', "$dir/many.pcap",
	    '-H', "127.0.0.1:$hub->{in}", { timeout => 300 });
is($r->{status}, 0, 'the kitchen read the whole file and exited 0');

# (by pattern: JSON::PP would take longer than the run over 20 MB)
sub packet_seqs {
	my ($file) = @_;
	return map { /"chef":"EveryChef".*?"seq":(\d+)/ ? $1 : () } split /\n/, slurp($file) // '';
}
sub lines { my @l = split /\n/, slurp($_[0]) // ''; scalar @l }

ok(wait_for(sub { lines($out) >= $n }, 120), "the lossless eater got all $n");
my $st = hub_status($hub);
ok($st->{total_kitchen_holds} > 0, "the hub held its kitchens back ($st->{total_kitchen_holds} times)");
my ($ls) = grep { ($_->{info_from_eater}{eater_name} // '') eq 'dumplings_eat' &&
		  $_->{info_from_eater}{lossless} } @{ $st->{dumpling_eaters} };
ok($ls, 'the hub lists the lossless eater as such');
is($ls && $ls->{dumplings_dropped}, 0, 'and skipped nothing for it');
sleep 1;	# what the plain eater is still to get
stop($eater, 'TERM');
stop($plain, 'TERM');
reap($consumer, 30);
# the kitchen's own health reports are numbered too, between the packets'
my @seq = map { /"kitchen":"default_kitchen".*?"seq":(\d+)/ ? $1 : () } split /\n/, slurp($out) // '';
my $first = $seq[0] // 0;
is_deeply(\@seq, [$first .. $first + @seq - 1], "lossless: the kitchen's dumplings in order, no gap");
is(scalar packet_seqs($out), $n, "lossless: every one of the $n packet dumplings");
like(slurp("$out.err") // '', qr/lost no dumplings/, 'the lossless eater says it lost nothing');
my @plain = packet_seqs($plain_out);
my $gaps = $n - @plain;
my $perr = slurp("$plain_out.err") // '';
my ($skipped) = $perr =~ /lost (\d+): skipped by the hub because this eater was slow/;
is($skipped // 0, $gaps, "plain: what the hub skipped for it is what it missed ($gaps)");
is(stop($hub->{pid}), 0, 'the hub exits 0');

done_testing();
