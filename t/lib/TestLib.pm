package TestLib;
# Shared helpers for the TAP tests: where things are, running the binary,
# starting real servers on free loopback ports, and reading NDJSON.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Exporter 'import';

# What starts each log line when stderr is neither a terminal nor the
# journal (a file, as the tests capture it): a UTC time stamp.
our $LOG_STAMP = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

our @EXPORT = qw(root bin pcap pcaps_dir need_corpus have_corpus corpus_skip need need_tshark tmpdir run
		 driver free_port spawn stop wait_for_port wait_for decode_lines slurp spew json);

my $ROOT = abs_path(dirname(__FILE__) . '/../..');

sub root { $ROOT }

# The binary under test: $DUMPLINGS (the sanitizer build sets it) or ./dumplings.
sub bin { $ENV{DUMPLINGS} // "$ROOT/dumplings" }

# The shared capture corpus sits beside the repository.
sub pcaps_dir { $ENV{DUMPLINGS_PCAPS} // abs_path("$ROOT/../shared/pcaps") // "$ROOT/../shared/pcaps" }
sub pcap { pcaps_dir() . '/' . $_[0] }

# Tests that read the shared capture corpus skip, saying why, without it;
# under CI=true its absence is a failure, so that CI never passes by
# skipping. need_corpus() for a file that needs it throughout; have_corpus()
# and corpus_skip(N) for the subtests that do.
sub have_corpus { -d pcaps_dir() && -e pcap('dns_udp.pcap') }

sub corpus_missing { 'capture corpus not found at ' . pcaps_dir() . ' (set DUMPLINGS_PCAPS)' }

sub need_corpus { need(have_corpus(), corpus_missing()) }

# need(COND, WHY): a test file that cannot run without COND skips, saying
# why; under CI=true it fails, so that CI never passes by skipping.
sub need {
	my ($ok, $why) = @_;
	return if $ok;
	if ($ENV{CI}) {
		Test::More::plan(tests => 1);
		Test::More::fail("$why, and CI=true: this test cannot be skipped");
		exit 1;
	}
	Test::More::plan(skip_all => $why);
}

# Tests that compare the decoder with tshark need it (Debian package
# tshark, which .ci/deps installs); like everything need() asks for, its
# absence skips the test, and fails it under CI=true.
sub need_tshark {
	need(system('tshark -v >/dev/null 2>&1') == 0, 'tshark is not installed (Debian package tshark)');
}

# Inside a SKIP block: skip its n tests without the corpus (fail under CI).
sub corpus_skip {
	my ($n) = @_;
	return if have_corpus();
	if ($ENV{CI}) {
		Test::More::fail(corpus_missing() . ', and CI=true: this test cannot be skipped');
		$n--;
	}
	Test::More::skip(corpus_missing(), $n);
}

sub tmpdir { tempdir('dumplings-test-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

sub json { JSON::PP->new->canonical->allow_nonref }

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or return undef;
	local $/;
	my $s = <$fh>;
	return $s;
}

sub spew {
	my ($path, $content) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $content;
	close $fh;
}

# run(ARGS..., {stdin => STR, timeout => SECONDS}) runs the binary (or, when
# the first argument is an array ref, that command) to completion and returns
# {out, err, status, signal}.
sub run {
	my $opt = ref $_[-1] eq 'HASH' ? pop : {};
	my @cmd = ref $_[0] eq 'ARRAY' ? @{ $_[0] } : (bin(), @_);
	my $dir = tmpdir();
	spew("$dir/in", $opt->{stdin} // '');
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDIN, '<', "$dir/in";
		open STDOUT, '>', "$dir/out";
		open STDERR, '>', "$dir/err";
		exec @cmd or POSIX::_exit(127);
	}
	my $deadline = time + ($opt->{timeout} // 60);
	while (waitpid($pid, WNOHANG) == 0) {
		if (time > $deadline) {
			kill 'KILL', $pid;
			waitpid $pid, 0;
			return { out => slurp("$dir/out"), err => slurp("$dir/err") . "\n(timed out)",
				 status => -1, signal => 9 };
		}
		sleep 0.01;
	}
	my $st = $?;
	return { out => slurp("$dir/out") // '', err => slurp("$dir/err") // '',
		 status => $st >> 8, signal => $st & 127 };
}

# driver(NAME): the path of a test driver (t/NAME.c, make NAME): the one
# make check-asan or check-tsan built with its sanitizer, in
# $DUMPLINGS_DRIVERS, or else built now into build/. Undef, after saying
# why, if it does not build.
sub driver {
	my ($name) = @_;
	return "$ENV{DUMPLINGS_DRIVERS}/$name" if $ENV{DUMPLINGS_DRIVERS};
	my $b = run(['make', '-s', '-C', $ROOT, '-j2', $name], { timeout => 300 });
	if ($b->{status} != 0) {
		print STDERR "# make $name failed:\n$b->{err}";
		return undef;
	}
	return "$ROOT/build/$name";
}

# A port that was free a moment ago. The kernel hands out ephemeral ports
# in sequence, so parallel tests do not collide.
# The kernel may hand the same ephemeral port out again once it is closed:
# a port is never given twice to one test, so that two picked in a row
# (a hub's --in-port and --out-port) always differ.
my %ports_given;

sub free_port {
	for (1 .. 100) {
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
					      Proto => 'tcp', Listen => 1, ReuseAddr => 1)
			or die "free_port: $!";
		my $port = $s->sockport;
		close $s;
		return $port unless $ports_given{$port}++;
	}
	die 'free_port: the kernel gave only ports given already';
}

# spawn(\@cmd, out => FILE, err => FILE) starts a process in the background.
# Whatever a test started and did not reap is killed when it ends, so a
# test that dies halfway leaves no hub behind.
my ($parent, @spawned) = ($$);

sub spawn {
	my ($cmd, %o) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDIN, '<', $o{in} // '/dev/null';
		open STDOUT, '>', $o{out} // '/dev/null';
		open STDERR, '>', $o{err} // '/dev/null';
		exec @$cmd or POSIX::_exit(127);
	}
	push @spawned, $pid;
	return $pid;
}

END {
	local $?;
	if ($$ == $parent) {
		for my $pid (@spawned) {
			kill 'KILL', $pid if waitpid($pid, WNOHANG) == 0;
		}
	}
}

# stop(PID, SIGNAL) signals a process and reaps it (KILL after 10 s);
# returns its wait status.
sub stop {
	my ($pid, $sig) = @_;
	kill $sig // 'TERM', $pid;
	my $deadline = time + 10;
	while (waitpid($pid, WNOHANG) == 0) {
		if (time > $deadline) {
			kill 'KILL', $pid;
			waitpid $pid, 0;
			return $?;
		}
		sleep 0.01;
	}
	return $?;
}

sub wait_for(&;$) {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout // 10);
	while (time < $deadline) {
		return 1 if $cond->();
		sleep 0.02;
	}
	return 0;
}

sub wait_for_port {
	my ($port, $timeout) = @_;
	return wait_for {
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp');
		close $s if $s;
		!!$s;
	} $timeout;
}

# Lines of NDJSON into a list of decoded documents (dies on a bad line).
sub decode_lines {
	my ($text) = @_;
	my $j = JSON::PP->new;
	return map { $j->decode($_) } grep { length } split /\n/, $text // '';
}

1;
