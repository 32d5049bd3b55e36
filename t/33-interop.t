#!/usr/bin/perl
# Interoperability with an independent WebSocket implementation speaking the
# original protocol (python3-websockets): an outside kitchen's dumplings
# reach `dumplings eat`; `dumplings kitchen` talks to an outside hub; and
# the whole pipeline from the README works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;

need_corpus();
use HubTest;

need(pyok(), 'python3-websockets is not installed');
my $cap = pcap('dns_udp.pcap');
need(-r $cap, "no capture $cap");
my $dir = tmpdir();

# ---- an outside kitchen -> hub -> dumplings eat ---------------------------------

my $hub = start_hub('--status-freq', '0.3');
my $out = "$dir/eat.out";
my $epid = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '-c', 'PyChef',
		  '--count', 50], out => $out);
ok(joined($hub, 'eater', 1), 'dumplings eat joined');
my $r = py('kitchen_client.py', '--port', $hub->{in}, '--count', 50, '--deflate');
is(reap($epid, 30), 0, 'dumplings eat finished');
my @got = decode_lines(slurp($out));
is_deeply([map { $_->{payload}{seq} } @got], [0 .. 49], "python kitchen's dumplings reach dumplings eat");

# ---- --details against the real hub: the original keys and types --------------------

$r = run('eat', '-H', "127.0.0.1:$hub->{out}", '--details', { timeout => 20 });
is($r->{status}, 0, 'eat --details exits 0');
my $d = JSON::PP->new->decode($r->{out});
my $p = $d->{payload};
is($d->{metadata}{chef}, 'SystemStatusChef', 'a status dumpling');
for my $k (qw(total_dumplings_in total_dumplings_out dumpling_kitchen_count dumpling_eater_count)) {
	like($p->{$k}, qr/^\d+$/, "$k is an integer");
}
like($r->{out}, qr/"server_uptime": \d+\.\d+/, 'server_uptime is a float');
is(ref $p->{$_}, 'ARRAY', "$_ is an array") for qw(dumpling_kitchens dumpling_eaters);
is($p->{total_dumplings_in}, 50, 'the hub counted the python kitchen');

# ---- dumplings kitchen -> an outside hub -------------------------------------------------

my $port = free_port();
my $fout = "$dir/fake.out";
my $fpid = spawn(py_cmd('fake_hub.py', '--port', $port, '--print-all'), out => $fout);
wait_for_port($port);
$r = run('kitchen', '-n', 'interop', '-r', $cap, '-c', 'dns', '-p', '2', '-H', "127.0.0.1:$port");
is($r->{status}, 0, 'kitchen -H to the python hub exits 0');
reap($fpid, 20);
my $fake = slurp($fout);
my ($hello) = $fake =~ /^hello (.*)$/m;
my $h = JSON::PP->new->decode($hello);
is($h->{kitchen_name}, 'interop', 'hello: kitchen_name');
is($h->{interface}, $cap, 'hello: interface names the source');
ok(defined $h->{filter} && !ref $h->{filter}, 'hello: filter is a string');
is_deeply($h->{chefs}, ['DNSLookupChef'], 'hello: chefs');
is($h->{poke_interval}, 2, 'hello: poke_interval');
my @msgs = map { JSON::PP->new->decode($_) } $fake =~ /^msg (.*)$/mg;
ok(@msgs >= 1, 'dumplings follow the hello');
is($_->{metadata}{kitchen}, 'interop', 'each is a dumpling from the kitchen') for @msgs;
like($fake, qr/^close 1000$/m, 'the kitchen closes normally (1000) when done');

# ---- the README pipeline: hub, kitchen on a bundled capture, printing eater ------------------

my $pout = "$dir/print.out";
my $ppid = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--no-interval', '--count', 2],
		 out => $pout);
ok(joined($hub, 'eater', 3), 'printing eater joined');
$r = run('kitchen', '-r', $cap, '-c', 'dns', '-H', "127.0.0.1:$hub->{in}");
is($r->{status}, 0, 'kitchen exits 0');
is(reap($ppid, 30), 0, 'printing eater ends after --count');
like(slurp($pout), qr/^\S+ \[packet  \] DNSLookupChef from default_kitchen\n\{\n    "lookup": \{/m,
     'dumplings are printed like nd-print');
is(stop($hub->{pid}), 0, 'hub exits 0 on SIGTERM');

done_testing();
