#!/usr/bin/perl
# What the kitchen says of itself: the summary at the end (packets read,
# passed by the filter, dropped), the same numbers on SIGUSR1 while it
# runs, and the progress line a terminal gets while it reads files.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(mkfifo);
use TestLib;
use Pcap;

my $dir = tmpdir();
my $udp = ether(0x0800, ipv4(17, udp(40000, 53, 'x')));
my $tcp = ether(0x0800, ipv4(6, tcp(40000, 80, 0x02, '')));
my $arp = ether(0x0806, pack('n n C C n', 1, 0x0800, 6, 4, 1) . "\0" x 20);

spew("$dir/count.lua", <<'LUA');
local chef = { name = "Count" }
function chef:packet_handler(pkt) return { n = pkt.wirelen } end
return chef
LUA

# The summary: what was read, what the filter let through, what the
# kitchen lost before reading it (nothing, from a file).
write_pcap("$dir/mix.pcap", 1, $udp, $tcp, $udp, $arp, $udp);
my $r = run('kitchen', '--stdout', '-f', 'udp', '-c', "$dir/count.lua", '-r', "$dir/mix.pcap");
is($r->{status}, 0, 'the kitchen reads the file');
like($r->{err}, qr/^$TestLib::LOG_STAMP dumplings kitchen default_kitchen: info: 3 packets, 3 dumplings, 0 handler errors, 0 unserializable results; 5 packets read, 3 passed the filter, 0 dropped by the kernel, 0 by the interface$/m,
     'the summary: 3 of the 5 packets read passed the filter, none dropped');
$r = run('kitchen', '--stdout', '-f', '', '-c', "$dir/count.lua", '-r', "$dir/mix.pcap", '-r', "$dir/mix.pcap");
like($r->{err}, qr/: 10 packets, 10 dumplings, .*; 10 packets read, 10 passed the filter, /,
     'two files, no filter: every packet read passes');

# SIGUSR1, as tcpdump's SIGINFO: the numbers so far, and the kitchen
# reads on. Fed through a pipe that stays open, the kitchen waits for
# more; the signals must not break its read of the pipe either. With -q
# too: the user asked.
local $SIG{PIPE} = 'IGNORE';
mkfifo("$dir/fifo", 0600) or die "mkfifo: $!";
my $pid = spawn([bin(), 'kitchen', '-q', '--stdout', '-f', '', '-n', 'usr1', '-c', "$dir/count.lua", '-r', '-'],
		in => "$dir/fifo", out => "$dir/usr1.out", err => "$dir/usr1.err");
open my $fifo, '>:raw', "$dir/fifo" or die "fifo: $!";
$fifo->autoflush(1);
print $fifo pack('VvvlVVV', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1);
print $fifo pack('VVVV', 1_000_000_000 + $_, 0, length $udp, length $udp), $udp for 1 .. 3;
my $said = sub { slurp("$dir/usr1.err") // '' };
# Signalled before it catches SIGUSR1, a process dies of it.
my $catches = sub { (slurp("/proc/$pid/status") // '') =~ /^SigCgt:\s*([0-9a-f]+)/m && hex(substr($1, -8)) & (1 << 9) };
ok(wait_for(sub { $catches->() }, 30), 'the kitchen catches SIGUSR1');
ok(wait_for(sub { kill 'USR1', $pid; sleep 0.2; $said->() =~ /; 3 packets read,/ }, 30),
   'SIGUSR1: the kitchen says what it read so far');
like($said->(), qr/^$TestLib::LOG_STAMP dumplings kitchen usr1: info: after \d+\.\d s: \d+ packets, \d+ dumplings, 0 handler errors, 0 unserializable results; 3 packets read, 3 passed the filter, 0 dropped by the kernel, 0 by the interface$/m,
     '... in the summary\'s words, with how long it has run, despite -q');
is(waitpid($pid, POSIX::WNOHANG()), 0, 'and it is still running');
kill 'USR1', $pid for 1 .. 5;
print $fifo pack('VVVV', 1_000_000_010 + $_, 0, length $udp, length $udp), $udp for 1 .. 2;
close $fifo;
ok(wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 30), 'it ends when the pipe does');
is($? >> 8, 0, '... with status 0: the signals did not break its read');
my @out = decode_lines(slurp("$dir/usr1.out") // '');
is(scalar(grep { $_->{metadata}{chef} eq 'Count' } @out), 5, 'every packet made its dumpling');
unlike($said->(), qr/: 5 packets, /, 'with -q there is no summary at the end');

# The progress line: only on a terminal (a pseudo-terminal from script(1)).
write_pcap("$dir/long.pcap", 1, ($udp) x 30);
unlike(run('kitchen', '--stdout', '-c', "$dir/count.lua", '-r', "$dir/long.pcap")->{err},
       qr/\r|packets\/s/, 'stderr a file: no progress line');
my $piped = run(['sh', '-c', join(' ', map { "'$_'" } bin(), 'kitchen', '--stdout', '-c', "$dir/count.lua",
			'-r', "$dir/long.pcap") . ' 2>&1 >/dev/null | cat']);
like($piped->{out}, qr/: 30 packets, 30 dumplings, /, 'stderr a pipe: the summary comes through it');
unlike($piped->{out}, qr/\r|packets\/s/, '... and no progress line');
SKIP: {
	my $script = `sh -c 'command -v script' 2>/dev/null`;
	chomp $script;
	skip 'script(1) from util-linux is not installed', 6 unless $script;
	my $cmd = sub { join ' ', map { "'$_'" } bin(), 'kitchen', '--stdout', '-c', "$dir/count.lua",
			'-r', "$dir/long.pcap", '--speed', '30', @_ };
	my $tty = run([$script, '-qec', $cmd->() . ' >/dev/null', '/dev/null']);
	is($tty->{status}, 0, 'on a terminal, the kitchen reads the file');
	my $text = $tty->{out};
	my @lines = $text =~ /\r( *\d+\.\d% +\d+ packets\/s +\d+ dumplings(?: +\d+:\d\d left)?)\e\[K/g;
	cmp_ok(scalar @lines, '>=', 2, 'a progress line, redrawn in place: ' . scalar(@lines) . ' times');
	my @pct = map { /([\d.]+)%/ ? $1 : -1 } @lines;
	is_deeply([sort { $a <=> $b } @pct], \@pct, 'its share only grows');
	like($text, qr/\e\[K\r\e\[Kdumplings kitchen default_kitchen: info: 30 packets, 30 dumplings,/,
	     'and it is cleared before the summary');
	my ($after) = $text =~ /by the interface(.*)\z/s;
	unlike($after // 'no summary', qr/packets\/s/, 'nothing of it is left at the end');
	$tty = run([$script, '-qec', $cmd->('-q') . ' >/dev/null', '/dev/null']);
	unlike($tty->{out}, qr/packets\/s/, 'with -q, no progress line');
}

done_testing;
