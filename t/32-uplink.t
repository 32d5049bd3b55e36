#!/usr/bin/perl
# The whole pipeline: dumplings kitchen reading captures -> hub -> eaters.
# Every dumpling reaches every eater exactly once, in order per kitchen;
# reading files is lossless however much there is; the kitchen rides out a
# hub restart; a missing hub does not hang the kitchen.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;

need_corpus();
use HubTest;

need(pyok(), 'python3-websockets is not installed');
my $cap = pcap('wikipedia.pcap');
need(-r $cap, "no capture $cap");

my $dir = tmpdir();
my $j = JSON::PP->new->canonical;

sub key { my ($d) = @_; return $d->{metadata}{chef} . ' ' . $j->encode($d->{payload}) }
sub packet_dumplings { grep { $_->{metadata}{driver} eq 'packet' } decode_lines($_[0]) }

# What the kitchen makes, straight to standard output.
my $r = run('kitchen', '-r', $cap, '--stdout');
is($r->{status}, 0, 'kitchen --stdout runs');
my @expect = map { key($_) } packet_dumplings($r->{out});
my $n = @expect;
ok($n > 10, "the capture yields $n packet dumplings");

# ---- one kitchen, three eaters ----------------------------------------------------

my $hub = start_hub('--status-freq', '0.5');
my @eaters;
for my $i (0, 1) {
	my $out = "$dir/eat$i.out";
	push @eaters, { out => $out, pid => spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}",
		'--json', '--no-interval', '--count', $n], out => $out) };
}
my $pyout = "$dir/py.out";
push @eaters, { out => $pyout, pid => spawn(py_cmd('eater_client.py', '--port', $hub->{out},
	'--hello', '{"drivers": ["packet"]}', '--count', $n), out => $pyout) };
ok(joined($hub, 'eater', 3), 'three eaters joined');
$r = run('kitchen', '-r', $cap, '-H', "127.0.0.1:$hub->{in}");
is($r->{status}, 0, 'kitchen -H exits 0');
unlike($r->{err}, qr/uplink.*dropped/, 'the uplink dropped nothing');
for my $e (@eaters) {
	is(reap($e->{pid}, 30), 0, 'eater finished');
	my @got = map { key($_) } packet_dumplings(slurp($e->{out}));
	is_deeply(\@got, \@expect, 'every dumpling arrived exactly once, in order');
}

# ---- two kitchens at once: order is kept per kitchen ---------------------------------

my $times = 20;
my $eout = "$dir/two.out";
my $epid = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '--no-interval',
		  '--count', 2 * $times * $n], out => $eout);
ok(joined($hub, 'eater', 4), 'eater joined');
my @kp = map { spawn([bin(), 'kitchen', '-n', "k$_", ('-r', $cap) x $times,
		      '-H', "127.0.0.1:$hub->{in}"], err => "$dir/k$_.err") } 1, 2;
is(reap($_, 60), 0, 'kitchen finished') for @kp;
is(reap($epid, 60), 0, 'eater got them all');
my @two = packet_dumplings(slurp($eout));
for my $k ('k1', 'k2') {
	my @got = map { key($_) } grep { $_->{metadata}{kitchen} eq $k } @two;
	is_deeply(\@got, [(@expect) x $times], "kitchen $k: all of its dumplings, in its order");
}

# ---- more than the uplink buffer holds, still lossless ---------------------------------

$times = 300;
$eout = "$dir/many.out";
$epid = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '--no-interval',
	       '--count', $times * $n], out => $eout);
ok(joined($hub, 'eater', 5), 'eater joined');
$r = run('kitchen', ('-r', $cap) x $times, '-H', "127.0.0.1:$hub->{in}", { timeout => 120 });
is($r->{status}, 0, "kitchen sent ${\($times * $n)} dumplings");
is(reap($epid, 60), 0, 'eater got them all');
my @many = packet_dumplings(slurp($eout));
is(scalar @many, $times * $n, 'reading files loses nothing');
is(key($many[-1]), $expect[-1], 'the last one last');
is(stop($hub->{pid}), 0, 'hub exits 0');

# ---- the hub killed and restarted mid-stream ---------------------------------------------

