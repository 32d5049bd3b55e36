#!/usr/bin/perl
# The hub's books: per kitchen run, the last seq received and the dumplings
# missing before it, kept by kitchen name across reconnects, in the status
# dumpling and /metrics; what came while no eater was there; and a
# kitchen's second hello (its chefs changed) taken as a hello.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;
use IO::Socket::INET;
use JSON::PP;

need(pyok(), 'python3-websockets is not installed');

my $j = JSON::PP->new->canonical;
my $hub = start_hub('--status-freq', '0.2');
my $dir = $hub->{dir};

sub numbered {
	my ($run, $seq) = @_;
	return $j->encode({ metadata => { chef => 'SeqChef', kitchen => 'seqk', driver => 'packet',
		creation_time => 1.5, run => $run, seq => $seq }, payload => $seq });
}

sub send_lines {
	my ($tag, @lines) = @_;
	spew("$dir/$tag.lines", join '', map { "$_\n" } @lines);
	my $r = py('kitchen_client.py', '--port', $hub->{in}, '--name', 'seqk', '--raw', "$dir/$tag.lines",
		   '--hold', 0.5);
	return $r;
}

sub metrics {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hub->{out}, Proto => 'tcp')
		or die "connect: $!";
	print $s "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:$hub->{out}\r\nConnection: close\r\n\r\n";
	local $/;
	my $raw = <$s> // '';
	return (split /\r\n\r\n/, $raw, 2)[1] // '';
}

# One run, with gaps; then the same run again on a new connection (what
# was lost in between is a gap too); then a new run, first heard mid-way.
send_lines('first', map { numbered('1111111111111111', $_) } 1, 2, 3, 6, 7);
send_lines('again', map { numbered('1111111111111111', $_) } 8, 10);
send_lines('restart', map { numbered('2222222222222222', $_) } 100, 101);

my $st = hub_status($hub);
is($st->{total_dumplings_lost_upstream}, 3, 'the hub counts the dumplings missing before it');
my ($r1) = grep { $_->{run} eq '1111111111111111' } @{ $st->{kitchen_runs} };
is($r1->{kitchen}, 'seqk', 'per kitchen run: its kitchen');
is($r1->{last_seq}, 10, '... the last seq received');
is($r1->{lost}, 3, '... and what it lost, across a reconnect');
my ($r2) = grep { $_->{run} eq '2222222222222222' } @{ $st->{kitchen_runs} };
is($r2->{lost}, 0, 'a run first heard of mid-way has lost nothing the hub can know of');
is($st->{total_dumplings_undelivered}, 9, 'dumplings that came while no eater was there are counted');

my $m = metrics();
like($m, qr/^dumplings_hub_kitchen_dumplings_lost_total\{kitchen="seqk"\} 3$/m,
     '/metrics: losses per kitchen name, over its runs');
like($m, qr/^dumplings_hub_kitchen_last_seq\{kitchen="seqk"\} 101$/m, '/metrics: the last seq of its latest run');
like($m, qr/^dumplings_hub_dumplings_lost_upstream_total 3$/m, '/metrics: the total');

# Many runs: every eater is sent those heard from last, within a budget,
# and how many more there are; an eater that asks for details, all.
send_lines('many', map { numbered(sprintf('r%015d', $_), 1) } 1 .. 300);
$st = hub_status($hub);
my $listed = @{ $st->{kitchen_runs} };
ok($listed > 10 && $listed < 302, "the status lists some of the 302 runs ($listed)");
is($st->{kitchen_runs_unlisted}, 302 - $listed, 'and counts the others');
is($st->{kitchen_runs}[0]{run}, sprintf('r%015d', 300), 'the run heard from last comes first');
my $d = py('eater_client.py', '--port', $hub->{out}, '--name', 'details-probe',
	   '--hello', '{"chefs": ["SystemStatusChef"], "details": true}', '--count', 1, '--timeout', 20);
my ($detailed) = map { $j->decode($_)->{payload} } grep { /^\{/ } split /\n/, $d->{out};
is(scalar @{ $detailed->{kitchen_runs} // [] }, 302, 'an eater that asks for details gets them all');

# A second hello: the kitchen's chefs changed.
my $hello2 = $j->encode({ kitchen_name => 'seqk', interface => 'pytest', filter => '',
			  chefs => ['PyChef', 'NewChef'], poke_interval => 5 });
spew("$dir/hello.lines", "$hello2\n");
my $kp = spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--name', 'seqk',
		      '--raw', "$dir/hello.lines", '--hold', 10));
my $chefs;
wait_for(sub {
	my $s = hub_status($hub);
	($chefs) = map { $_->{info_from_kitchen}{chefs} } @{ $s->{dumpling_kitchens} // [] };
	$chefs && grep { $_ eq 'NewChef' } @$chefs;
}, 20);
is_deeply($chefs, ['PyChef', 'NewChef'], 'a second hello replaces what the hub knows of the kitchen');
$st = hub_status($hub);
is($st->{total_dumplings_invalid}, 0, 'and is not counted as an invalid dumpling');
stop($kp);
stop($hub->{pid});

done_testing;
