#!/usr/bin/perl
# Web pages and the hub: a browser sends the page's Origin with every
# WebSocket upgrade, and the hub lets in only its own pages (its scheme,
# and the host and port the request went to) and those named with
# --allow-origin ("*" for all). Anything else is refused with 403, in
# HTTP/1.1, counted and logged; a program that sends no Origin is not
# affected.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use Test::More;
use TestLib;
use HubTest;

# The status line of a WebSocket upgrade to PORT with these extra headers,
# and the whole answer.
sub upgrade {
	my ($port, $host, @headers) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
		or die "connect: $!";
	print $s join("\r\n", 'GET / HTTP/1.1', "Host: $host", 'Upgrade: websocket',
		      'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
		      'Sec-WebSocket-Version: 13', @headers, '', '');
	my $buf = '';
	my $deadline = time + 10;
	while ($buf !~ /\r\n\r\n/ && time < $deadline) {
		last unless sysread($s, $buf, 4096, length $buf);
	}
	close $s;
	my ($line) = $buf =~ m{^(HTTP/\S+ \d{3})};
	return $line // 'nothing';
}

my $hub = start_hub('--status-freq', '0.3');
my ($in, $out) = ($hub->{in}, $hub->{out});
my %refused = (in => 0, out => 0);
my @cases = (
	[out => "127.0.0.1:$out", [], 101, 'no Origin (not a browser)'],
	[out => "127.0.0.1:$out", ["Origin: http://127.0.0.1:$out"], 101, 'the dashboard\'s own origin'],
	[out => "localhost:$out", ["Origin: http://localhost:$out"], 101, 'the same, by name'],
	[out => "LOCALHOST:$out", ["Origin: http://localhost:$out"], 101, 'host names in any case'],
	[out => "127.0.0.1:$out", ['Origin: http://evil.example'], 403, 'another site'],
	[out => "127.0.0.1:$out", ["Origin: http://evil.example:$out"], 403, 'another site on the same port'],
	[out => "127.0.0.1:$out", ["Origin: https://127.0.0.1:$out"], 403, 'https:// from a hub that serves http://'],
	[out => "127.0.0.1:$out", ['Origin: null'], 403, 'a sandboxed page or a file (null)'],
	[out => "127.0.0.1:$out", ['Origin: http://127.0.0.1'], 403, 'the right host on another port'],
	[in => "127.0.0.1:$in", ["Origin: http://127.0.0.1:$out"], 403, 'the dashboard at the kitchen port'],
	[in => "127.0.0.1:$in", [], 101, 'a kitchen with no Origin'],
);
for my $c (@cases) {
	my ($port, $host, $headers, $want, $what) = @$c;
	my $got = upgrade($hub->{$port}, $host, @$headers);
	is($got, "HTTP/1.1 $want", "$what: $want");
	$refused{$port}++ if $want == 403;
}

SKIP: {
	skip 'python3-websockets is not installed', 4 unless pyok();
	my $r = py('eater_client.py', '--port', $out, '--origin', 'http://evil.example', '--count', 1,
		   '--timeout', 10);
	like($r->{err}, qr/^refused 403$/m, 'python3-websockets with a foreign Origin sees 403');
	$refused{out}++;
	$r = py('eater_client.py', '--port', $out, '--origin', "http://127.0.0.1:$out", '--count', 1,
		'--hello', '{"chefs": ["SystemStatusChef"]}', '--timeout', 10);
	like($r->{out}, qr/SystemStatusChef/, 'and with the hub\'s own, eats');
	$r = run('eat', '--details', '-H', "127.0.0.1:$out", { timeout => 20 });
	is($r->{status}, 0, 'dumplings eat sends no Origin and eats') or diag($r->{err});
	$r = run('kitchen', '-q', '-r', root() . '/examples/sample.pcap', '-H', "127.0.0.1:$in",
		 { timeout => 60 });
	is($r->{status}, 0, 'a dumplings kitchen publishes');
}

my $st = hub_status($hub);
is($st->{total_eaters_origin_refused}, $refused{out}, "refused eaters are counted ($refused{out})");
is($st->{total_kitchens_origin_refused}, $refused{in}, 'and kitchens');
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $out, Proto => 'tcp');
print $s "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:$out\r\nConnection: close\r\n\r\n";
my $metrics = do { local $/; <$s> } // '';
like($metrics, qr/^dumplings_hub_eaters_origin_refused_total $refused{out}$/m, '/metrics too');
like(hub_log($hub), qr/refused an eater from 127\.0\.0\.1:\d+ with 403: Origin http:\/\/evil\.example is not this hub's/,
     'a refusal is logged with the origin');
stop($hub->{pid});

# ---- --allow-origin --------------------------------------------------------------------
my $some = start_hub('--allow-origin', 'https://dash.example', '--allow-origin', 'http://other.example:8080');
my $p = $some->{out};
is(upgrade($p, "127.0.0.1:$p", 'Origin: https://dash.example'), 'HTTP/1.1 101', '--allow-origin lets an origin in');
is(upgrade($p, "127.0.0.1:$p", 'Origin: http://other.example:8080'), 'HTTP/1.1 101', 'and another');
is(upgrade($p, "127.0.0.1:$p", "Origin: http://127.0.0.1:$p"), 'HTTP/1.1 101', 'its own pages still');
is(upgrade($p, "127.0.0.1:$p", 'Origin: http://dash.example'), 'HTTP/1.1 403', 'but not the same host over http://');
stop($some->{pid});
my $any = start_hub('--allow-origin', '*');
is(upgrade($any->{out}, "127.0.0.1:$any->{out}", 'Origin: http://evil.example'), 'HTTP/1.1 101',
   '--allow-origin * lets any page in');
stop($any->{pid});
for my $bad ('evil.example', 'http://x.example/path', 'ftp://x.example', 'http://') {
	my $r = run('hub', '--allow-origin', $bad, { timeout => 10 });
	is($r->{status}, 2, "--allow-origin '$bad' is refused");
}

# ---- over TLS ------------------------------------------------------------------------------
SKIP: {
	skip 'needs openssl and python3-websockets', 2
		unless pyok() && system('openssl version >/dev/null 2>&1') == 0;
	my ($cert, $key) = make_cert(tmpdir(), 'hub', 'DNS:localhost,IP:127.0.0.1');
	my $tls = start_hub('--cert', $cert, '--key', $key, '--status-freq', 0.3);
	my $o = $tls->{out};
	my $r = py('eater_client.py', '--port', $o, '--ca', $cert, '--host', 'localhost',
		   '--origin', "https://localhost:$o", '--hello', '{"chefs": ["SystemStatusChef"]}',
		   '--count', 1, '--timeout', 10);
	like($r->{out}, qr/SystemStatusChef/, 'a TLS hub lets in its own https:// pages');
	$r = py('eater_client.py', '--port', $o, '--ca', $cert, '--host', 'localhost',
		'--origin', "http://localhost:$o", '--count', 1, '--timeout', 10);
	like($r->{err}, qr/^refused 403$/m, 'and not http:// ones');
	stop($tls->{pid});
}

done_testing;
