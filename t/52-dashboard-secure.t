#!/usr/bin/perl
# The dashboard from a hub with TLS and tokens: Chromium opens
# https://HOST:PORT/?token=EATER-TOKEN, and the page connects with wss://
# and the token as a query parameter (browsers cannot set headers on a
# WebSocket), then shows what a kitchen publishing with its own token
# cooked. The token is never shown on the page.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

my $browser = need_browser();
need(system('openssl version >/dev/null 2>&1') == 0, 'openssl is not installed (Debian package openssl)');

my $dir = tmpdir();
my ($cert, $key) = make_cert($dir, 'hub', 'DNS:localhost,IP:127.0.0.1');
my %token = (kitchen => 'kitchen-b7e1-token', eater => 'eater-5c2d-token');
spew("$dir/$_.token", "$token{$_}\n") for keys %token;

my $hub = start_hub('--status-freq', '0.3', '--cert', $cert, '--key', $key,
		    '--kitchen-token-file', "$dir/kitchen.token",
		    '--eater-token-file', "$dir/eater.token");
my $node = spawn(['node', "$browser/secure.js",
		  "https://127.0.0.1:$hub->{out}/?token=$token{eater}", 'wpad.lan'],
		 out => "$dir/node.out", err => "$dir/node.err");
my $connected = wait_for { (slurp("$dir/node.out") // '') =~ /^(connected|\{.*)$/m } 60;
unless (ok($connected && slurp("$dir/node.out") =~ /^connected$/m,
	   'the page loads over https:// and connects with its token')) {
	diag(slurp("$dir/node.out"), slurp("$dir/node.err"), hub_log($hub));
	stop($node, 'KILL');
	done_testing;
	exit;
}
my $k = run('kitchen', '-q', '-c', 'dns', '-r', root() . '/examples/sample.pcap',
	    '-H', "wss://localhost:$hub->{in}", '--ca', $cert,
	    '--token-file', "$dir/kitchen.token", { timeout => 60 });
is($k->{status}, 0, 'a kitchen publishes with its token over wss://') or diag($k->{err});
is(reap($node, 90), 0, 'the browser finished') or diag(slurp("$dir/node.err"));
my ($line) = (slurp("$dir/node.out") // '') =~ /^(\{.*\})$/m;
my $report = json()->decode($line // '{}');
diag($report->{fatal}) if $report->{fatal};

is($report->{connection}, 'open', 'the page stayed connected');
ok(grep({ $_ eq 'wpad.lan' } @{ $report->{dns} // [] }), 'and shows the DNS lookups');
is_deeply($report->{wsUrls}, ["wss://127.0.0.1:$hub->{out}/?token=$token{eater}"],
	  'it used wss:// with the token as a query parameter');
unlike($report->{text} // '', qr/\Q$token{eater}\E/, 'the token is not shown on the page');
like($report->{text} // '', qr/wss:\/\/127\.0\.0\.1:$hub->{out}\//, 'the hub address is');
is_deeply($report->{errors}, [], 'no errors in the page');

is(stop($hub->{pid}), 0, 'the hub stops');
my $log = hub_log($hub);
unlike($log, qr/error|refused/i, 'nothing was refused');
unlike($log, qr/\Q$token{eater}\E|\Q$token{kitchen}\E/, 'and no token was logged');

done_testing;
