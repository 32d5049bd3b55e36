#!/usr/bin/perl
# Hostile peers: while a kitchen streams a known number of dumplings to two
# well-behaved eaters, other clients throw everything at the hub. The hub
# stays up, the good eaters get every dumpling, its memory stays bounded,
# and every bad input is counted in the status dumpling.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'needs python3-websockets (Debian package)');

my $n = 3000;
my $hub = start_hub('--hello-timeout', '2', '--status-freq', '1');

my @eaters = map {
	my $out = "$hub->{dir}/eater$_.out";
	[ spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--name', "good$_",
		       '--hello', '{"chefs": ["PyChef"]}', '--count', $n, '--timeout', 120),
		out => $out, err => "$hub->{dir}/eater$_.err"), $out ]
} 1 .. 2;
ok(joined($hub, 'eater', 2), 'two good eaters joined');
# And one that says hello, then never reads.
my $stalled = spawn(py_cmd('stalled_eater.py', $hub->{out}, 40), err => "$hub->{dir}/stalled.err");
ok(joined($hub, 'eater', 3), 'a stalled eater joined');

# The stream pauses 0.3 s every 100 dumplings: about 9 s, while the attacks run.
my $kitchen = spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--count', $n,
			   '--pause', '0.3', '--hold', '2'),
		    err => "$hub->{dir}/kitchen.err");

sub attack {
	my ($port, $name, @args) = @_;
	my $r = py('hostile.py', '--port', $port, '--attack', $name, @args, { timeout => 120 });
	chomp(my $line = $r->{out} // '');
	return $line;
}

like(attack($hub->{in}, 'bad-utf8'), qr/^bad-utf8 (open|1007)/, 'invalid UTF-8 in a text frame');
like(attack($hub->{in}, 'bad-json'), qr/^bad-json open/, 'invalid JSON: the sender may carry on');
like(attack($hub->{in}, 'not-object'), qr/^not-object open/, 'JSON that is not an object');
like(attack($hub->{in}, 'bad-metadata'), qr/^bad-metadata open/, 'metadata missing or of the wrong type');
like(attack($hub->{in}, 'binary'), qr/^binary open/, 'a binary frame');
like(attack($hub->{in}, 'oversized'), qr/^oversized 1009/, 'an oversized message is refused with 1009');
like(attack($hub->{in}, 'endless-fragments'), qr/^endless-fragments (1009|eof|reset)/,
     'an endless fragmented message is cut off');
like(attack($hub->{in}, 'no-hello', '--wait', 5), qr/^no-hello (1008|eof|\d+)$/,
     'a kitchen that never says hello is closed');
like(attack($hub->{out}, 'no-hello', '--wait', 5), qr/^no-hello (1008|eof|\d+)$/,
     'an eater that never says hello is closed');
my $idle = attack($hub->{in}, 'idle', '--n', 1000, '--wait', 3);
like($idle, qr/^idle opened 1000 failed 0 closed 1000$/, 'a thousand idle connections are all accepted, then closed');
like(attack($hub->{out}, 'slow-upgrade', '--n', 5, '--wait', 15), qr/^slow-upgrade sent \d+ then (eof|reset)/,
     'an upgrade request sent a byte a second is cut off');
is(reap($kitchen, 120) >> 8, 0, 'the streaming kitchen finished');
for my $e (@eaters) {
	reap($e->[0], 120);
	my @got = grep { $_->{metadata}{chef} eq 'PyChef' } decode_lines(slurp($e->[1]));
	is(scalar @got, $n, 'a good eater received every dumpling');
	is_deeply([map { $_->{payload}{seq} } @got], [0 .. $n - 1], '... once each, in order');
}
kill 'TERM', $stalled;
reap($stalled, 10);

ok(kill(0, $hub->{pid}), 'the hub is still up');
my $status = hub_status($hub);
ok($status, 'and still answers with status dumplings');
is($status->{total_dumplings_in}, $n, 'it let in exactly the good dumplings');
cmp_ok($status->{total_dumplings_invalid}, '>=', 16,
       'every invalid dumpling was counted (UTF-8, JSON, not objects, metadata, binary)');
cmp_ok($status->{total_messages_oversized}, '>=', 2, 'oversized messages were counted');
cmp_ok($status->{total_hellos_missing}, '>=', 1002, 'connections without a hello were counted');
my ($hwm) = (slurp("/proc/$hub->{pid}/status") // '') =~ /^VmHWM:\s+(\d+)/m;
diag("hub peak RSS through the battery: $hwm KiB");
cmp_ok($hwm, '<', 64 * 1024, 'the hub\'s memory stayed bounded (peak RSS under 64 MiB)');
is(stop($hub->{pid}, 'TERM') >> 8, 0, 'the hub shuts down cleanly');

done_testing;
