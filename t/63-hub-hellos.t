#!/usr/bin/perl
# What the hub holds for its connections is bounded: a hello over
# --max-hello is refused with 1009, the hello kept is its documented keys
# with bounded strings and arrays, status dumplings stay small enough for
# clients that take at most 1 MiB a message, an eater's filter may not be
# endless, and past --max-connections a connection is refused at once.
# Each refusal is counted, in the status dumpling and /metrics.
use strict;
use warnings;
use lib 't/lib';
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use TestLib;
use HubTest;

plan skip_all => 'needs python3-websockets (Debian package)' unless pyok();

my $j = JSON::PP->new->canonical;

sub attack {
	my ($port, $name, @args) = @_;
	my $r = py('hostile.py', '--port', $port, '--attack', $name, @args, { timeout => 120 });
	chomp(my $line = $r->{out} // '');
	return $line;
}


sub kitchen {
	my ($hub, $hello, @args) = @_;
	return py('kitchen_client.py', '--port', $hub->{in}, '--hello', $j->encode($hello),
		  '--hold', 1, @args);
}

# a hello timeout far longer than 140 hellos of a megabyte take on a loaded
# machine: these are refused for their size, not their time
my $hub = start_hub('--status-freq', '0.3', '--hello-timeout', 120);

# An eater like the original's clients: python3-websockets takes at most
# 1 MiB a message unless told otherwise.
my $small = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--name', 'small',
			 '--max-size', 1 << 20, '--hello', '{"chefs": ["SystemStatusChef"]}',
			 '--timeout', 60),
		  out => "$hub->{dir}/small.out", err => "$hub->{dir}/small.err");
ok(joined($hub, 'eater', 1), 'an eater that takes at most 1 MiB joined');

# ---- hellos over --max-hello ------------------------------------------------------
my $big = attack($hub->{in}, 'big-hellos', '--n', 140, '--size', (1 << 20) - 64);
like($big, qr/^big-hellos (?:(?:1009|reset|eof):\d+ ?)+$/, '140 hellos of just under 1 MiB are all refused')
	or diag($big);
like($big, qr/1009:\d+/, 'with 1009');
my $r = kitchen($hub, { kitchen_name => 'k' x (20 << 10) });
like($r->{out}, qr/^close 1009$/m, 'a 20 KiB hello from a python kitchen: 1009');

# ---- what is kept of a hello ----------------------------------------------------------
my $long = 'tcp and ' . join(' or ', map { "host 10.0.0.$_" } 1 .. 200);
# The kitchen holds its connection while the status is read.
my $ks = spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--hello',
		      $j->encode({ kitchen_name => 'keeper', interface => 'eth0', filter => $long,
				   chefs => [map { "Chef$_" } 1 .. 300], poke_interval => 5.0,
				   secret => 'x' x 1000, nested => { a => [1, 2, 3] } }),
		      '--hold', 30));
