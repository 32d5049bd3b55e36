#!/usr/bin/perl
# eat --lossless: an eater slower than its kitchen is never skipped. While
# it is a full queue behind, the hub stops reading from kitchens; a kitchen
# reading a file then waits, and every dumpling arrives, in order, with no
# gap in its seq. A plain eater beside it loses nothing either, and the
# hub says it held its kitchens back.
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
my $plain = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json'],
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
ok(wait_for(sub { lines($plain_out) >= $n }, 60), "the plain eater got all $n");
my $st = hub_status($hub);
ok($st->{total_kitchen_holds} > 0, "the hub held its kitchens back ($st->{total_kitchen_holds} times)");
is($st->{total_dumplings_dropped}, 0, 'and skipped nobody');
stop($eater, 'TERM');
stop($plain, 'TERM');
reap($consumer, 30);
for my $e ([$out, 'lossless'], [$plain_out, 'plain']) {
	my @seq = packet_seqs($e->[0]);
	my $first = $seq[0] // 0;
	is_deeply(\@seq, [$first .. $first + $n - 1], "$e->[1]: every packet dumpling once, in order, no gap");
}
like(slurp("$out.err") // '', qr/lost no dumplings/, 'the lossless eater says it lost nothing');
is(stop($hub->{pid}), 0, 'the hub exits 0');

done_testing();
