#!/usr/bin/perl
# A hub with many eaters and many kitchens. With 200 eaters connected, the
# status dumpling a plain eater receives stays small and keeps the original
# keys (the lists cut, the rest counted), while one that asked for details
# (eat --details) gets every connection's entry. Many kitchens sending at
# once to one lossless eater: everything arrives, and the hub stopped
# reading kitchens for the rest of a loop turn that brought a quarter of
# its queue (total_kitchen_turn_holds).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'python3-websockets is not installed');

# A WebSocket connection to PORT, upgraded, with HELLO sent as its first
# message; nothing is read from it after the upgrade.
sub ws_client {
	my ($port, $hello) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
		or die "connect: $!";
	print $s join("\r\n", 'GET / HTTP/1.1', "Host: 127.0.0.1:$port", 'Upgrade: websocket',
		      'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
		      'Sec-WebSocket-Version: 13', '', '');
	my $buf = '';
	my $deadline = time + 20;
	while ($buf !~ /\r\n\r\n/ && time < $deadline) {
		last unless sysread($s, $buf, 4096, length $buf);
	}
	die "no upgrade: $buf" unless $buf =~ m{^HTTP/1\.1 101};
	syswrite($s, text_frame($hello));
	return $s;
}

# A client's text frame: masked, with a zero key, so the payload is as it is.
sub text_frame {
	my ($msg) = @_;
	my $n = length $msg;
	my $head = $n < 126 ? pack('C C', 0x81, 0x80 | $n)
		 : $n < 65536 ? pack('C C n', 0x81, 0x80 | 126, $n)
		 : pack('C C Q>', 0x81, 0x80 | 127, $n);
	return $head . "\0\0\0\0" . $msg;
}

# ---- the status dumpling with 200 eaters -------------------------------------

my $eaters = 200;
my $hub = start_hub('--status-freq', 0.3, '--max-connections', 1000);
my @idle = map { ws_client($hub->{out}, qq({"eater_name":"idle-$_","chefs":["NoSuchChef"]})) } 1 .. $eaters;
ok(wait_for(sub { (() = hub_log($hub) =~ /eater .* joined/g) >= $eaters }, 60),
   "$eaters eaters joined");

my $r = py('eater_client.py', '--port', $hub->{out}, '--name', 'plain',
	   '--hello', '{"chefs": ["SystemStatusChef"]}', '--count', 1, '--timeout', 20);
my ($line) = split /\n/, $r->{out} // '';
ok(defined $line, 'a plain eater got a status dumpling');
$line //= '{}';
my $p = (json()->decode($line) // {})->{payload} // {};
cmp_ok(length $line, '<', 32 * 1024, 'which stays small (' . length($line) . ' bytes)');
for my $k (qw(total_dumplings_in total_dumplings_out server_uptime dumpling_kitchen_count
	      dumpling_eater_count)) {
	ok(defined $p->{$k}, "it has $k");
}
is(ref $p->{$_}, 'ARRAY', "$_ is an array") for qw(dumpling_kitchens dumpling_eaters);
cmp_ok($p->{dumpling_eater_count} // 0, '>=', $eaters, 'the count includes every eater');
my $listed = @{ $p->{dumpling_eaters} // [] };
cmp_ok($listed, '<', $eaters, "the list is cut ($listed listed)");
is($listed + ($p->{dumpling_eaters_unlisted} // 0), $p->{dumpling_eater_count},
   'and dumpling_eaters_unlisted counts the rest');

$r = run('eat', '-H', "127.0.0.1:$hub->{out}", '--details', { timeout => 30 });
is($r->{status}, 0, 'eat --details exits 0');
my $named = () = $r->{out} =~ /"eater_name": "idle-\d+"/g;
is($named, $eaters, "eat --details lists all $eaters eaters");
like($r->{out}, qr/"dumpling_eaters_unlisted": 0\b/, 'and leaves none unlisted');
close $_ for @idle;
stop($hub->{pid});

# ---- many kitchens, one lossless eater ---------------------------------------

my $kitchens = 64;
my $each = 200;
my $want = $kitchens * $each;
# a turn reading 16 KiB from each of 64 kitchens brings far more than a
# quarter of 400 dumplings
$hub = start_hub('--queue', 400, '--status-freq', 0.5, '--max-connections', 1000);
my $dir = tmpdir();
my $out = "$dir/eat.out";
my $eater = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '--lossless',
		   '-c', 'ScaleChef', '--count', $want], out => $out, err => "$out.err");
ok(joined($hub, 'eater', 1), 'a lossless eater joined');
my @k = map {
	ws_client($hub->{in}, qq({"kitchen_name":"k$_","interface":"test","filter":"","chefs":["ScaleChef"]}))
} 1 .. $kitchens;
ok(wait_for(sub { (() = hub_log($hub) =~ /kitchen .* joined/g) >= $kitchens }, 60),
   "$kitchens kitchens joined");
# every kitchen's dumplings in one write, every kitchen at once
my $pad = 'x' x 150;
for my $i (0 .. $#k) {
	syswrite($k[$i], join('', map {
		text_frame(qq({"metadata":{"chef":"ScaleChef","kitchen":"k$i","driver":"packet",)
			   . qq("creation_time":1.5},"payload":{"n":$_,"pad":"$pad"}}))
	} 1 .. $each));
}
my $lines = sub { my @l = split /\n/, slurp($out) // ''; scalar @l };
ok(wait_for(sub { $lines->() >= $want }, 120), "the lossless eater got all $want");
is($lines->(), $want, 'and no more');
my %seen;
for (split /\n/, slurp($out) // '') {
	$seen{"$1 $2"}++ if /"kitchen":"(k\d+)".*"n":(\d+)/;
}
is(scalar keys %seen, $want, 'each kitchen\'s every dumpling, once');
my $st = hub_status($hub);
cmp_ok($st->{total_kitchen_turn_holds} // 0, '>', 0,
       "the hub stopped reading kitchens in a full turn ($st->{total_kitchen_turn_holds} times)");
is($st->{total_dumplings_dropped}, 0, 'and dropped nothing');
stop($eater, 'TERM');
close $_ for @k;
stop($hub->{pid});

done_testing();
