package HubTest;
# Helpers for the hub, eater and uplink tests: start a hub on free loopback
# ports, wait for its clients to join, run the Python clients in t/py, and
# ask a running hub for its status.
use strict;
use warnings;
use POSIX qw(:sys_wait_h);
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use Exporter 'import';
use TestLib;

our @EXPORT = qw(start_hub hub_log joined reap py py_cmd hub_status pyok make_cert need_browser
		 http_get hub_metric);

# Debian's python3 with python3-websockets, whatever python3 is on PATH.
sub python { $ENV{DUMPLINGS_PYTHON} // '/usr/bin/python3' }

sub pyok { system(python(), '-c', 'import websockets') == 0 }

sub py_cmd {
	my ($script, @args) = @_;
	return [python(), root() . "/t/py/$script", @args];
}

sub py {
	my ($script, @args) = @_;
	my $opt = ref $args[-1] eq 'HASH' ? pop @args : {};
	return run(py_cmd($script, @args), { timeout => 60, %$opt });
}

# start_hub(ARGS...) -> {pid, in, out, err}; the hub listens on 127.0.0.1.
sub start_hub {
	my @args = @_;
	my $dir = tmpdir();
	my ($in, $out) = (free_port(), free_port());
	my $err = "$dir/hub.err";
	my $pid = spawn([bin(), 'hub', '-a', '127.0.0.1', '--in-port', $in,
			 '--out-port', $out, @args], err => $err);
	die "hub did not start: " . (slurp($err) // '') unless wait_for_port($out) && wait_for_port($in);
	return { pid => $pid, in => $in, out => $out, err => $err, dir => $dir };
}

sub hub_log { slurp($_[0]{err}) // '' }

# Wait until N clients of a role ("eater" or "kitchen") have joined.
sub joined {
	my ($hub, $role, $n) = @_;
	return wait_for { my @j = hub_log($hub) =~ /\b$role \S+ joined/g; @j >= $n } 20;
}

# Wait for a process to end on its own; KILL it after the timeout.
# Returns the wait status, or -1 if it had to be killed.
sub reap {
	my ($pid, $timeout) = @_;
	my $deadline = time + ($timeout // 30);
	while (waitpid($pid, WNOHANG) == 0) {
		if (time > $deadline) {
			kill 'KILL', $pid;
			waitpid $pid, 0;
			return -1;
		}
		sleep 0.02;
	}
	return $?;
}

# Skip the whole test unless headless Chromium can be driven (Debian's
# chromium, node, and playwright-core from `npm ci` in t/browser, which
# `make test` runs); under CI=true, fail instead. Returns the directory of
# the browser scripts.
sub need_browser {
	my $browser = root() . '/t/browser';
	my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';
	my $why = !-x $chromium ? "no Chromium at $chromium (Debian package chromium)"
		: system('node --version >/dev/null 2>&1') != 0 ? 'node is not installed (Debian packages nodejs npm)'
		: !-d "$browser/node_modules/playwright-core" ? 'playwright-core is not installed (run npm ci in t/browser)'
		: undef;
	need(!$why, $why);
	return $browser;
}

# make_cert(DIR, NAME, SAN) -> (certificate, key): a throwaway self-signed
# P-256 certificate for SAN ("DNS:localhost,IP:127.0.0.1"), valid two days.
sub make_cert {
	my ($dir, $name, $san) = @_;
	my ($cert, $key) = ("$dir/$name.pem", "$dir/$name.key");
	my $r = run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
		     'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
		     '-keyout', $key, '-out', $cert, '-subj', "/CN=$name",
		     '-addext', "subjectAltName=$san"]);
	die "openssl: $r->{err}" if $r->{status};
	return ($cert, $key);
}

# The payload of the next SystemStatusChef dumpling (the hub must run with
# a short --status-freq).
sub hub_status {
	my ($hub) = @_;
	my $r = py('eater_client.py', '--port', $hub->{out}, '--name', 'status-probe',
		   '--hello', '{"chefs": ["SystemStatusChef"]}', '--count', 1, '--timeout', 20);
	my ($d) = decode_lines($r->{out});
	return $d ? $d->{payload} : undef;
}

# The body of GET http://127.0.0.1:PORT/PATH, or '' if that failed.
sub http_get {
	my ($port, $path) = @_;
	my $r = HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$port$path");
	return $r->{success} ? $r->{content} : '';
}

# One of a hub's own series (no labels) from its /metrics, after
# dumplings_hub_; undef if it has none.
sub hub_metric {
	my ($hub, $name) = @_;
	my ($v) = http_get($hub->{out}, '/metrics') =~ /^dumplings_hub_\Q$name\E (\S+)$/m;
	return $v;
}

1;
