#!/usr/bin/perl
# Tokens with roles: a hub started with --kitchen-token-file and
# --eater-token-file lets in only kitchens and eaters that present their
# role's token (Authorization: Bearer, or ?token=); everyone else gets 401
# at the upgrade, is counted, and is logged without the token. No token
# ever shows in status dumplings, /metrics or the log. Then the token
# files' errors, the environment variables, and the warning for a hub that
# listens beyond loopback without tokens.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use TestLib;
use HubTest;

my $dir = tmpdir();
my %token = (kitchen => 'k1tchen-7f3a9c-secret', eater => 'eat3r-0d41be-secret');
my $wrong = 'n0t-the-t0ken';
spew("$dir/kitchen.token", "$token{kitchen}\n");
spew("$dir/eater.token", "$token{eater}\r\n");
spew("$dir/wrong.token", "$wrong\n");
my $sample = root() . '/examples/sample.pcap';

# The status line of a WebSocket upgrade to PORT at TARGET with the given
# extra header lines (raw, so nothing is tidied on the way).
sub upgrade {
	my ($port, $target, @headers) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
		or die "connect: $!";
	print $s join("\r\n", "GET $target HTTP/1.1", "Host: 127.0.0.1:$port",
		      'Upgrade: websocket', 'Connection: Upgrade',
		      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
		      @headers, '', '');
	my $buf = '';
	my $deadline = time + 10;
	while ($buf !~ /\r\n\r\n/ && time < $deadline) {
		last unless sysread($s, $buf, 4096, length $buf);
	}
	close $s;
	my ($status) = $buf =~ m{^HTTP/1\.[01] (\d{3})};
	return ($status // 0, $buf);
}

sub get {
	my ($port, $target, @headers) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
		or die "connect: $!";
	print $s join("\r\n", "GET $target HTTP/1.1", "Host: 127.0.0.1:$port",
		      'Connection: close', @headers, '', '');
	local $/;
	my $raw = <$s> // '';
	my ($status) = $raw =~ m{^HTTP/1\.[01] (\d{3})};
	return ($status // 0, $raw);
}

my $hub = start_hub('--status-freq', '0.3', '--kitchen-token-file', "$dir/kitchen.token",
		    '--eater-token-file', "$dir/eater.token");

# ---- at the door ---------------------------------------------------------------

my @refused = (
	[in => '/', [], 'a kitchen with no token'],
	[in => '/', ["Authorization: Bearer $wrong"], 'a kitchen with a wrong token'],
	[in => '/', ["Authorization: Bearer $token{eater}"], 'a kitchen with the eater token'],
	[in => "/?token=$token{eater}", [], 'a kitchen with the eater token as ?token='],
	[in => '/', ["Authorization: Basic $token{kitchen}"], 'a kitchen with Basic instead of Bearer'],
	[in => '/', ["Authorization: Bearer ${\ substr($token{kitchen}, 0, -1)}"],
	 'a kitchen with its token cut short'],
	[in => '/', ["Authorization: Bearer $token{kitchen}x"], 'a kitchen with its token and more'],
	[out => '/', [], 'an eater with no token'],
	[out => '/', ["Authorization: Bearer $token{kitchen}"], 'an eater with the kitchen token'],
	[out => "/?token=$token{kitchen}", [], 'an eater with the kitchen token as ?token='],
	[out => "/?token=$wrong", [], 'an eater with a wrong ?token='],
);
my %expect_refused = (in => 0, out => 0);
# The hub logs refusals ten at once, then one a second, and twenty follow:
# the /metrics refusal whose log line is looked for at the end comes first.
is((get($hub->{out}, '/metrics'))[0], 401, 'GET /metrics without a token is 401');
$expect_refused{out}++;
for my $case (@refused) {
	my ($port, $target, $headers, $what) = @$case;
	my ($status, $raw) = upgrade($hub->{$port}, $target, @$headers);
	is($status, 401, "$what is refused with 401");
	$expect_refused{$port}++;
	like($raw, qr/^www-authenticate: Bearer/mi, 'with a Bearer challenge') if $what =~ /no token/;
	like($raw, qr{^HTTP/1\.1 401 Unauthorized\r\n}, 'in HTTP/1.1') if $what =~ /no token/;
}
# python3-websockets takes only an HTTP/1.1 answer for an answer: it must
# see the 401, not "did not receive a valid HTTP response".
SKIP: {
	skip 'python3-websockets is not installed', 4 unless pyok();
	for my $port (qw(out in)) {
		my $r = py('eater_client.py', '--port', $hub->{$port}, '--token', $wrong, '--count', 1,
			   '--timeout', 10);
		is($r->{status}, 3, "python3-websockets is refused on the $port-port");
		like($r->{err}, qr/^refused 401$/m, 'and sees the 401') or diag($r->{err});
		$expect_refused{$port}++;
	}
}
for my $case (
	[in => '/', ["Authorization: Bearer $token{kitchen}"], 'the kitchen token'],
	[in => '/', ["Authorization: bearer $token{kitchen}"], 'the kitchen token ("bearer")'],
	[in => "/?token=$token{kitchen}", [], 'the kitchen token as ?token='],
	[out => '/', ["Authorization: Bearer $token{eater}"], 'the eater token'],
	[out => "/?token=$token{eater}", [], 'the eater token as ?token='],
) {
	my ($port, $target, $headers, $what) = @$case;
	is((upgrade($hub->{$port}, $target, @$headers))[0], 101, "$what is let in");
}

# ---- the dumplings' way, with real clients ---------------------------------------

my $eat_out = "$dir/eat.out";
my $eater = spawn([bin(), 'eat', '--json', '-c', 'DNSLookupChef', '--count', 42,
		   '-H', "127.0.0.1:$hub->{out}", '--token-file', "$dir/eater.token"],
		  out => $eat_out, err => "$dir/eat.err");
SKIP: {
	skip 'python3-websockets is not installed', 4 unless pyok();
	my $py = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--token', $token{eater},
			      '--token-in', 'query', '--hello', '{"chefs": ["DNSLookupChef"]}',
			      '--count', 42, '--timeout', 30),
		       out => "$dir/py.out", err => "$dir/py.err");
	ok(joined($hub, 'eater', 2), 'an eater with --token-file and a Python eater with ?token= join');
	my $k = run('kitchen', '-q', '-c', 'dns', '-r', $sample, '-H', "127.0.0.1:$hub->{in}",
		    '--token-file', "$dir/kitchen.token", { timeout => 60 });
	is($k->{status}, 0, 'a kitchen with the kitchen token publishes') or diag($k->{err});
	is(reap($py, 40), 0, 'the Python eater ate') or diag(slurp("$dir/py.err"));
	is(scalar(grep { /DNSLookupChef/ } split /\n/, slurp("$dir/py.out") // ''), 42,
	   'every dumpling, through a token in the query');
}
is(reap($eater, 40), 0, 'the eater with --token-file ate its 42 dumplings')
	or diag(slurp("$dir/eat.err"));
is(scalar(decode_lines(slurp($eat_out))), 42, 'and printed them');

my $r = run('eat', '--details', '-H', "127.0.0.1:$hub->{out}", { timeout => 20 });
is($r->{status}, 1, 'an eater with no token exits 1');
like($r->{err}, qr/the hub wants a token \(401 Unauthorized; see --token-file\)/,
     'saying the hub wants a token');
$expect_refused{out}++;
$r = run('eat', '--details', '-H', "127.0.0.1:$hub->{out}", '--token-file', "$dir/kitchen.token",
	 { timeout => 20 });
is($r->{status}, 1, 'an eater with the kitchen token exits 1');
like($r->{err}, qr/the hub refused our token \(401 Unauthorized\)/, 'saying the token was refused');
$expect_refused{out}++;
{
	local $ENV{DUMPLINGS_TOKEN} = $token{eater};
	$r = run('eat', '--details', '-H', "127.0.0.1:$hub->{out}", { timeout => 20 });
}
is($r->{status}, 0, 'DUMPLINGS_TOKEN gives an eater its token');
my $st = eval { json()->decode($r->{out})->{payload} } // {};

# A kitchen with the wrong token keeps trying (a hub may be restarted with
# the right one) and says why; it is stopped here.
my $kerr = "$dir/kitchen-wrong.err";
my $kw = spawn([bin(), 'kitchen', '-c', 'dns', '-r', $sample, '--speed', '0.01', '-H',
		"127.0.0.1:$hub->{in}", '--token-file', "$dir/eater.token"], err => $kerr);
my $kitchen_told = wait_for { (slurp($kerr) // '') =~ /hub refused our token \(401 Unauthorized\)/ } 20;
ok($kitchen_told, 'a kitchen with the eater token is refused, and says so');
stop($kw, 'INT');
my $kitchen_refusals = () = (slurp($kerr) // '') =~ /401 Unauthorized/g;

# ---- counted, and never told ------------------------------------------------------

my ($mstatus, $metrics) = get($hub->{out}, '/metrics');
is($mstatus, 401, 'GET /metrics without the eater token is 401');
$expect_refused{out}++;
is((get($hub->{out}, '/metrics', "Authorization: Bearer $token{kitchen}"))[0], 401,
   'and with the kitchen token');
$expect_refused{out}++;
($mstatus, $metrics) = get($hub->{out}, "/metrics?token=$token{eater}");
is($mstatus, 200, 'GET /metrics?token= with the eater token is 200');
my ($m_out) = $metrics =~ /^dumplings_hub_eaters_unauthorized_total (\d+)$/m;
my ($m_in) = $metrics =~ /^dumplings_hub_kitchens_unauthorized_total (\d+)$/m;
# the status dumpling came before the last refusals; both count from zero
is($st->{total_eaters_unauthorized}, $expect_refused{out} - 2,
   "the status dumpling counts every refused eater ($st->{total_eaters_unauthorized})");
is($st->{total_kitchens_unauthorized}, $expect_refused{in},
   "and every refused kitchen ($st->{total_kitchens_unauthorized})");
is($m_out, $expect_refused{out}, "/metrics counts refused eaters and requests ($m_out)");
cmp_ok($m_in, '>=', $expect_refused{in} + ($kitchen_refusals ? 1 : 0),
       "and refused kitchens ($m_in)");

is(stop($hub->{pid}), 0, 'the hub stops');
my $log = hub_log($hub);
like($log, qr/refused a kitchen from 127\.0\.0\.1:\d+ with 401: no token/, 'refusals are logged');
like($log, qr/refused a kitchen from \S+ with 401: an eater's token/, 'with the reason');
like($log, qr/refused a kitchen from \S+ with 401: a wrong token/, 'wrong tokens too');
like($log, qr/refused GET \/metrics from \S+ with 401/, 'and /metrics requests');
my $everything = $log . $metrics . json()->encode($st) . slurp("$dir/eat.err") .
		 (slurp($kerr) // '') . $r->{err};
for my $secret (values(%token), $wrong) {
	unlike($everything, qr/\Q$secret\E/, "no token is ever logged, reported or served");
}

# ---- files, variables and mistakes -------------------------------------------------

spew("$dir/empty.token", "\n");
spew("$dir/spaced.token", "two words\n");
my @bad = (
	[['--kitchen-token-file', "$dir/missing.token"],
	 qr/cannot read token file \S*missing\.token: No such file/, 'a missing token file'],
	[['--eater-token-file', "$dir/empty.token"], qr/token file \S*empty\.token: the token is empty/,
	 'an empty token file'],
	[['--eater-token-file', "$dir/spaced.token"],
	 qr/spaced\.token: the token has a character that is not printable ASCII/, 'a token with a space'],
	[['--kitchen-token-file', "$dir/kitchen.token", '--eater-token-file', "$dir/kitchen.token"],
	 qr/the kitchen token and the eater token must differ/, 'one token for both roles'],
);
for my $case (@bad) {
	my ($args, $re, $what) = @$case;
	my $h = run('hub', '-a', '127.0.0.1', '--in-port', free_port(), '--out-port', free_port(),
		    @$args, { timeout => 10 });
	is($h->{status}, 1, "$what stops the hub");
	like($h->{err}, $re, 'and says why');
}
$r = run('kitchen', '-r', $sample, '--token-file', "$dir/empty.token", { timeout => 10 });
is($r->{status}, 2, 'a kitchen with an empty token file will not start');
like($r->{err}, qr/empty\.token: the token is empty/, 'and says why');
{
	local $ENV{DUMPLINGS_TOKEN} = 'has space';
	$r = run('eat', '--details', { timeout => 10 });
}
is($r->{status}, 2, 'an eater with a bad DUMPLINGS_TOKEN will not start');
like($r->{err}, qr/environment variable DUMPLINGS_TOKEN: the token has a character/, 'and says why');
unlike($r->{err}, qr/has space/, 'without repeating it');

{
	local $ENV{DUMPLINGS_KITCHEN_TOKEN} = $token{kitchen};
	my $env_hub = start_hub();
	is((upgrade($env_hub->{in}, '/'))[0], 401, 'DUMPLINGS_KITCHEN_TOKEN sets the kitchen token');
	is((upgrade($env_hub->{in}, '/', "Authorization: Bearer $token{kitchen}"))[0], 101,
	   'which lets its kitchen in');
	is((upgrade($env_hub->{out}, '/'))[0], 101, 'eaters need none when only kitchens have one');
	stop($env_hub->{pid});
}

# A token with characters that mean something in a URL comes URL-encoded
# in ?token= (as the dashboard sends it), and as it is in the header.
spew("$dir/odd.token", "a+b/c=d&e\n");
{
	my $odd = start_hub('--eater-token-file', "$dir/odd.token");
	is((upgrade($odd->{out}, '/?token=a%2Bb%2Fc%3Dd%26e'))[0], 101,
	   'a URL-encoded ?token= is decoded before it is compared');
	is((upgrade($odd->{out}, '/', 'Authorization: Bearer a+b/c=d&e'))[0], 101,
	   'a header carries it as it is');
	is((upgrade($odd->{out}, '/?token=a+b/c=d&e'))[0], 401, 'unencoded, it is not the token');
	stop($odd->{pid});
}

# ---- beyond loopback -------------------------------------------------------------------

my $quiet = start_hub();
stop($quiet->{pid});
unlike(hub_log($quiet), qr/without a kitchen token/, 'no warning on loopback without tokens');

SKIP: {
	# In a network namespace of its own, 0.0.0.0 reaches nothing outside.
	my $ns = run(['unshare', '-rn', 'true']);
	skip 'cannot make a network namespace (unshare -rn)', 3 if $ns->{status};
	my $err = "$dir/wide.err";
	my $pid = spawn(['unshare', '-rn', bin(), 'hub', '-a', '0.0.0.0'], err => $err);
	my $up = wait_for { (slurp($err) // '') =~ /eaters on port/ } 10;
	ok($up, 'a hub listens on 0.0.0.0');
	# Its warnings come a moment after the line that says where it listens.
	wait_for { (slurp($err) // '') =~ /without an eater token/ } 10;
	my $wide = slurp($err) // '';
	like($wide, qr/warning: listening on 0\.0\.0\.0 without a kitchen token/,
	     'and warns that anyone may publish');
	like($wide, qr/warning: listening on 0\.0\.0\.0 without an eater token/,
	     'and that anyone may eat');
	stop($pid);
}

done_testing;
