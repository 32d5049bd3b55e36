#!/usr/bin/perl
# make install puts the binary, the bundled chefs and the man pages under
# DESTDIR/PREFIX, and the installed binary finds its chefs from there.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $dest = tmpdir();
my $r = run(['make', '-s', '-C', root(), 'install', "DESTDIR=$dest", 'PREFIX=/opt/dumplings']);
is($r->{status}, 0, 'make install succeeds') or diag($r->{err});
my $bin = "$dest/opt/dumplings/bin/dumplings";
ok(-x $bin, 'the binary is installed');
ok(-f "$dest/opt/dumplings/share/dumplings/chefs/$_.lua", "bundled chef $_ is installed")
	for qw(dns arp packetcount toptalkers servernames tls dhcp);
ok(-f "$dest/opt/dumplings/share/dumplings/web/$_", "dashboard file $_ is installed")
	for qw(index.html dashboard.css dashboard.js);
ok(-f "$dest/opt/dumplings/share/man/man1/dumplings.1", 'dumplings(1) is installed');
ok(-f "$dest/opt/dumplings/share/man/man3/dumplings-lua.3", 'dumplings-lua(3) is installed');

$r = run([$bin, 'kitchen', '--chef-list']);
like($r->{out}, qr{^DNSLookupChef\tdns\t\Q$dest\E/opt/dumplings/bin/\.\./share/dumplings/chefs/dns\.lua$}m,
     'the installed binary finds its bundled chefs');
$r = run([$bin, 'kitchen', '-q', '-c', 'dns', '-r', root() . '/examples/sample.pcap', '--stdout']);
is($r->{status}, 0, 'and cooks with them');
ok(scalar(decode_lines($r->{out})) > 10, 'making dumplings');

my $out = free_port();
my $pid = spawn([$bin, 'hub', '-a', '127.0.0.1', '--in-port', free_port(), '--out-port', $out],
		err => "$dest/hub.err");
ok(wait_for_port($out), 'the installed hub starts');
stop($pid);
like(slurp("$dest/hub.err"), qr{serving \Q$dest\E/opt/dumplings/share/dumplings/web on}m,
     'and serves the installed dashboard');

done_testing;
