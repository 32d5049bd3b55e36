#!/usr/bin/perl
# The log quotes text from elsewhere: chef names, their errors, options
# from the command line, Lua eaters' tracebacks. Whatever that text holds,
# stderr gets no raw control character but tabs and the line breaks of
# the log itself, no C1 or bidirectional control and no byte that is not
# UTF-8; every line starts a new entry or, starting with a tab, continues
# one.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $dir = tmpdir();

# Captured to a file, every entry starts with a UTC time stamp; the
# usage complaints of the command line do not.
my $stamp = qr/$TestLib::LOG_STAMP /;

# What the log may hold: printable UTF-8 but the C1 and bidi controls.
sub check_log {
	my ($what, $err, $prefix) = @_;
	unlike($err, qr/[\x00-\x08\x0b-\x1f\x7f]/, "$what: no raw control character but tab and newline");
	unlike($err, qr/\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]/,
	       "$what: no raw C1 or bidirectional control");
	my $copy = $err;
	ok(utf8::decode($copy), "$what: the log is valid UTF-8");
	my @bad = grep { !/^$prefix|^\t/ } split /\n/, $err;
	is_deeply(\@bad, [], "$what: every line is an entry or a continuation");
}

my $pcap = "$dir/one.pcap";
write_pcap($pcap, 1, ether(0x0800, ipv4(17, udp(40000, 53, 'x'))));

# The chef's name and its error, as Lua strings with decimal escapes:
# ESC [ 31 m, U+202E, U+009B, a stray 0x9b, OSC with BEL, CR, and a line
# break followed by text that would pass for an entry of its own.
my $name = 'Evil\27[31mChef\226\128\174\194\155\155';
my $error = 'boom \27]0;pwned\7 back\r\ndumplings kitchen: error: forged';
spew("$dir/evil.lua", <<LUA);
local chef = { name = "$name" }
function chef:packet_handler(pkt) error("$error", 0) end
return chef
LUA
my $r = run('kitchen', '--stdout', '-f', '', '-c', "$dir/evil.lua", '-r', $pcap);
is($r->{status}, 0, 'the kitchen runs the chef');
my $err = $r->{err};
check_log('kitchen', $err, qr/${stamp}dumplings kitchen default_kitchen: /);
like($err, qr/^${stamp}dumplings kitchen default_kitchen: error: chef Evil\\u001b\[31mChef\\u202e\\u009b\\x9b: error: /m,
     'the chef name is logged with its controls escaped');
like($err, qr/: boom \\u001b\]0;pwned\\u0007 back\\u000d\n\tdumplings kitchen: error: forged$/m,
     'and its error: escapes shown, a line break continues the entry');

# The eater's complaints about its command line quote the argument.
$r = run('eat', "--bogus\e[2J\xe2\x80\xae");
is($r->{status}, 2, 'eat with an unknown option exits 2');
like($r->{err}, qr/^dumplings eat: unknown option '--bogus\\u001b\[2J\\u202e'$/m,
     'the unknown option is quoted escaped');

# A Lua eater's traceback keeps its shape: continuation lines with tabs.
spew("$dir/eater.lua", qq(error("bad \\27[5m eater")\n));
$r = run('eat', '--lua', "$dir/eater.lua", '-H', '127.0.0.1:1');
is($r->{status}, 1, 'a Lua eater that fails to load: exit 1');
check_log('eat', $r->{err}, qr/${stamp}dumplings eat: /);
like($r->{err}, qr/bad \\u001b\[5m eater\n\tstack traceback:\n\t\t/, 'the traceback is indented under its entry');

# Where stderr is the journal (JOURNAL_STREAM names its device and
# inode), each line starts with its syslog priority instead, and its
# continuation lines too; the journal keeps its own time.
sub run_journal {
	my ($claim, @args) = @_;
	my $err = "$dir/journal.err";
	open my $fh, '>', $err or die "$err: $!";
	my @st = stat $fh;
	local $ENV{JOURNAL_STREAM} = $claim // "$st[0]:$st[1]";
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', '/dev/null';
		open STDERR, '>&', $fh;
		exec bin(), @args or POSIX::_exit(127);
	}
	waitpid $pid, 0;
	return slurp($err);
}
$err = run_journal(undef, 'kitchen', '--stdout', '-n', 'jk', '-f', '', '-c', "$dir/evil.lua", '-r', $pcap);
like($err, qr/^<6>dumplings kitchen jk: info: reading \Q$pcap\E, link-type EN10MB$/m,
     'the journal: an info line has priority 6, and names the kitchen');
like($err, qr/^<3>dumplings kitchen jk: error: chef Evil.*\n<3>\tdumplings kitchen: error: forged$/m,
     'an error 3, on its continuation line too');
unlike($err, qr/$TestLib::LOG_STAMP/, 'no time stamps');
my @bad = grep { !/^<[3467]>/ } split /\n/, $err;
is_deeply(\@bad, [], 'every line has its priority');
$err = run_journal('1:2', 'kitchen', '--stdout', '-f', '', '-c', "$dir/evil.lua", '-r', $pcap);
like($err, qr/^${stamp}dumplings kitchen default_kitchen: info: reading /m,
     'JOURNAL_STREAM naming another file: time stamps as before');
unlike($err, qr/^<\d>/m, '... and no priorities');

done_testing;
