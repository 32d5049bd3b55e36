#!/usr/bin/perl
# TLS: a hub with --cert and --key serves wss:// to kitchens and eaters and
# https:// to browsers; clients verify the hub's certificate against --ca
# or the system's store (here pointed at the test's certificate with
# SSL_CERT_FILE, as OpenSSL allows) and refuse a bad one unless --insecure.
# Certificates are made for the test with openssl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(system('openssl version >/dev/null 2>&1') == 0, 'openssl is not installed (Debian package openssl)');

my $dir = tmpdir();
my ($cert, $key) = make_cert($dir, 'hub', 'DNS:localhost,IP:127.0.0.1');
my ($other, $other_key) = make_cert($dir, 'other', 'DNS:elsewhere.invalid');
my $sample = root() . '/examples/sample.pcap';
my $py = HubTest::python();

my $hub = start_hub('--status-freq', '0.3', '--cert', $cert, '--key', $key);
# The hub listens a moment before it logs that it does.
my $says_tls = wait_for { hub_log($hub) =~ /eaters on port \d+ \(TLS\)/ } 20;
ok($says_tls, 'the hub says it serves TLS');
my $wss_in = "wss://localhost:$hub->{in}";
my $wss_out = "wss://127.0.0.1:$hub->{out}";

# ---- dumplings over wss:// -------------------------------------------------------

my $eater = spawn([bin(), 'eat', '--json', '-c', 'DNSLookupChef', '--count', 42,
		   '-H', $wss_out, '--ca', $cert], out => "$dir/eat.out", err => "$dir/eat.err");
ok(joined($hub, 'eater', 1), 'an eater joins over wss:// with --ca');
my $k = run('kitchen', '-q', '-c', 'dns', '-r', $sample, '-H', $wss_in, '--ca', $cert,
	    { timeout => 60 });
is($k->{status}, 0, 'a kitchen publishes over wss:// with --ca') or diag($k->{err});
is(reap($eater, 40), 0, 'the eater ate') or diag(slurp("$dir/eat.err"));
my @got = decode_lines(slurp("$dir/eat.out"));
is(scalar @got, 42, 'every dumpling crossed TLS twice');
is($got[0]{payload}{lookup}{hostname}, 'wpad.lan', 'intact');

# ---- the certificate, checked --------------------------------------------------------

my $r = run('eat', '--details', '-H', $wss_out, { timeout => 20 });
is($r->{status}, 1, 'an eater that does not trust the certificate exits 1');
like($r->{err}, qr/the hub's certificate is refused: self-signed certificate \(see --ca and --insecure\)/,
     'and says why');
$r = run('eat', '--details', '-H', $wss_out, '--ca', $other, { timeout => 20 });
is($r->{status}, 1, 'so does one that trusts another certificate');
$r = run('eat', '--details', '-H', $wss_out, '--insecure', { timeout => 20 });
is($r->{status}, 0, '--insecure accepts any certificate') or diag($r->{err});
like($r->{out}, qr/"SystemStatusChef"/, 'and eats');
{
	local $ENV{SSL_CERT_FILE} = $cert;
	$r = run('eat', '--details', '-H', "wss://localhost:$hub->{out}", { timeout => 20 });
}
is($r->{status}, 0, 'without --ca, the system store is used (SSL_CERT_FILE here)')
	or diag($r->{err});
# The eater gives up by itself after libwebsockets' 20 s if the hub holds
# the connection open; the test waits longer than that.
$r = run('eat', '--details', '-H', "127.0.0.1:$hub->{out}", { timeout => 45 });
is($r->{status}, 1, 'a plain ws:// eater gets nothing from a TLS hub');

my $kerr = "$dir/kitchen-untrusting.err";
my $kp = spawn([bin(), 'kitchen', '-c', 'dns', '-r', $sample, '--speed', '0.01',
		'-H', $wss_in], err => $kerr);
