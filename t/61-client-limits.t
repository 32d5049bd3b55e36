#!/usr/bin/perl
# A hostile hub against our WebSocket client (the kitchen's uplink and
# dumplings eat): a message over the client's limit (1 MiB for a kitchen,
# 64 MiB for an eater), or one in endless fragments, is refused with a close
# frame (1009, 1008) and nothing else happens: no crash, no sanitizer
# report, nothing written past a buffer.
use strict;
use warnings;
use lib 't/lib';
use POSIX qw(mkfifo);
use Test::More;
use TestLib;
use HubTest;

plan skip_all => 'needs python3-websockets (Debian package)' unless pyok();

my $dir = tmpdir();

# A fake hub that sends what @opts say once the client has said hello.
sub fake_hub {
	my ($name, @opts) = @_;
	my $port = free_port();
	my $out = "$dir/$name.fake";
	my $pid = spawn(py_cmd('fake_hub.py', '--port', $port, '--timeout', 120, @opts),
			out => $out, err => "$dir/$name.fake.err");
	ok(wait_for_port($port), "$name: the fake hub listens");
	return ($pid, $port, $out);
}

sub no_sanitizer_report {
	my ($err, $what) = @_;
	unlike($err // '', qr/AddressSanitizer|LeakSanitizer|runtime error|SEGV/,
	       "$what: no crash, no sanitizer report");
}

# ---- the kitchen's uplink: 5 MiB from the hub ----------------------------------
# The kitchen reads a FIFO that has its pcap header and nothing more, so it
# stays connected until we close the FIFO.
{
	my ($fpid, $port, $fout) = fake_hub('kitchen', '--big', 5 << 20);
	my $fifo = "$dir/capture";
	mkfifo($fifo, 0600) or die "mkfifo: $!";
	my $kerr = "$dir/kitchen.err";
	my $kpid = spawn([bin(), 'kitchen', '-r', $fifo, '-H', "127.0.0.1:$port"], err => $kerr);
	open my $w, '>:raw', $fifo or die "$fifo: $!";
	my $pcap = slurp(root() . '/examples/sample.pcap');
	print $w substr($pcap, 0, 24);
	$w->flush;
	ok(wait_for(sub { (slurp($fout) // '') =~ /^close /m }, 60), 'kitchen: the fake hub saw a close');
	like(slurp($fout), qr/^close 1009$/m, 'kitchen: a message over 1 MiB is refused with 1009');
	like(slurp($kerr), qr/refused: message too big/, 'kitchen: and says why');
	close $w;
	my $st = reap($kpid, 60);
	ok($st != -1, 'kitchen: ends once its capture does');
	no_sanitizer_report(slurp($kerr), 'kitchen');
	reap($fpid, 10);
}

# ---- dumplings eat --status: 65 MiB ------------------------------------------------
{
	my ($fpid, $port, $fout) = fake_hub('eater', '--big', 65 << 20);
	my $r = run('eat', '--status', '-H', "127.0.0.1:$port", { timeout => 120 });
	is($r->{status}, 1, 'eat: exits 1 when it had to refuse a message');
	like($r->{err}, qr/refused: message too big/, 'eat: says why');
	no_sanitizer_report($r->{err}, 'eat');
	reap($fpid, 30);
	like(slurp($fout), qr/^close 1009$/m, 'eat: a message over 64 MiB is refused with 1009');
}

# ---- endless fragments --------------------------------------------------------------
{
	my ($fpid, $port, $fout) = fake_hub('fragments', '--fragments', 5000);
	my $r = run('eat', '--json', '-H', "127.0.0.1:$port", { timeout => 60 });
	like($r->{err}, qr/refused: too many fragments/, 'eat: a message in 5000 fragments is refused');
	is($r->{out}, '', 'eat: and not printed');
	no_sanitizer_report($r->{err}, 'eat, fragments');
	reap($fpid, 30);
	like(slurp($fout), qr/^close 1008$/m, 'eat: with 1008');
}
{
	my ($fpid, $port, $fout) = fake_hub('some-fragments', '--fragments', 500);
	my $r = run('eat', '--json', '--count', 1, '-H', "127.0.0.1:$port", { timeout => 60 });
	is($r->{status}, 0, 'eat: a message in 500 fragments is fine');
	is($r->{out}, qq({"metadata": {"chef": "FragChef"}, "payload": ""}\n), 'eat: and whole');
	reap($fpid, 30);
}

done_testing();
