#!/usr/bin/perl
# The hub against independent clients (python3-websockets): hellos, fan-out,
# validation, reassembly, size limit, hello timeout, filters, the status
# dumpling, slow eaters, shutdown.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'python3-websockets is not installed');

# ---- command line ---------------------------------------------------------

my $r = run('hub', '--help');
is($r->{status}, 0, 'hub --help exits 0');
like($r->{out}, qr/^usage: dumplings hub /, 'hub --help starts with the synopsis');
like($r->{out}, qr/--slow-eater/, 'hub --help lists the options');

for my $bad (['--in-port', '0'], ['--out-port', '70000'], ['--status-freq', 'soon'],
	     ['--queue', '0'], ['--slow-eater', 'maybe'], ['--bogus'], ['--in-port'],
	     ['--in-port', '5000', '--out-port', '5000'], ['extra']) {
	my $r = run('hub', @$bad);
	is($r->{status}, 2, "hub @$bad exits 2");
	my @lines = split /\n/, $r->{err};
	like($lines[0], qr/^dumplings hub: .*\S/, "hub @$bad: one line naming the problem");
	like($r->{err}, qr/^usage: dumplings hub/m, "hub @$bad: usage follows");
}

# ---- fan-out: every eater gets every dumpling once, in order ---------------

my $hub = start_hub('--status-freq', '0.2');
my $n = 300;
my @eaters;
for my $opt ([], ['--no-deflate']) {
	my $out = "$hub->{dir}/eater" . @eaters;
	push @eaters, { out => $out, err => "$out.err",
		pid => spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--skip-status',
				    '--count', $n, @$opt), out => $out, err => "$out.err") };
}
ok(joined($hub, 'eater', 2), 'two eaters joined');
$r = py('kitchen_client.py', '--port', $hub->{in}, '--count', $n, '--deflate', '--fragment');
like($r->{err}, qr/permessage-deflate/, 'a kitchen offering permessage-deflate gets it');
for my $e (@eaters) {
	is(reap($e->{pid}, 30), 0, 'eater finished');
	my @seq = map { $_->{payload}{seq} } grep { $_->{metadata}{chef} eq 'PyChef' }
		decode_lines(slurp($e->{out}));
	is_deeply(\@seq, [0 .. $n - 1], "eater got all $n fragmented dumplings once, in order");
}
like(slurp($eaters[0]{err}), qr/permessage-deflate/, 'an eater offering permessage-deflate gets it');
like(slurp($eaters[1]{err}), qr/extensions \[\]/, 'an eater without it works too');

# ---- validation -------------------------------------------------------------

my $bad = "$hub->{dir}/bad.ndjson";
spew($bad, join "\n", 'this is not json', '[1, 2, 3]', '"a string"',
     '{"payload": 1}', '{"metadata": {"chef": 7}, "payload": 1}',
     '{"metadata": "chef", "payload": 1}',
     '{"metadata": {"chef": "GoodChef", "kitchen": "k"}, "payload": "ok"}');
my $pid = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--skip-status', '--count', 2),
		out => "$hub->{dir}/valid.out");
ok(joined($hub, 'eater', 3), 'a third eater joined');
$r = py('kitchen_client.py', '--port', $hub->{in}, '--raw', $bad, '--binary', '--count', 1);
is($r->{out}, "close none\n", 'invalid dumplings do not cost the kitchen its connection');
is(reap($pid, 30), 0, 'the eater got what was valid');
my @got = decode_lines(slurp("$hub->{dir}/valid.out"));
my @chefs = map { $_->{metadata}{chef} } grep { $_->{metadata}{chef} ne 'SystemStatusChef' } @got;
is_deeply(\@chefs, ['PyChef', 'GoodChef'], 'only valid dumplings are forwarded');
my $st = hub_status($hub);
is($st->{total_dumplings_invalid}, 7, 'six invalid dumplings and a binary frame counted');
is($st->{total_dumplings_in}, 2 * 1 + $n, 'valid dumplings counted in');

# ---- the size limit -----------------------------------------------------------

my $small = start_hub('--status-freq', '0.2', '--max-message', '4096');
$r = py('kitchen_client.py', '--port', $small->{in}, '--big', 10000, '--hold', 10);
is($r->{out}, "close 1009\n", 'an oversized message closes the kitchen with 1009');
$r = py('kitchen_client.py', '--port', $small->{in}, '--count', 1, '--size', 3000, '--fragment');
is($r->{out}, "close none\n", 'a message under the limit is fine');
$st = hub_status($small);
is($st->{total_messages_oversized}, 1, 'the oversized message is counted');
is($st->{total_dumplings_in}, 1, 'the hub carried on');
is(stop($small->{pid}), 0, 'hub exits 0 on SIGTERM');

# ---- the hello timeout ----------------------------------------------------------

my $quick = start_hub('--status-freq', '0.2', '--hello-timeout', '0.3');
$r = py('kitchen_client.py', '--port', $quick->{in}, '--no-hello', '--hold', 10);
is($r->{out}, "close 1008\n", 'a kitchen without a hello is closed (1008)');
$st = hub_status($quick);
is($st->{total_hellos_missing}, 1, 'the missing hello is counted');
stop($quick->{pid});

# ---- server-side filters --------------------------------------------------------

