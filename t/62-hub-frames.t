#!/usr/bin/perl
# What the hub does with frames lws would let through: a frame from a client
# that is not masked is refused with 1002 (RFC 6455 5.1), on either port and
# over TLS too; a message in endless empty fragments is cut off with 1008,
# with or without permessage-deflate; both are counted. Well-behaved
# clients, fragmenting or compressing, are unaffected.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use Test::More;
use TestLib;
use HubTest;

plan skip_all => 'needs python3-websockets (Debian package)' unless pyok();

sub attack {
	my ($port, $name, @args) = @_;
	my $r = py('hostile.py', '--port', $port, '--attack', $name, @args, { timeout => 60 });
	chomp(my $line = $r->{out} // '');
	return $line;
}


my $hub = start_hub('--status-freq', '0.5');

# A good eater sees what good kitchens send, and nothing of the bad ones.
my $eout = "$hub->{dir}/eater.out";
my $eater = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--name', 'good',
			 '--hello', '{"chefs": ["PyChef"]}', '--count', 4, '--timeout', 60),
		  out => $eout, err => "$hub->{dir}/eater.err");
ok(joined($hub, 'eater', 1), 'a good eater joined');

is(attack($hub->{in}, 'unmasked'), 'unmasked 1002', 'an unmasked dumpling: 1002');
is(attack($hub->{in}, 'unmasked-hello'), 'unmasked-hello 1002', 'an unmasked hello from a kitchen: 1002');
is(attack($hub->{out}, 'unmasked-hello'), 'unmasked-hello 1002', 'an unmasked hello from an eater: 1002');
like(attack($hub->{in}, 'empty-fragments', '--n', 5000), qr/^empty-fragments 1008 /,
     'a message in 5000 empty fragments: 1008');

# python3-websockets, compressing: the frames hide under permessage-deflate.
my $r = py('kitchen_client.py', '--port', $hub->{in}, '--count', 1, '--deflate',
	   '--fragments', 5000, '--hold', 5);
like($r->{err}, qr/permessage-deflate/, 'the compressing kitchen negotiated permessage-deflate');
like($r->{out}, qr/^close 1008$/m, 'its message in 5000 fragments: 1008');
for my $deflate (0, 1) {
	$r = py('kitchen_client.py', '--port', $hub->{in}, '--count', 2, '--fragments', 500,
		$deflate ? '--deflate' : (), '--hold', 1);
	like($r->{out}, qr/^close none$/m,
	     'dumplings in 500 fragments are fine' . ($deflate ? ', compressed' : ''));
}
is(reap($eater, 60), 0, 'the good eater got its four dumplings');
my @got = grep { $_->{metadata}{chef} eq 'PyChef' } decode_lines(slurp($eout));
is_deeply([map { $_->{payload}{seq} } @got], [0, 1, 0, 1], 'only the good ones, whole');

my $st = hub_status($hub);
is($st->{total_frames_unmasked}, 3, 'the status counts unmasked frames');
is($st->{total_messages_too_fragmented}, 2, 'and messages in too many fragments');
is(hub_metric($hub, 'frames_unmasked_total'), 3, '/metrics too');
is(hub_metric($hub, 'messages_too_fragmented_total'), 2, '/metrics too');
ok(kill(0, $hub->{pid}), 'the hub is still up');
is(stop($hub->{pid}, 'TERM') >> 8, 0, 'and shuts down cleanly');

# ---- over TLS -------------------------------------------------------------------
SKIP: {
	skip 'openssl is not installed', 3 unless system('openssl version >/dev/null 2>&1') == 0;
	my ($cert, $key) = make_cert(tmpdir(), 'hub', 'DNS:localhost,IP:127.0.0.1');
	my $tls = start_hub('--cert', $cert, '--key', $key);
	is(attack($tls->{in}, 'unmasked', '--tls'), 'unmasked 1002', 'over TLS, an unmasked dumpling: 1002');
	my $k = run('kitchen', '-q', '-r', root() . '/examples/sample.pcap', '-H',
		    "wss://localhost:$tls->{in}", '--ca', $cert, { timeout => 60 });
	is($k->{status}, 0, 'and our own kitchen publishes over TLS') or diag($k->{err});
	my @unmasked = hub_log($tls) =~ /not masked/g;
	is(scalar @unmasked, 1, 'without being taken for unmasked');
	stop($tls->{pid}, 'TERM');
}

done_testing;
