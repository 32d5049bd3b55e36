#!/usr/bin/perl
# One message of 2 MB against the hub's bounds: 1 MiB of --max-message on
# the kitchen port, 16 KiB of --max-hello for what an eater says after its
# hello. Whole or in fragments, compressed or not, the message is counted
# once and its connection closed with 1009 at once, while the client sends
# nothing more, as dumplings.1 says. The hub carries on.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'needs python3-websockets (Debian package)');

sub oversized {
	my $hub = shift;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hub->{out}, Proto => 'tcp')
		or return undef;
	print $s "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	local $/;
	my $text = <$s> // '';
	return $text =~ /^dumplings_hub_messages_oversized_total (\S+)$/m ? $1 : undef;
}

# Run what sends the message, and say what the hub did and counted.
sub refused {
	my ($hub, $what, $expect, $script, @args) = @_;
	my $before = oversized($hub);
	my $r = py($script, @args, { timeout => 60 });
	chomp(my $line = $r->{out} // '');
	is($line, $expect, "$what: closed with 1009");
	is(oversized($hub) - $before, 1, "$what: counted once");
}

my $hub = start_hub('--status-freq', '0.5');
for my $port (qw(in out)) {
	my $who = $port eq 'in' ? 'a kitchen' : 'an eater';
	for my $frames (1, 64, 1000) {
		refused($hub, "2 MB from $who in $frames frame" . ($frames > 1 ? 's' : ''),
			'oversized 1009 message too big', 'hostile.py', '--port', $hub->{$port},
			'--attack', 'oversized', '--fragments', $frames, $port eq 'out' ? '--eater' : ());
	}
}
# python3-websockets, compressing: lws hands the hub the inflated message a
# kilobyte at a time, a thousand pieces past the bound.
refused($hub, '2 MB from a compressing kitchen', 'close 1009', 'kitchen_client.py',
	'--port', $hub->{in}, '--deflate', '--big', 2 << 20, '--hold', 5);

my $r = py('kitchen_client.py', '--port', $hub->{in}, '--count', 3, '--hold', 1);
like($r->{out}, qr/^close none$/m, 'a kitchen within the bounds is still welcome');
my $st = hub_status($hub);
is($st->{total_dumplings_in}, 3, 'and its dumplings are let in');
is($st->{total_messages_oversized}, 7, 'the status counts each refusal once');
is(stop($hub->{pid}, 'TERM') >> 8, 0, 'the hub shuts down cleanly');

done_testing;
