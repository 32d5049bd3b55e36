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

# What dumplings.1 says of each: an invalid message is counted and dropped
# while its sender carries on; a message over --max-message is refused
# with 1009, a missing hello with 1008; an HTTP request not whole within
# 10 seconds is closed.
is(attack($hub->{in}, 'bad-utf8'), 'bad-utf8 open', 'invalid UTF-8 in a text frame: the sender may carry on');
is(attack($hub->{in}, 'bad-json'), 'bad-json open', 'invalid JSON: the sender may carry on');
is(attack($hub->{in}, 'not-object'), 'not-object open', 'JSON that is not an object');
is(attack($hub->{in}, 'bad-metadata'), 'bad-metadata open', 'metadata missing or of the wrong type');
is(attack($hub->{in}, 'binary'), 'binary open', 'a binary frame');
is(attack($hub->{in}, 'oversized'), 'oversized 1009 message too big', 'an oversized message is refused with 1009');
like(attack($hub->{in}, 'endless-fragments'), qr/^endless-fragments 1009 message too big after \d+ KiB$/,
     'an endless fragmented message is cut off with 1009 once past --max-message');
is(attack($hub->{in}, 'no-hello', '--wait', 5), 'no-hello 1008 no hello',
   'a kitchen that never says hello is closed with 1008');
is(attack($hub->{out}, 'no-hello', '--wait', 5), 'no-hello 1008 no hello',
   'an eater that never says hello is closed with 1008');
is(attack($hub->{in}, 'idle', '--n', 1000, '--wait', 3), 'idle opened 1000 failed 0 closed 1008:1000',
   'a thousand idle connections are all accepted, then closed with 1008');
is(attack($hub->{out}, 'slow-upgrade', '--n', 5, '--wait', 15), 'slow-upgrade sent 5 then eof',
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
is($status->{total_dumplings_invalid}, 1 + 4 + 5 + 5 + 1,
   'every invalid dumpling was counted once (UTF-8, JSON, not objects, metadata, binary)');
is($status->{total_messages_oversized}, 2, 'each oversized message was counted once');
is($status->{total_messages_too_fragmented}, 0, 'neither as too fragmented');
is($status->{total_hellos_missing}, 1000 + 2, 'each connection without a hello was counted once');
my ($hwm) = (slurp("/proc/$hub->{pid}/status") // '') =~ /^VmHWM:\s+(\d+)/m;
diag("hub peak RSS through the battery: $hwm KiB");
cmp_ok($hwm, '<', 64 * 1024, 'the hub\'s memory stayed bounded (peak RSS under 64 MiB)');
is(stop($hub->{pid}, 'TERM') >> 8, 0, 'the hub shuts down cleanly');

done_testing;
