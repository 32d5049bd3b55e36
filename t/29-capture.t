#!/usr/bin/perl
# dumplings.capture: tshark reads back exactly the packets a capture should
# hold (the flow's, the host's or the one packet's, from the trigger less
# before to the trigger plus after, as far back as --lookback reaches),
# byte for byte; file names are safe; --capture-max keeps the files within
# bounds, deleting the oldest, and the health report counts it all.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

need_tshark();

my $dir = tmpdir();
my $chef = root() . '/t/chefs/capture.lua';
my $t0 = 1_000_000_000;

# [frame, time in seconds] each, written with microsecond stamps
sub write_timed {
	my ($path, @pkts) = @_;
	write_pcap_us($path, map { [$_->[0], int($_->[1] * 1e6 + 0.5)] } @pkts);
}

# Flow A (10.0.0.1:1000 -> 10.0.0.2:80) every 5 s, its packet 10 ("GO")
# the trigger at t0 + 50.25; flow B (10.0.0.9) in between; flow C, from
# A's host to another, too.
my @pkts;
for my $k (0 .. 20) {
	my $t = $t0 + 5 * $k + 0.25;
	my $load = $k == 10 ? 'GO' : "A$k" . ('x' x $k);
	push @pkts, { t => $t, flow => 'A', host => '10.0.0.1', load => $load,
		      frame => ether(0x0800, ipv4(6, tcp(1000, 80, 0x18, $load),
						  { src => '10.0.0.1', dst => '10.0.0.2' })) };
	push @pkts, { t => $t + 2, flow => 'B', host => '10.0.0.9', load => "B$k",
		      frame => ether(0x0800, ipv4(6, tcp(2000, 80, 0x18, "B$k"),
						  { src => '10.0.0.9', dst => '10.0.0.2' })) };
	push @pkts, { t => $t + 3, flow => 'C', host => '10.0.0.1', load => "C$k",
		      frame => ether(0x0800, ipv4(17, udp(1001, 53, "C$k"),
						  { src => '10.0.0.1', dst => '10.0.0.3' })) };
}
our $cap = "$dir/flows.pcap";
write_timed($cap, map { [$_->{frame}, $_->{t}] } @pkts);
my $trigger = $t0 + 50.25;

# Runs the kitchen; returns (the dumplings, stderr, the capture files).
sub kitchen {
	my ($out, $args, @opts) = @_;
	mkdir $out;
	my $r = run('kitchen', '-r', $cap, '-c', "$chef:$args", '--stdout',
		    '--status-interval', '1000', '--capture-dir', $out, @opts);
	is($r->{status}, 0, "kitchen $args @opts exits 0") or diag($r->{err});
	my @d = decode_lines($r->{out});
	opendir my $dh, $out or die "$out: $!";
	my @files = sort grep { !/^\./ } readdir $dh;
	return (\@d, $r->{err}, \@files);
}