my %want = (
	'{"chefs": ["A"]}' => ['A/k1/packet', 'A/k2/interval'],
	'{"kitchens": ["k2"]}' => ['A/k2/interval', 'B/k2/packet'],
	'{"drivers": ["interval"]}' => ['A/k2/interval'],
	'{"chefs": ["A", "B"], "kitchens": ["k2"], "drivers": ["packet"]}' => ['B/k2/packet'],
);
my @fe;
for my $h (sort keys %want) {
	my $out = "$hub->{dir}/filter" . @fe;
	push @fe, { hello => $h, out => $out,
		pid => spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--hello', $h,
				    '--count', scalar @{ $want{$h} }, '--skip-status',
				    '--no-deflate'), out => $out) };
}
ok(joined($hub, 'eater', 3 + 1 + @fe), 'filtering eaters joined');
py('kitchen_client.py', '--port', $hub->{in}, '--name', $_->[1], '--chef', $_->[0],
   '--driver', $_->[2], '--count', 1) for ['C', 'k1', 'packet'], ['A', 'k1', 'packet'],
	['A', 'k2', 'interval'], ['B', 'k2', 'packet'];
for my $e (@fe) {
	reap($e->{pid}, 30);
	my @ids = map { "$_->{metadata}{chef}/$_->{metadata}{kitchen}/$_->{metadata}{driver}" }
		grep { $_->{metadata}{chef} ne 'SystemStatusChef' } decode_lines(slurp($e->{out}));
	is_deeply(\@ids, $want{$e->{hello}}, "filter $e->{hello}");
}

# ---- the status dumpling -----------------------------------------------------------

my $kpid = spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--name', 'statuskitchen',
			'--hold', 30));
ok(joined($hub, 'kitchen', 7), 'a kitchen stays connected');
$r = py('eater_client.py', '--port', $hub->{out}, '--count', 1, '--name', 'statuseater',
	'--hello', '{"chefs": ["SystemStatusChef"]}');
my ($sd) = decode_lines($r->{out});
is($sd->{metadata}{chef}, 'SystemStatusChef', 'status dumpling chef');
is($sd->{metadata}{driver}, 'interval', 'status dumpling driver');
ok(exists $sd->{metadata}{kitchen} && !defined $sd->{metadata}{kitchen}, 'status kitchen is null');
like($r->{out}, qr/"creation_time":\d+\.\d+/, 'creation_time is a float');
like($r->{out}, qr/"server_uptime":\d+\.\d+/, 'server_uptime is a float');
$st = $sd->{payload};
for my $k (qw(total_dumplings_in total_dumplings_out dumpling_kitchen_count dumpling_eater_count)) {
	like($st->{$k}, qr/^\d+$/, "$k is an integer");
}
is($st->{dumpling_kitchen_count}, 1, 'one kitchen connected');
is($st->{dumpling_eater_count}, 1, 'one eater connected');
is(ref $st->{dumpling_kitchens}, 'ARRAY', 'dumpling_kitchens is an array');
my ($k) = @{ $st->{dumpling_kitchens} };
is($k->{info_from_kitchen}{kitchen_name}, 'statuskitchen', 'info_from_kitchen is the hello');
is($k->{info_from_hub}{host}, '127.0.0.1', 'info_from_hub.host');
like($k->{info_from_hub}{port}, qr/^\d+$/, 'info_from_hub.port');
my ($e) = @{ $st->{dumpling_eaters} };
is($e->{info_from_eater}{eater_name}, 'statuseater', 'info_from_eater is the hello');
for my $key (qw(dumplings_out dumplings_dropped queue_depth)) {
	ok(exists $e->{$key}, "eater entry has $key");
}
ok(exists $k->{dumplings_in}, 'kitchen entry has dumplings_in');
ok(exists $st->{$_}, "status has $_") for qw(total_dumplings_invalid total_dumplings_dropped
	dumplings_in_per_second dumplings_out_per_second queue_used queue_capacity);

# ---- shutdown ----------------------------------------------------------------------

my $wpid = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--timeout', 30),
		 err => "$hub->{dir}/last.err");
ok(joined($hub, 'eater', 3 + 1 + @fe + 2), 'an eater waits');
my $busy = spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--name', 'busy',
			'--count', 10000000, '--pause', 0.001), out => "$hub->{dir}/busy.out");
ok(joined($hub, 'kitchen', 8), 'a kitchen is sending');
is(stop($hub->{pid}, 'TERM'), 0, 'hub exits 0 on SIGTERM');
reap($wpid, 20);
like(slurp("$hub->{dir}/last.err"), qr/close 1001/, 'eaters are told 1001 on shutdown');
reap($kpid, 20);
reap($busy, 20);
is(slurp("$hub->{dir}/busy.out"), "close 1001\n", 'a kitchen in mid-stream is told 1001 too');
unlike(hub_log($hub), qr/error/i, 'no errors in the hub log');

# ---- where it cannot listen, it says so and exits 1 --------------------------------

# 192.0.2.0/24 is for documentation: no machine has it, nothing is sent.
$r = run('hub', '-a', '192.0.2.77', '--in-port', free_port(), '--out-port', free_port(), { timeout => 20 });
is($r->{status}, 1, 'an address not on this machine: exit 1');
like($r->{err}, qr/cannot listen on 192\.0\.2\.77 port \d+: Cannot assign requested address/,
     'naming the address, the port and the reason');
unlike($r->{err}, qr/listening on/, 'and not claiming to listen');
my ($in, $out) = (free_port(), free_port());
my $first = spawn([bin(), 'hub', '-a', '127.0.0.1', '--in-port', $in, '--out-port', $out]);
ok(wait_for_port($out), 'a first hub listens');
$r = run('hub', '-a', '127.0.0.1', '--in-port', $in, '--out-port', free_port(), { timeout => 20 });
is($r->{status}, 1, 'a port already in use: exit 1');
like($r->{err}, qr/cannot listen on 127\.0\.0\.1 port $in: Address already in use/, 'naming the port and the reason');
stop($first);

done_testing();