my $told = wait_for { (slurp($kerr) // '') =~ /certificate is refused: self-signed/ } 20;
ok($told, 'a kitchen that does not trust the hub refuses it, and says why');
stop($kp, 'INT');

my $elsewhere = start_hub('--cert', $other, '--key', $other_key);
$r = run('eat', '--details', '-H', "wss://127.0.0.1:$elsewhere->{out}", '--ca', $other,
	 { timeout => 20 });
is($r->{status}, 1, 'a trusted certificate for another name is refused');
like($r->{err}, qr/certificate is refused: IP address mismatch/, 'and the mismatch named');
stop($elsewhere->{pid});

my $plain = start_hub();
$r = run('eat', '--details', '-H', "wss://127.0.0.1:$plain->{out}", '--ca', $cert,
	 { timeout => 20 });
is($r->{status}, 1, 'a wss:// eater to a plain hub fails');
stop($plain->{pid});

# ---- https:// and the original's clients ------------------------------------------

SKIP: {
	skip 'python3-websockets is not installed', 5 unless pyok();
	my $get = <<'EOF';
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10) as r:
    print(r.status)
    sys.stdout.write(r.read().decode())
EOF
	my $page = run([$py, '-c', $get, "https://localhost:$hub->{out}/", $cert]);
	like($page->{out}, qr/^200\n.*dashboard\.js/s, 'the dashboard is served over https://')
		or diag($page->{err});
	my $metrics = run([$py, '-c', $get, "https://127.0.0.1:$hub->{out}/metrics", $cert]);
	like($metrics->{out}, qr/^dumplings_hub_eaters 0$/m, 'and /metrics');

	my $pe = spawn(py_cmd('eater_client.py', '--host', 'localhost', '--port', $hub->{out},
			      '--ca', $cert, '--hello', '{"chefs": ["DNSLookupChef"]}',
			      '--count', 42, '--timeout', 30),
		       out => "$dir/py.out", err => "$dir/py.err");
	ok(joined($hub, 'eater', 4), 'a Python websockets eater joins over wss://');
	$k = run('kitchen', '-q', '-c', 'dns', '-r', $sample, '-H', $wss_in, '--ca', $cert,
		 { timeout => 60 });
	is(reap($pe, 40), 0, 'and eats') or diag(slurp("$dir/py.err"));
	is(scalar(grep { /DNSLookupChef/ } split /\n/, slurp("$dir/py.out") // ''), 42,
	   'every dumpling');
}

is(stop($hub->{pid}), 0, 'the hub stops');
unlike(hub_log($hub), qr/error/i, 'with no errors in its log');

# ---- mistakes ---------------------------------------------------------------------------

spew("$dir/garbage.pem", "not a certificate\n");
my @bad = (
	[['--cert', $cert], 2, qr/--cert and --key go together/, '--cert without --key'],
	[['--cert', "$dir/missing.pem", '--key', $key], 1, qr/cannot read --cert \S*missing\.pem/,
	 'a missing certificate'],
	[['--cert', "$dir/garbage.pem", '--key', $key], 1,
	 qr/--cert \S*garbage\.pem: .*a PEM certificate is expected/, 'a file that is no certificate'],
	[['--cert', $cert, '--key', $other_key], 1,
	 qr/--key \S*other\.key: .*the PEM private key of --cert \S*hub\.pem is expected/,
	 'the key of another certificate'],
);
for my $case (@bad) {
	my ($args, $code, $re, $what) = @$case;
	my $h = run('hub', '-a', '127.0.0.1', '--in-port', free_port(), '--out-port', free_port(),
		    @$args, { timeout => 10 });
	is($h->{status}, $code, "$what stops the hub ($code)");
	like($h->{err}, $re, 'and says why');
}
for my $opt (['--ca', $cert], ['--insecure']) {
	$r = run('eat', '--details', '-H', '127.0.0.1:1', @$opt, { timeout => 10 });
	is($r->{status}, 2, "$opt->[0] without wss:// is a usage error");
	like($r->{err}, qr/\Q$opt->[0]\E applies to wss:\/\/ hubs only/, 'that says so');
}
$r = run('kitchen', '-r', $sample, '-H', 'wss://localhost:1', '--ca', "$dir/missing.pem",
	 { timeout => 10 });
is($r->{status}, 2, 'a missing --ca stops the kitchen');
like($r->{err}, qr/cannot read --ca \S*missing\.pem/, 'naming it');

done_testing;