ok(joined($hub, 'kitchen', 1), 'a kitchen with a rich hello joined');
my $st = hub_status($hub);
my ($keeper) = grep { ($_->{info_from_kitchen}{kitchen_name} // '') eq 'keeper' }
	@{ $st->{dumpling_kitchens} };
ok($keeper, 'it is listed, with info_from_kitchen and info_from_hub')
	and ok($keeper->{info_from_hub}{port}, 'info_from_hub has its port');
my $kept = $keeper ? $keeper->{info_from_kitchen} : {};
is_deeply([sort keys %$kept], [sort qw(kitchen_name interface filter chefs poke_interval)],
	  'only the documented keys are kept');
is(length $kept->{filter}, 1024, 'a long filter is kept to 1024 bytes');
is($kept->{filter}, substr($long, 0, 1024), 'its beginning');
is(scalar @{ $kept->{chefs} // [] }, 256, 'a long list of chefs is kept to 256');
is($kept->{poke_interval}, 5, 'poke_interval is kept');
kill 'TERM', $ks;
reap($ks, 10);

# ---- an eater's filters -----------------------------------------------------------------
$r = py('eater_client.py', '--port', $hub->{out}, '--name', 'greedy',
	'--hello', $j->encode({ chefs => [map { "Chef$_" } 1 .. 300] }), '--count', 1,
	'--timeout', 10);
like($r->{err}, qr/^close 1008$/m, 'an eater with a filter of 300 chefs: 1008');
$r = py('eater_client.py', '--port', $hub->{out}, '--name', 'fine',
	'--hello', $j->encode({ chefs => ['SystemStatusChef', map { "Chef$_" } 1 .. 255] }),
	'--count', 1, '--timeout', 10);
like($r->{out}, qr/"SystemStatusChef"/, 'one with 256 is fine');
for my $bad ([ chefs => 'ARPChef' ], [ kitchens => { a => 1 } ], [ drivers => ['packet', 7] ]) {
	$r = py('eater_client.py', '--port', $hub->{out}, '--name', 'odd',
		'--hello', $j->encode({ @$bad }), '--count', 1, '--timeout', 10);
	like($r->{err}, qr/^close 1008$/m, "a malformed filter ($bad->[0]): 1008");
	like($r->{err}, qr/^reason a filter .*(not an array of names|other than names)/m, '... saying why');
}
$r = py('eater_client.py', '--port', $hub->{out}, '--name', 'nullfilter',
	'--hello', $j->encode({ chefs => undef }), '--count', 1, '--timeout', 10);
unlike($r->{err}, qr/^close 1008$/m, 'a null filter is no filter');

# ---- many kitchens, one status dumpling ----------------------------------------------------
my $hello15 = { kitchen_name => 'many', interface => 'i' x 1000, filter => 'f' x 1000,
		chefs => [('c' x 1000) x 12] };
my @many = map {
	spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--hello', $j->encode($hello15),
		     '--hold', 60))
} 1 .. 60;
ok(joined($hub, 'kitchen', 1 + 60), 'sixty kitchens with 15 KiB hellos joined');
my $probe = py('eater_client.py', '--port', $hub->{out}, '--name', 'probe', '--max-size', 1 << 20,
	       '--hello', '{"chefs": ["SystemStatusChef"]}', '--count', 1, '--timeout', 20);
my ($doc) = decode_lines($probe->{out});
ok($doc, 'a status dumpling arrives at an eater that takes at most 1 MiB');
my $size = length((split /\n/, $probe->{out})[0] // '');
cmp_ok($size, '<', 1 << 20, "it is under 1 MiB ($size bytes)");
$st = $doc ? $doc->{payload} : {};
is($st->{dumpling_kitchen_count}, 60, 'it counts every kitchen');
cmp_ok($st->{dumpling_kitchens_unlisted}, '>', 0,
       "and lists those that fit ($st->{dumpling_kitchens_unlisted} unlisted)");
is(scalar @{ $st->{dumpling_kitchens} } + $st->{dumpling_kitchens_unlisted}, 60, 'listed and unlisted add up');
kill 'TERM', @many;
reap($_, 10) for @many;

# ---- our own kitchen, reading many files --------------------------------------------------
# Its hello names what it reads: it must still fit a hub's default --max-hello.
{
	my $files = tmpdir();
	my @paths = map { my $p = sprintf("%s/%s-%04d.pcap", $files, 'capture' x 12, $_);
			  symlink(root() . '/examples/sample.pcap', $p) or die "symlink: $!"; $p } 1 .. 500;
	my $fresh = start_hub();
	my $k = run('kitchen', '-n', 'many-files', (map { ('-r', $_) } @paths),
		    '-H', "127.0.0.1:$fresh->{in}", { timeout => 120 });
	is($k->{status}, 0, 'a kitchen reading 500 files with long names publishes');
	unlike($k->{err}, qr/gave up|closed the connection|lost the connection/, 'without trouble')
		or diag($k->{err});
	stop($fresh->{pid});
	like(hub_log($fresh), qr/kitchen \S+ joined/, 'it joined');
	unlike(hub_log($fresh), qr/hello larger than --max-hello/, 'its hello was not refused');
}

# ---- counted -----------------------------------------------------------------------------------
$st = hub_status($hub);
cmp_ok($st->{total_hellos_oversized}, '>=', 141, "oversized hellos are counted ($st->{total_hellos_oversized})");
cmp_ok($st->{total_hellos_invalid}, '>=', 1, 'refused filters too');
is(hub_metric($hub, 'hellos_oversized_total'), $st->{total_hellos_oversized}, '/metrics too');
kill 'TERM', $small;
reap($small, 10);
my $closes = () = (slurp("$hub->{dir}/small.err") // '') =~ /^close/mg;
is($closes, 0, 'the 1 MiB eater was never cut off by a status dumpling');
my ($hwm) = (slurp("/proc/$hub->{pid}/status") // '') =~ /^VmHWM:\s+(\d+)/m;
diag("hub peak RSS: $hwm KiB");
# Kept whole, those hellos took the hub past 400 MiB; bounded, it stays
# near 10 MiB (sanitizer builds hold freed memory a while, hence the room).
cmp_ok($hwm, '<', 128 * 1024, 'the hub\'s memory stayed bounded (peak RSS under 128 MiB)');
is(stop($hub->{pid}, 'TERM') >> 8, 0, 'the hub shuts down cleanly');

# ---- --max-connections ------------------------------------------------------------------------
my $few = start_hub('--max-connections', 4, '--hello-timeout', 30, '--status-freq', 0.3);
my @held = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $few->{in}, Proto => 'tcp') } 1 .. 4;
is(scalar(grep { $_ } @held), 4, 'four connections are open');
# lws accepts in the order the kernel queued them: these four, then this one.
my $extra = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $few->{in}, Proto => 'tcp');
$extra->timeout(10) if $extra;
my $got = $extra ? sysread($extra, my $buf, 1) : undef;
is($got, 0, 'a fifth is closed at once');
close $_ for splice @held, 0, 2;
ok(wait_for(sub { hub_log($few) =~ /refused a connection from 127\.0\.0\.1:\d+/ }, 10),
   'the refusal is logged');
my $st2;
ok(wait_for(sub { $st2 = hub_status($few); $st2 }, 20), 'once two have gone, an eater gets in');
cmp_ok($st2->{total_connections_refused}, '>=', 1, 'the refusal is counted');
is($st2->{connections_capacity}, 4, 'and the bound shown');
close $_ for @held;
is(stop($few->{pid}, 'TERM') >> 8, 0, 'that hub shuts down cleanly too');
# ---- CONNECT -----------------------------------------------------------------------------------
# lws makes a CONNECT request a raw socket that no timeout bounds: were
# they kept, a few would fill --max-connections for ever. The bound is
# left room, so that a socket the hub is still closing is not refused for
# it, which would be counted as a refused connection instead.
my $two = start_hub('--max-connections', 8, '--status-freq', 0.3);
for my $port (qw(in out)) {
	my @raw = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $two->{$port},
					      Proto => 'tcp', Timeout => 5) } 1 .. 2;
	print $_ "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" for @raw;
	# what the hub said within 20 s: 0 is end of file, undef nothing
	my @got = map { IO::Select->new($_)->can_read(20) ? sysread($_, my $b, 1) : undef } @raw;
	is_deeply(\@got, [0, 0], "CONNECT on the $port port: closed at once");
	close $_ for @raw;
}
$st2 = undef;
ok(wait_for(sub { $st2 = hub_status($two); $st2 }, 20), 'an eater still gets in');
is($st2->{total_requests_refused}, 4, 'each CONNECT is counted');
is(hub_metric($two, 'requests_refused_total'), 4, '/metrics too');