sub read_back {
	my ($path) = @_;
	my $r = run([qw(tshark -r), $path, qw(-T fields -E separator=/t -e frame.time_epoch
		     -e frame.len -e frame.cap_len -e ip.src -e tcp.payload -e udp.payload)]);
	is($r->{status}, 0, "tshark reads $path") or diag($r->{err});
	my @rows;
	for (split /\n/, $r->{out}) {
		my ($t, $len, $caplen, $src, $tp, $up) = split /\t/;
		push @rows, sprintf('%.6f %d %d %s %s', $t, $len, $caplen, $src,
				    pack('H*', ($tp || $up // '') =~ s/://gr));
	}
	return \@rows;
}

sub expect {
	my ($want, $from, $to) = @_;
	return [map { sprintf('%.6f %d %d %s %s', $_->{t}, length $_->{frame}, length $_->{frame},
			      $_->{host} eq '10.0.0.1' ? '10.0.0.1' : '10.0.0.9', $_->{load}) }
		grep { $want->($_) && $_->{t} >= $from - 1e-7 && $_->{t} <= $to + 1e-7 } @pkts];
}

sub health { (grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } @{ $_[0] })[-1]{payload} }

sub one_capture {
	my ($label, $args, $want, $from, $to, @opts) = @_;
	my $out = "$dir/$label";
	my ($d, $err, $files) = kitchen($out, $args, @opts);
	my ($dumpling) = grep { $_->{metadata}{chef} eq 'CaptureChef' } @$d;
	is(scalar @$files, 1, "$label: one file");
	is($dumpling->{payload}{pcap}, $files->[0], "$label: capture returned the file's name");
	my $rows = read_back("$out/$files->[0]");
	my $exp = expect($want, $from, $to);
	is_deeply($rows, $exp, "$label: exactly the packets from " . ($from - $t0) . ' to '
		  . ($to - $t0) . ' (' . scalar(@$exp) . ')');
	my $h = health($d)->{captures};
	is($h->{packets}, scalar @$exp, "$label: the health report counts the packets written");
	is($h->{bytes}, -s "$out/$files->[0]", "$label: ... and the bytes on disk");
	return $err;
}

my $flow_a = sub { $_[0]{flow} eq 'A' };
one_capture('lookback', 'before=22,after=18', $flow_a, $trigger - 22, $trigger + 18,
	    '--lookback', 60);
one_capture('short-lookback', 'before=22,after=18', $flow_a, $trigger - 10, $trigger + 18,
	    '--lookback', 10);
my $err = one_capture('no-lookback', 'before=22,after=18', $flow_a, $trigger, $trigger + 18);
like($err, qr/--lookback is off/, 'without --lookback, capture says it starts now');
one_capture('defaults', 'before=-1,after=-1', $flow_a, $trigger - 30, $trigger + 60,
	    '--lookback', 3600);
one_capture('host', 'mode=host', sub { $_[0]{host} eq '10.0.0.1' }, $trigger - 22,
	    $trigger + 18, '--lookback', 60);
one_capture('packet', 'mode=packet', sub { $_[0]{load} eq 'GO' }, $trigger, $trigger,
	    '--lookback', 60);
# A ring too small for the look-back keeps the latest packets it can:
# the capture holds the end of the window, up to the trigger.
{
	my $out = "$dir/small-ring";
	my ($d, undef, $files) = kitchen($out, 'before=60,after=0', '--lookback', 60,
					 '--lookback-bytes', 0.001);
	my $rows = read_back("$out/$files->[0]");
	my $full = expect($flow_a, $trigger - 60, $trigger);
	ok(@$rows >= 1 && @$rows < @$full, 'a 1000-byte ring reaches back less far ('
	   . scalar(@$rows) . ' of ' . scalar(@$full) . ' packets)');
	is_deeply($rows, [@$full[@$full - @$rows .. $#$full]], '... and gives the latest of them');
	ok(health($d)->{captures}{lookback_bytes} <= 1000, '... holding at most 1000 bytes');
	cmp_ok(health($d)->{captures}{lookback_pushed_out}, '>', 0,
	       '... and counts the packets it let go before their time');
}

# Names: whatever the chef says, a plain file in the directory.
{
	my $out = "$dir/names";
	my ($d, undef, $files) = kitchen($out, 'name=../../x y/\'$(id)', '--lookback', 5);
	is(scalar @$files, 1, 'a hostile name makes one file');
	like($files->[0], qr/^\d{8}T\d{6}\.\d{6}Z-\d+-[A-Za-z0-9._-]+\.pcapng$/,
	     "its name is safe: $files->[0]");
	like($files->[0], qr/^20010909T014730\.250000Z-/, 'and starts with the trigger time (UTC)');
}

# Without --capture-dir: a chef error naming the option, and no crash.
{
	my $r = run('kitchen', '-r', $cap, '-c', $chef, '--stdout');
	is($r->{status}, 0, 'no --capture-dir: the kitchen carries on');
	like($r->{err}, qr/CaptureChef.*--capture-dir/, '... and the chef error names --capture-dir');
	is(scalar(grep { $_->{metadata}{chef} eq 'CaptureChef' } decode_lines($r->{out})), 0,
	   '... and that dumpling is skipped');
	my $u = run('kitchen', '-r', $cap, '-c', $chef, '--stdout', '--lookback', 5);
	isnt($u->{status}, 0, '--lookback without --capture-dir is refused');
}

# The disk bound: a capture of every packet of flow A, one packet each;
# 1000 bytes hold only the latest few.
{
	my @all = map { my $p = { %$_ }; $p->{load} = 'GO' . $p->{load} if $p->{flow} eq 'A'; $p }
		  @pkts;
	for (@all) {
		next unless $_->{flow} eq 'A';
		$_->{frame} = ether(0x0800, ipv4(6, tcp(1000, 80, 0x18, $_->{load}),
						  { src => '10.0.0.1', dst => '10.0.0.2' }));
	}
	local $cap = "$dir/all.pcap";
	write_timed($cap, map { [$_->{frame}, $_->{t}] } @all);
	my $out = "$dir/bound";
	my ($d, undef, $files) = kitchen($out, 'mode=packet', '--capture-max', 0.001);
	my $made = grep { $_->{metadata}{chef} eq 'CaptureChef' } @$d;
	is($made, 21, 'a capture for each of the 21 packets');
	my $total = 0;
	$total += -s "$out/$_" for @$files;
	ok($total <= 1000, "the files left take $total bytes, within 1000");
	ok(@$files >= 2 && @$files < 21, scalar(@$files) . ' files are left');
	my $h = health($d)->{captures};
	is($h->{made}, 21, 'the health report counts 21 made');
	is($h->{deleted}, 21 - @$files, "... and $h->{deleted} deleted");
	is($h->{bytes}, $total, '... and the bytes left');
	my @seqs = sort { $a <=> $b } map { /Z-(\d+)-/ ? $1 : () } @$files;
	is_deeply(\@seqs, [21 - @$files + 1 .. 21], 'the oldest went first');
	my @times = map { read_back("$out/$_")->[0] } @$files;
	my @want = map { (split / /)[0] } @{ expect(sub { $_[0]{flow} eq 'A' }, 0, 2e9) };
	is_deeply([map { (split / /)[0] } @times], [@want[-@$files .. -1]],
		  'each holds its own packet');

	# One capture larger than the bound on its own is cut short.
	$out = "$dir/cut";
	($d, undef, $files) = kitchen($out, 'mode=flow,before=0,after=100', '--capture-max', 0.001);
	$h = health($d)->{captures};
	ok($h->{cut} >= 1, "a capture past the bound is cut ($h->{cut})");
	$total = 0;
	$total += -s "$out/$_" for @$files;
	ok($total <= 1000, "and the files stay within it ($total bytes)");
}

# examples/portscan.lua: a scanner's SYNs to 30 ports, one a second,
# beside a client's to one; the 20th port gives it away, and the capture
# holds the scanner's packets from before that, and none of the client's.
{
	my @scan;
	for my $p (1 .. 30) {
		push @scan, [ether(0x0800, ipv4(6, tcp(40000, $p, 0x02, ''),
						 { src => '10.9.9.9', dst => '10.0.0.2' })), $t0 + $p];
		push @scan, [ether(0x0800, ipv4(6, tcp(50000, 443, 0x02, ''),
						 { src => '10.0.0.5', dst => '10.0.0.2' })), $t0 + $p + 0.5];
	}
	local $cap = "$dir/scan.pcap";
	write_timed($cap, @scan);
	my $out = "$dir/scan";
	mkdir $out;
	my $r = run('kitchen', '-q', '-r', $cap, '-c', root() . '/examples/portscan.lua',
		    '--stdout', '--capture-dir', $out, '--lookback', 120);
	is($r->{status}, 0, 'the port-scan example runs');
	my @alerts = decode_lines($r->{out});
	is(scalar @alerts, 1, 'it reports the scan once');
	is($alerts[0]{payload}{scanner}, '10.9.9.9', '... naming the scanner');
	my $rows = read_back("$out/$alerts[0]{payload}{pcap}");
	is(scalar @$rows, 30, 'its capture holds all 30 of the scanner\'s packets');
	is(scalar(grep { / 10\.9\.9\.9 / } @$rows), 30, '... and no one else\'s');
	like($rows->[0], qr/^1000000001\.000000 /, '... from the first, 19 s before it was detected');
}

done_testing;
