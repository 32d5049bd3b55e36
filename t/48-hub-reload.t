#!/usr/bin/perl
# SIGHUP: the hub reads its token files and its certificate and key again,
# for the connections that come next; those open carry on. A file that no
# longer loads is said, and what was in use kept.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(system('openssl version >/dev/null 2>&1') == 0, 'openssl is not installed (Debian package openssl)');

my $dir = tmpdir();
my ($first, $first_key) = make_cert($dir, 'first', 'DNS:localhost,IP:127.0.0.1');
my ($second, $second_key) = make_cert($dir, 'second', 'DNS:localhost,IP:127.0.0.1');
my ($cert, $key) = ("$dir/hub.pem", "$dir/hub.key");
sub install_pair { spew($cert, slurp($_[0])); spew($key, slurp($_[1])) }
install_pair($first, $first_key);
spew("$dir/kitchen.token", "kitchen-token-one\n");
spew("$dir/eater.token", "eater-token-one\n");
spew("$dir/old-eater.token", "eater-token-one\n");
spew("$dir/new-eater.token", "eater-token-two\n");

my $hub = start_hub('--cert', $cert, '--key', $key, '--status-freq', 0.3,
		    '--kitchen-token-file', "$dir/kitchen.token", '--eater-token-file', "$dir/eater.token");
my $wss = "wss://127.0.0.1:$hub->{out}";
sub details {
	my ($ca, $token) = @_;
	return run('eat', '--details', '-H', $wss, '--ca', $ca, '--token-file', $token, { timeout => 20 });
}
is(details($first, "$dir/old-eater.token")->{status}, 0, 'an eater with the first certificate and token is let in');

# an eater that stays on through the reloads
my $stay = spawn([bin(), 'eat', '--json', '-H', $wss, '--ca', $first, '--token-file', "$dir/old-eater.token"],
		 out => "$dir/stay.out", err => "$dir/stay.err");
ok(joined($hub, 'eater', 2), 'an eater stays connected');

spew("$dir/eater.token", "eater-token-two\n");
install_pair($second, $second_key);
kill 'HUP', $hub->{pid};
ok(wait_for(sub { hub_log($hub) =~ /certificate read again/ }, 20), 'SIGHUP: the hub reads them again');
like(hub_log($hub), qr/eater token read again from \S+eater\.token/, 'the token file too');
unlike(hub_log($hub), qr/eater-token-two/, 'and never logs the token');

my $r = details($second, "$dir/new-eater.token");
is($r->{status}, 0, 'a new eater is let in with the new certificate and token') or diag($r->{err});
$r = details($second, "$dir/old-eater.token");
is($r->{status}, 1, 'the old token is refused now');
like($r->{err}, qr/401/, 'with 401');
$r = details($first, "$dir/new-eater.token");
is($r->{status}, 1, 'the old certificate is served no more');
like($r->{err}, qr/certificate is refused/, 'the client says so');

# the eater that stayed on still gets dumplings
my $k = run('kitchen', '-q', '-c', 'dns', '-r', root() . '/examples/sample.pcap', '-H',
	    "wss://127.0.0.1:$hub->{in}", '--ca', $second, '--token-file', "$dir/kitchen.token",
	    '--status-interval', 0, { timeout => 60 });
is($k->{status}, 0, 'a kitchen publishes through the new certificate') or diag($k->{err});
ok(wait_for(sub { (slurp("$dir/stay.out") // '') =~ /DNSLookupChef/ }, 20),
   'the eater connected before the reloads eats on') or diag(slurp("$dir/stay.err"), substr(slurp("$dir/stay.out") // '', 0, 300));

# files that no longer load: said, and the old ones kept
spew($cert, "not a certificate\n");
spew("$dir/eater.token", "");
kill 'HUP', $hub->{pid};
ok(wait_for(sub { hub_log($hub) =~ /keeping the certificate in use/ }, 20), 'a broken certificate: kept the old one');
like(hub_log($hub), qr/keeping the eater token in use/, 'an empty token file: kept the old token');
is(details($second, "$dir/new-eater.token")->{status}, 0, 'so eaters still get in as before');
ok(kill(0, $hub->{pid}), 'and the hub runs on');

stop($stay, 'INT');
stop($hub->{pid}, 'TERM');
done_testing();