# ---- upgrades RFC 6455 says a server must refuse -------------------------------------------
# lws would upgrade them all; the hub answers as the RFC says, and counts.
sub upgrade {
	my ($port, $method, $key, $version) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
				      Timeout => 5) or return '';
	print $s "$method / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		. ($key ? "Sec-WebSocket-Key: $key\r\n" : '')
		. (defined $version ? "Sec-WebSocket-Version: $version\r\n" : '')
		. ($method eq 'POST' ? "Content-Length: 0\r\n" : '') . "\r\n";
	my $got = '';
	while (IO::Select->new($s)->can_read(10)) {
		last unless sysread($s, my $b, 4096);
		$got .= $b;
		last if $got =~ /\r\n\r\n/;
	}
	close $s;
	return $got;
}
my $key = 'dGhlIHNhbXBsZSBub25jZQ==';
my @flawed = (
	['GET', $key, '8', qr{^HTTP/1.1 426 .*\r\nsec-websocket-version: 13\r\n}si, 'version 8: 426, naming 13'],
	['GET', $key, 'abc', qr{^HTTP/1.1 426 }, 'version abc: 426'],
	['GET', $key, undef, qr{^HTTP/1.1 426 }, 'no version: 426'],
	['GET', 'abc', '13', qr{^HTTP/1.1 400 }, 'a 3-byte key: 400'],
	['GET', 'dGhlIHNhbXBsZSBub25jZQ=!', '13', qr{^HTTP/1.1 400 }, 'a key not in base64: 400'],
	['GET', undef, '13', qr{^HTTP/1.1 400 }, 'no key: 400'],
	['POST', $key, '13', qr{^HTTP/1.1 400 }, 'POST: 400'],
);
for my $port (qw(in out)) {
	like(upgrade($two->{$port}, @$_[0 .. 2]), $_->[3], "on the $port port, $_->[4]") for @flawed;
	like(upgrade($two->{$port}, 'GET', $key, '13'), qr{^HTTP/1.1 101 }, "... and a sound upgrade: 101");
}
my $refused = 4 + 2 * @flawed;
ok(wait_for(sub { (hub_metric($two, 'requests_refused_total') // 0) == $refused }, 10),
   "each refused upgrade is counted ($refused in all)");
like(hub_log($two), qr/refused a kitchen from 127\.0\.0\.1:\d+ with 426: its Sec-WebSocket-Version is not 13/,
     'and said, naming the flaw');
is(stop($two->{pid}, 'TERM') >> 8, 0, 'and that hub shuts down cleanly');

done_testing;