{
	my $h1 = start_hub('--status-freq', '0.5');
	my $out = "$dir/restart.out";
	my $ep = spawn([bin(), 'eat', '-H', "127.0.0.1:$h1->{out}", '--json', '--no-interval', '--retry'],
		       out => $out, err => "$out.err");
	ok(joined($h1, 'eater', 1), 'eater joined');
	my $kp = spawn([bin(), 'kitchen', ('-r', $cap) x 3000, '-H', "127.0.0.1:$h1->{in}"],
		       err => "$dir/restart.kitchen");
	ok(wait_for(sub { (-s $out // 0) > 0 }, 30), 'dumplings flow');
	stop($h1->{pid}, 'KILL');
	my $before = () = (slurp($out) // '') =~ /\n/g;
	my $h2pid = spawn([bin(), 'hub', '-a', '127.0.0.1', '--in-port', $h1->{in},
			   '--out-port', $h1->{out}], err => "$dir/hub2.err");
	is(reap($kp, 120), 0, 'the kitchen finished after the restart');
	my $klog = slurp("$dir/restart.kitchen");
	like($klog, qr/lost the connection to hub/, 'the kitchen noticed the hub going');
	like($klog, qr/connected to hub \S+ again/, 'and reconnected');
	ok(wait_for(sub { my $c = () = (slurp($out) // '') =~ /\n/g; $c > $before }, 30),
	   'dumplings flow again through the new hub');
	is(stop($h2pid), 0, 'the new hub exits 0');
	is(stop($ep), 0, 'a retrying eater exits 0 on SIGTERM');
}

# ---- no hub at all --------------------------------------------------------------------------

my $nobody = free_port();
$r = run('kitchen', '-r', $cap, '-H', "127.0.0.1:$nobody", { timeout => 60 });
isnt($r->{signal}, 9, 'a kitchen with no hub does not hang');
like($r->{err}, qr/cannot reach hub 127\.0\.0\.1:$nobody/, 'it says it cannot reach the hub');
like($r->{err}, qr/gave up with \d+ dumplings unsent/, 'and what it could not send');
is($r->{status}, 1, 'reading files, dumplings left unsent are a failure: exit 1');

# ---- no hub, more dumplings than the uplink holds, and SIGTERM ---------------------------
# Reading files, a kitchen waits for room rather than drop; told to stop,
# it stops waiting.
{
	my $err = "$dir/stuck.kitchen";
	my $kp = spawn([bin(), 'kitchen', '-c', 'dns', ('-r', $cap) x 1000, '-H', "127.0.0.1:$nobody"],
		       err => $err);
	ok(wait_for(sub { (slurp($err) // '') =~ /cannot reach hub/ }, 30),
	   'a kitchen with 38,000 DNS dumplings (the uplink holds 16,384) for a hub that is not there waits');
	sleep 1;
	my $st = stop($kp);
	is($st & 127, 0, 'SIGTERM stops it (it was not killed)');
	like(slurp($err) // '', qr/gave up with \d+ dumplings unsent|\d+ dropped/,
	     'and it says what it could not send');
}

# ---- the hello follows the chefs ----------------------------------------------------------
# A chef added to a --chef-dir changes what the kitchen says it runs: the
# hub hears a new hello, in line with the dumplings.
{
	my $port = free_port();
	my $fout = "$dir/describe.fake";
	my $chefs = "$dir/chefdir";
	mkdir $chefs or die "mkdir: $!";
	spew("$chefs/one.lua", "local c = { name = 'OneChef' } function c:packet_handler() end return c\n");
	my $fpid = spawn(py_cmd('fake_hub.py', '--port', $port, '--print-all', '--timeout', 60), out => $fout);
	ok(wait_for_port($port), 'a stand-in hub listens');
	my $kerr = "$dir/describe.kitchen";
	my $kp = spawn([bin(), 'kitchen', '-f', '', '-r', root() . '/examples/sample.pcap', '--speed', '0.05',
			'--chef-dir', $chefs, '-H', "127.0.0.1:$port"], err => $kerr);
	ok(wait_for(sub { (slurp($fout) // '') =~ /^hello .*"OneChef"/m }, 20), 'the first hello names the first chef');
	ok(wait_for(sub { (slurp($kerr) // '') =~ /reloading chefs when/ }, 20), 'the kitchen follows its chef directory');
	spew("$chefs/two.lua.tmp", "local c = { name = 'TwoChef' } function c:packet_handler() end return c\n");
	rename "$chefs/two.lua.tmp", "$chefs/two.lua" or die "rename: $!";
	ok(wait_for(sub { (slurp($fout) // '') =~ /^msg \{"kitchen_name".*"chefs":\["OneChef","TwoChef"\]/m }, 20),
	   'a chef added: the hub is told the new set of chefs');
	stop($kp);
	stop($fpid);
}

done_testing();
