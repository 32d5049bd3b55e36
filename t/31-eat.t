#!/usr/bin/perl
# dumplings eat: the command line, every mode, filters in the hello, close
# codes, a hub that is not there, and terminal safety. Most of it runs
# against a stand-in hub written with python3-websockets (t/py/fake_hub.py),
# so what the eater receives and how it closes can be checked exactly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'python3-websockets is not installed');

my $dir = tmpdir();
my $j = JSON::PP->new->canonical->utf8;

# ---- command line ---------------------------------------------------------

my $r = run('eat', '--help');
is($r->{status}, 0, 'eat --help exits 0');
like($r->{out}, qr/^usage: dumplings eat \[--print \| --json/, 'eat --help starts with the synopsis');
for my $bad (['--count', '0'], ['--count', 'many'], ['--color', 'sometimes'],
	     ['--json', '--status'], ['--no-interval', '--no-packet'], ['-H', 'host:0'],
	     ['--bogus'], ['-c'], ['--status', '-c', 'X'], ['extra']) {
	my $r = run('eat', @$bad);
	is($r->{status}, 2, "eat @$bad exits 2");
	my @lines = split /\n/, $r->{err};
	like($lines[0], qr/^dumplings eat: .*\S/, "eat @$bad: one line naming the problem");
	like($r->{err}, qr/^usage: dumplings eat/m, "eat @$bad: usage follows");
}

# ---- no hub ------------------------------------------------------------------

my $nobody = free_port();
$r = run('eat', '-H', "127.0.0.1:$nobody", { timeout => 20 });
is($r->{status}, 1, 'no hub: exit 1');
like($r->{err}, qr/cannot connect to hub at 127\.0\.0\.1:$nobody/, 'no hub: a clear error');

# ---- a stand-in hub -------------------------------------------------------------

sub dumpling {
	my ($chef, $kitchen, $driver, $payload) = @_;
	return $j->encode({ metadata => { chef => $chef, kitchen => $kitchen,
		creation_time => 1515990765.925951, driver => $driver }, payload => $payload });
}

# fake(\@eat_args, \@lines, close => CODE, env => {...}) runs an eater against a
# fake hub sending those lines; returns (eat result, fake hub output).
sub fake {
	my ($args, $lines, %o) = @_;
	my $port = free_port();
	my $file = "$dir/lines.$port";
	spew($file, join '', map { "$_\n" } @$lines);
	my $fout = "$dir/fake.$port";
	my $fpid = spawn(py_cmd('fake_hub.py', '--port', $port, '--file', $file,
				$o{close} ? ('--close', $o{close}) : ()), out => $fout);
	wait_for_port($port) or die 'fake hub did not start';
	local %ENV = (%ENV, %{ $o{env} // {} });
	my $r = run('eat', '-H', "127.0.0.1:$port", @$args, { timeout => 30 });
	reap($fpid, 20);
	return ($r, slurp($fout) // '');
}

my @three = (dumpling('DNSLookupChef', 'default_kitchen', 'packet', { lookup => { hostname => 'example.com' } }),
	     dumpling('PacketCountChef', 'other', 'interval', { packet_counts => { UDP => 3 } }),
	     dumpling('DNSLookupChef', 'other', 'packet', 'just a string'));

# --json and --count: every line is the message as sent; 4102 on the way out.
my ($er, $fo) = fake(['--json', '--count', 3, '-n', 'tester'], \@three);
is($er->{status}, 0, '--json --count 3 exits 0');
is($er->{out}, join('', map { "$_\n" } @three), '--json writes each dumpling on its own line, as received');
like($fo, qr/^close 4102$/m, '--count closes with 4102');
my ($hello) = $fo =~ /^hello (.*)$/m;
is_deeply(JSON::PP->new->decode($hello), { eater_name => 'tester', notices => JSON::PP::true },
	  'the hello names the eater, and asks to be told what the hub skips');

# Filters go in the hello, and are applied here too (this hub ignores them).
($er, $fo) = fake(['--json', '-c', 'DNSLookupChef', '-k', 'other', '--no-interval', '--count', 1], \@three);
($hello) = $fo =~ /^hello (.*)$/m;
is_deeply(JSON::PP->new->decode($hello), { eater_name => 'dumplings_eat', chefs => ['DNSLookupChef'],
	kitchens => ['other'], drivers => ['packet'], notices => JSON::PP::true },
	'filters are sent in the hello');
is($er->{out}, "$three[2]\n", 'filters are applied by the eater too');
($er) = fake(['--json', '--no-packet', '--count', 1], \@three);
is($er->{out}, "$three[1]\n", '--no-packet keeps interval dumplings only');

# --print, like nd-print.
($er) = fake(['--count', 3], \@three);
is($er->{status}, 0, '--print exits 0');
my @blocks = split /\n\n/, $er->{out};
is(scalar @blocks, 3, 'three printed dumplings');
like($blocks[0], qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} \[packet  \] DNSLookupChef from default_kitchen\n/,
     'header: time, driver, chef, kitchen');
like($blocks[1], qr/ \[interval\] PacketCountChef from other\n/, 'interval header');
like($blocks[0], qr/\n\{\n    "lookup": \{\n        "hostname": "example.com"\n    \}\n\}\z/,
     'payload pretty-printed with four-space indents');
like($blocks[2], qr/\n"just a string"\z/, 'a string payload');
unlike($er->{out}, qr/\e/, 'no color when not on a terminal');
($er) = fake(['--count', 3, '--no-payload'], \@three);
is(scalar(() = $er->{out} =~ /^\d{4}-/mg), 3, '--no-payload prints headers');
unlike($er->{out}, qr/hostname/, '--no-payload leaves the payload out');
($er) = fake(['--count', 1, '--color', 'always'], \@three, env => { NO_COLOR => '1' });
like($er->{out}, qr/\e\[/, '--color always colors');
($er) = fake(['--count', 1, '--color', 'auto'], \@three, env => { NO_COLOR => '1' });
unlike($er->{out}, qr/\e/, '--color auto honours NO_COLOR');

# Terminal safety: nothing from the wire reaches the terminal raw.
my $evil = $j->encode({ metadata => { chef => "Evil\e]0;pwned\a", kitchen => "k\r\n\x{9b}2J",
	driver => "packet\e[2J", creation_time => 1.5 },
	payload => { "key\e[31m" => "red\e[0m\x7f\x{9b}31m", list => ["\x{85}", "ok \x{263a}"] } });
($er) = fake(['--count', 1, '--color', 'never'], [$evil]);
is($er->{status}, 0, 'hostile strings are printed');
my $out = $er->{out};
unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no raw control characters (only newlines)');
unlike($out, qr/\xc2[\x80-\x9f]/, 'no raw C1 control characters');
like($out, qr/Evil\\u001b\]0;pwned\\u0007/, 'escapes in the chef name are shown, not obeyed');
like($out, qr/k\\u000d\\u000a\\u009b2J/, 'CR, LF and CSI in the kitchen name are escaped');
like($out, qr/\\u007f/, 'DEL is escaped');
like($out, qr/ok \xe2\x98\xba/, 'printable UTF-8 stays as it is');

# Numbers from the wire out of any sensible range are shown, not trusted.
my $odd = $j->encode({ metadata => { chef => 'OddChef', kitchen => 'k', driver => 'packet',
	creation_time => 1e300 }, payload => -1e300 });
my $oddst = dumpling('SystemStatusChef', undef, 'interval', { server_uptime => -1e300,
	total_dumplings_in => 1e300 });
($er) = fake(['--count', 1], [$odd]);
is($er->{status}, 0, 'an absurd creation_time is survived');
like($er->{out}, qr/ OddChef from k\n-1e\+300\n/, 'and the dumpling printed');
($er) = fake(['--status', '--count', 1], [$oddst]);
like($er->{out}, qr/^uptime 0:00:00 \| in 1e\+300/, 'an absurd uptime is survived');

# --status: one line per status dumpling when not on a terminal.
my $status = dumpling('SystemStatusChef', undef, 'interval', { total_dumplings_in => 10,
	total_dumplings_out => 20, server_uptime => 3725.5, dumpling_kitchen_count => 1,
	dumpling_eater_count => 2, dumpling_kitchens => [], dumpling_eaters => [] });
($er, $fo) = fake(['--status', '--count', 2], [$three[0], $status, $status]);
is($er->{out}, "uptime 1:02:05 | in 10 | out 20 | kitchens 1 | eaters 2 | dropped 0 | invalid 0\n" x 2,
   '--status prints the hub status line');
like($fo, qr/"chefs":\["SystemStatusChef"\]/, '--status asks for status dumplings only');

# --details: one status dumpling, pretty, then exit.
($er, $fo) = fake(['--details'], [$three[0], $status, $status]);
is($er->{status}, 0, '--details exits 0');
is_deeply(JSON::PP->new->decode($er->{out}), $j->decode($status), '--details prints the status dumpling');
like($er->{out}, qr/^    "payload": \{$/m, '--details pretty-prints');
like($fo, qr/^close 4102$/m, '--details closes with 4102');

# The hub going away: 1001 is a normal end, other codes are not.
($er, $fo) = fake(['--json'], \@three, close => 1001);
is($er->{status}, 0, 'hub closing with 1001: exit 0');
is(scalar(() = $er->{out} =~ /\n/g), 3, 'everything before the close was eaten');
like($er->{err}, qr/closed the connection \(close code 1001: fake hub closing\)/, 'the close is reported');
($er) = fake(['--json'], \@three, close => 1011);
is($er->{status}, 1, 'hub closing with 1011: exit 1');

# Messages that are not dumplings are counted and skipped.
($er) = fake(['--json', '--count', 1], ['not json', '[1]', '{"metadata": {}}', $three[0]]);
is($er->{out}, "$three[0]\n", 'messages that are not dumplings are skipped');
like($er->{err}, qr/not a dumpling/, 'and reported');

# ---- --lua ---------------------------------------------------------------------

my $lua = "$dir/eater.lua";
spew($lua, <<'LUA');
local n = 0
function on_connect() print("connected") end
function on_dumpling(d)
  n = n + 1
  if n == 2 then error("boom on the second") end
  print(n, d.metadata.chef, d.metadata.kitchen, type(d.payload))
end
function on_connection_lost() print("lost after " .. n) end
LUA
($er) = fake(['--lua', $lua], \@three, close => 1001);
is($er->{status}, 0, '--lua exits 0 when the hub says goodbye');
is($er->{out}, "connected\n1\tDNSLookupChef\tdefault_kitchen\ttable\n3\tDNSLookupChef\tother\tstring\nlost after 3\n",
   'on_connect, on_dumpling with a decoded table, on_connection_lost');
like($er->{err}, qr/boom on the second/, 'an error in the script is reported');
($er) = fake(['--lua', root() . '/examples/eater.lua', '--count', 3], \@three);
is($er->{status}, 0, 'examples/eater.lua runs');
like($er->{out}, qr/DNSLookupChef from other \(2 so far\)/, 'examples/eater.lua counts per chef');
spew("$dir/broken.lua", "this is not lua");
$r = run('eat', '--lua', "$dir/broken.lua", '-H', "127.0.0.1:$nobody");
is($r->{status}, 1, 'a script that does not load: exit 1');
like($r->{err}, qr/broken\.lua/, 'and the error names it');

# ---- interrupting, and --retry -----------------------------------------------------

{
	my $port = free_port();
	my $fout = "$dir/sigint.fake";
	my $fpid = spawn(py_cmd('fake_hub.py', '--port', $port), out => $fout);
	wait_for_port($port);
	my $epid = spawn([bin(), 'eat', '-H', "127.0.0.1:$port", '--json']);
	ok(wait_for(sub { (slurp($fout) // '') =~ /^hello/m }), 'eater connected');
	is(stop($epid, 'INT'), 0, 'SIGINT: exit 0');
	reap($fpid, 20);
	like(slurp($fout), qr/^close 4101$/m, 'SIGINT closes with 4101');
}
{
	my $hub_port = free_port();
	my $epid = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub_port", '--json', '--retry', '--count', 1],
			 out => "$dir/retry.out", err => "$dir/retry.err");
	ok(wait_for(sub { (slurp("$dir/retry.err") // '') =~ /retrying/ }), '--retry: waits for the hub');
	my $fpid = spawn(py_cmd('fake_hub.py', '--port', $hub_port, '--file', do {
		spew("$dir/one", "$three[0]\n"); "$dir/one" }), out => "$dir/retry.fake");
	is(reap($epid, 30), 0, '--retry: connects once the hub is there');
	is(slurp("$dir/retry.out"), "$three[0]\n", '--retry: and eats');
	reap($fpid, 20);
}

# Losses: gaps in a kitchen run's sequence numbers are dumplings missed; a
# run seen first mid-way, or a new run (a restart), is not a gap.
sub numbered {
	my ($kitchen, $run, $seq) = @_;
	return $j->encode({ metadata => { chef => 'DNSLookupChef', kitchen => $kitchen, driver => 'packet',
		creation_time => 1515990765.9, run => $run, seq => $seq }, payload => { n => $seq } });
}
my @gappy = ((map { numbered('k1', 'aaaaaaaaaaaaaaaa', $_) } 40, 41, 42, 45, 46, 50),
	     (map { numbered('k2', 'bbbbbbbbbbbbbbbb', $_) } 1, 2, 3),
	     (map { numbered('k1', 'cccccccccccccccc', $_) } 1, 2));
($er, $fo) = fake(['--json', '--count', scalar @gappy], \@gappy);
is($er->{status}, 1, '--count: an eater that missed dumplings exits 1');
like($er->{err}, qr/lost 5: 0 skipped by the hub because this eater was slow, 5 lost before the hub \(3 kitchen runs\)/,
     'it says how many it missed, and where');

# The hub's notice says which gaps are its doing; what was seen already
# (sent again after a broken connection) is dropped, not shown twice.
my $notice = $j->encode({ notice => 'skipped', count => 4, numbered => 3 });
my @told = ((map { numbered('k1', 'dddddddddddddddd', $_) } 1, 2), $notice,
	    (map { numbered('k1', 'dddddddddddddddd', $_) } 6, 7, 6, 7, 8, 10));
($er, $fo) = fake(['--json', '--count', 6], \@told);
is($er->{status}, 1, '--count: missed dumplings the hub skipped fail the run too');
is($er->{out}, join('', map { "$_\n" } @told[0, 1, 3, 4, 7, 8]), 'repeats are dropped, the notice is not shown');
like($er->{err}, qr/lost 5: 4 skipped by the hub because this eater was slow, 1 lost before the hub/,
     'skipped and lost before the hub are told apart');
like($er->{err}, qr/ignored 2 dumplings sent again/, 'the repeats are counted');
($er, $fo) = fake(['--json', '--count', 1, '--lossless'], [$told[0]]);
($hello) = $fo =~ /^hello (.*)$/m;
ok(JSON::PP->new->decode($hello)->{lossless}, '--lossless says so in the hello');
my @whole = map { numbered('k2', 'bbbbbbbbbbbbbbbb', $_) } 7 .. 9;
($er, $fo) = fake(['--json', '--count', 3], \@whole);
is($er->{status}, 0, 'an eater that missed nothing exits 0');
like($er->{err}, qr/lost no dumplings of 1 kitchen run/, 'and says so');
($er, $fo) = fake(['--json', '--count', scalar @gappy, '-c', 'DNSLookupChef'], \@gappy);
is($er->{status}, 0, 'filtered by chef, the gaps are the filter\'s: not counted');

done_testing();
