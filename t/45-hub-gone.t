#!/usr/bin/perl
# When the hub goes, its clients say how: a close with a code and a reason
# (the end of the stream with 1000 or 1001, a failure otherwise) or a
# connection that just went, without a close frame (a hub that died, a
# network that broke). The eater's exit status and log level follow: info
# and 0 for the end of the stream, error and 1 for the rest.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use TestLib;
use HubTest;
use Pcap;

plan skip_all => 'python3-websockets is not installed' unless pyok();

my $dir = tmpdir();

# A listener that never answers: the kernel takes the connection and the
# upgrade request, and nothing comes back. The eater gives up when
# libwebsockets' wait for the reply runs out (about 30 s), so it runs
# while the rest of the test does.
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
				   Proto => 'tcp', Listen => 5) or die "listen: $!";
my $silent_port = $silent->sockport;
my $silent_eat = spawn([bin(), 'eat', '-H', "127.0.0.1:$silent_port", '--json'],
		       err => "$dir/silent.err");
my $dumpling = '{"metadata":{"chef":"C","kitchen":"k","driver":"packet"},"payload":1}';
spew("$dir/one", "$dumpling\n");

# An eater against a stand-in hub that sends one dumpling, then closes.
sub fake_close {
	my ($code) = @_;
	my $port = free_port();
	my $fpid = spawn(py_cmd('fake_hub.py', '--port', $port, '--file', "$dir/one", '--close', $code));
	wait_for_port($port) or die 'fake hub did not start';
	my $r = run('eat', '-H', "127.0.0.1:$port", '--json', { timeout => 30 });
	reap($fpid, 20);
	return ($r, $port);
}

my ($r, $port) = fake_close(1001);
is($r->{status}, 0, 'a hub closing with 1001: exit 0');
like($r->{err}, qr/^$TestLib::LOG_STAMP dumplings eat: info: hub ws:\/\/127\.0\.0\.1:$port closed the connection \(close code 1001: fake hub closing\)$/m,
     'reported at info level, with the code and the reason');
($r, $port) = fake_close(1011);
is($r->{status}, 1, 'a hub closing with 1011: exit 1');
like($r->{err}, qr/^$TestLib::LOG_STAMP dumplings eat: error: hub ws:\/\/127\.0\.0\.1:$port closed the connection \(close code 1011: fake hub closing\)$/m,
     'reported as an error, with the code and the reason');

# A real hub, killed: no close frame.
my $hub = start_hub();
my $eat = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json'], err => "$dir/eat.err");
ok(joined($hub, 'eater', 1), 'an eater joined the hub');
kill 'KILL', $hub->{pid};
my $st = reap($eat, 30);
is($st >> 8, 1, 'the hub dying: the eater exits 1');
like(slurp("$dir/eat.err") // '', qr/^$TestLib::LOG_STAMP dumplings eat: error: hub ws:\/\/127\.0\.0\.1:$hub->{out} went away \(connection closed without a close frame\)$/m,
     'and says the hub went away without a close frame');

# A hub shutting down says goodbye with 1001.
$hub = start_hub();
$eat = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json'], err => "$dir/eat2.err");
ok(joined($hub, 'eater', 1), 'an eater joined the next hub');
stop($hub->{pid}, 'TERM');
is(reap($eat, 30) >> 8, 0, 'the hub shutting down: the eater exits 0');
like(slurp("$dir/eat2.err") // '', qr/^$TestLib::LOG_STAMP dumplings eat: info: hub ws:\/\/127\.0\.0\.1:$hub->{out} closed the connection \(close code 1001: /m,
     'and says the hub closed the connection with 1001');

# A hub that stops answering (its process stopped, its host gone from the
# network) keeps the connection open and silent: the eater pings it after
# half of --idle-timeout and hangs up when the other half brings nothing.
# A hub that is only quiet answers the ping, and the eater stays.
$hub = start_hub();
$eat = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '-c', 'Nobody',
	      '--idle-timeout', 2], err => "$dir/eat3.err");
ok(joined($hub, 'eater', 1), 'an eater with --idle-timeout 2 joined a hub that sends it nothing');
sleep 5;
ok(kill(0, $eat), 'after 5 s of a quiet hub that answers pings, it is still there')
	or diag(slurp("$dir/eat3.err"));
kill 'STOP', $hub->{pid};
is(reap($eat, 30) >> 8, 1, 'the hub stopped: the eater exits 1');
like(slurp("$dir/eat3.err") // '', qr/^$TestLib::LOG_STAMP dumplings eat: error: hub ws:\/\/127\.0\.0\.1:$hub->{out} went away \(it sent nothing for 2 s, not even an answer to a ping\)$/m,
     'and says the hub sent nothing, not even an answer to a ping');
kill 'CONT', $hub->{pid};
stop($hub->{pid}, 'TERM');
$r = run('eat', '--idle-timeout', '0.5');
is($r->{status}, 2, 'an --idle-timeout under a second is refused');
like($r->{err}, qr/--idle-timeout '0\.5'/, 'naming it');

# The kitchen's uplink tells the same story, and carries on.
$hub = start_hub();
write_pcap("$dir/slow.pcap", 1, map { ether(0x0800, ipv4(17, udp(40000, 53, 'x'))) } 1 .. 60);
my $kitchen = spawn([bin(), 'kitchen', '-H', "127.0.0.1:$hub->{in}", '-f', '', '-c', 'packetcount',
		     '-r', "$dir/slow.pcap", '--speed', '1'], err => "$dir/kitchen.err");
ok(joined($hub, 'kitchen', 1), 'a kitchen joined the hub');
kill 'KILL', $hub->{pid};
ok(wait_for(sub { (slurp("$dir/kitchen.err") // '') =~ /lost the connection/ }, 20), 'the kitchen noticed');
like(slurp("$dir/kitchen.err") // '', qr/warning: lost the connection to hub 127\.0\.0\.1:$hub->{in} \(connection closed without a close frame\); retrying/,
     'and says the connection closed without a close frame');
stop($kitchen, 'TERM');

my $silent_st = reap($silent_eat, 90);
is($silent_st >> 8, 1, 'a hub that never answers the upgrade: the eater exits 1')
	or diag(slurp("$dir/silent.err"));
like(slurp("$dir/silent.err") // '', qr/^$TestLib::LOG_STAMP dumplings eat: error: cannot connect to hub at 127\.0\.0\.1:$silent_port: no answer to the WebSocket upgrade$/m,
     'and says the upgrade went unanswered');

done_testing();
