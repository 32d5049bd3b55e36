#!/usr/bin/perl
# The TCP stream reassembly engine (src/decode/tcpreasm.c), driven directly
# by t/tcpreasm-driver.c: scripts of segments in, exactly what is delivered
# (data, gaps, the end) and counted out. In order, out of order (every
# order of four segments), retransmissions, overlaps (first arrival wins),
# holes (at a flush, and when a limit is hit), sequence numbers wrapping,
# SYN, FIN and RST, a stream picked up mid-way, the pool's limit across
# directions, heads; then the driver's randomized self-check.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $driver = driver('tcpreasm-driver');
ok($driver, 'make tcpreasm-driver builds the driver') or do {
	done_testing();
	exit;
};

sub drive {
	my ($script) = @_;
	my $r = run([$driver], { stdin => $script, timeout => 120 });
	return ($r->{out} // '') . ($r->{status} ? "exit $r->{status}\n$r->{err}" : '');
}

sub case {
	my ($name, $script, $want) = @_;
	$script =~ s/^\s+//mg;
	$want =~ s/^\s+//mg;
	is(drive($script), $want, $name);
}

case('in order, straight through, FIN ends the direction', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1001 - 'abc
	seg 0 1004 - 'def
	seg 0 1007 F 'gh
	stats
IN
	0 data 'abc
	0 data 'def
	0 data 'gh
	0 end
	stats directions=1 segments=4 bytes=8 in_order=3 held=0 buffered=0
OUT

# Every order of four segments: what is due is delivered at once, the rest
# when the hole before it fills; the FIN (on the last) ends it either way.
sub permutations {
	my @items = @_;
	return ([]) unless @items;
	my @out;
	for my $i (0 .. $#items) {
		my @rest = @items;
		my ($x) = splice @rest, $i, 1;
		push @out, [$x, @$_] for permutations(@rest);
	}
	return @out;
}
my @four = ([1001, 'abc'], [1004, 'def'], [1007, 'ghi'], [1010, 'jkl']);
my $orders = 0;
for my $order (permutations(0 .. 3)) {
	my ($script, $want, $next, %held, $in_order, $pieces) = ("seg 0 1000 S -\n", '', 1001);
	for my $i (@$order) {
		my ($seq, $text) = @{ $four[$i] };
		$script .= "seg 0 $seq " . ($i == 3 ? 'F' : '-') . " '$text\n";
		if ($seq != $next) {
			$held{$seq} = $text;
			$pieces++;
			next;
		}
		$in_order++;
		$want .= "0 data '$text\n";
		$next += 3;
		while (my $t = delete $held{$next}) {
			$want .= "0 data '$t\n";
			$next += 3;
		}
	}
	$want .= "0 end\n";
	$want .= "stats directions=1 segments=5 bytes=12 in_order=$in_order"
	       . ($pieces ? " pieces=$pieces" : '') . " held=0 buffered=0\n";
	$orders += is(drive("${script}stats\n"), $want, "four segments in the order @$order");
}
is($orders, 24, 'all 24 orders of four segments come out in order');

case('retransmissions of what was delivered are dropped, uncompared', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1001 - 'abc
	seg 0 1001 - 'abc
	seg 0 1001 - 'XYZ
	seg 0 1004 - 'def
	seg 0 1002 - 'bcde
	seg 0 1006 - 'fgh
	stats
IN
	0 data 'abc
	0 data 'def
	0 data 'gh
	stats directions=1 segments=7 bytes=8 in_order=3 retransmits=3 overlaps=1 overlap_bytes=1 held=0 buffered=0
OUT

case('a held segment sent again: the first copy stays, a different one is counted', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1004 - 'def
	seg 0 1004 - 'def
	seg 0 1004 - 'dXf
	stats
	seg 0 1001 - 'abc
	stats
IN
	stats directions=1 segments=4 pieces=1 overlaps=2 overlap_bytes=6 overlaps_differ=1 held=35 buffered=3
	0 data 'abc
	0 data 'def
	stats directions=1 segments=5 bytes=6 in_order=1 pieces=1 overlaps=2 overlap_bytes=6 overlaps_differ=1 held=0 buffered=0
OUT

case('a partial overlap keeps only the new bytes', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1004 - 'def
	seg 0 1005 - 'efgh
	seg 0 1001 - 'abc
	stats
IN
	0 data 'abc
	0 data 'def
	0 data 'gh
	stats directions=1 segments=4 bytes=8 in_order=1 pieces=2 overlaps=1 overlap_bytes=2 held=0 buffered=0
OUT

case('a segment containing a held one fills the holes on either side', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1005 - 'e
	seg 0 1004 - 'dEfg
	seg 0 1001 - 'abc
	stats
IN
	0 data 'abc
	0 data 'd
	0 data 'e
	0 data 'fg
	stats directions=1 segments=4 bytes=7 in_order=1 pieces=3 overlaps=1 overlap_bytes=1 overlaps_differ=1 held=0 buffered=0
OUT

case('a segment due that runs over a held one: the held bytes win', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1004 - 'def
	seg 0 1001 - 'abcXYZgh
	stats
IN
	0 data 'abc
	0 data 'def
	0 data 'gh
	stats directions=1 segments=3 bytes=8 in_order=1 pieces=1 overlaps=1 overlap_bytes=3 overlaps_differ=1 held=0 buffered=0
OUT

case('a segment inside a held one brings nothing', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1004 - 'defgh
	seg 0 1005 - 'EF
	seg 0 1001 - 'abc
	stats
IN
	0 data 'abc
	0 data 'defgh
	stats directions=1 segments=4 bytes=8 in_order=1 pieces=1 overlaps=1 overlap_bytes=2 overlaps_differ=1 held=0 buffered=0
OUT

case('holes are reported at the flush, up to the FIN', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1001 - 'abc
	seg 0 1007 - 'ghi
	seg 0 1013 - 'mno
	seg 0 1020 F -
	stats
	flush 0
	stats
IN
	0 data 'abc
	stats directions=1 segments=5 bytes=3 in_order=1 pieces=2 held=70 buffered=6
	0 gap 3
	0 data 'ghi
	0 gap 3
	0 data 'mno
	0 gap 4
	0 end
	stats directions=1 segments=5 bytes=9 in_order=1 pieces=2 gaps=3 gap_bytes=10 held=0 buffered=0
OUT

case('the direction limit moves delivery on past the first hole', <<'IN', <<'OUT');
	limits 100 100000
	seg 0 1000 S -
	seg 0 1001 - 'abc
	seg 0 1007 - 'ghi
	seg 0 1013 - 'mno
	seg 0 1019 - 'stu
	stats
	flush 0
IN
	0 data 'abc
	0 gap 3
	0 data 'ghi
	stats directions=1 segments=5 bytes=6 in_order=1 pieces=3 gaps=1 gap_bytes=3 dir_limit=1 held=70 buffered=6
	0 gap 3
	0 data 'mno
	0 gap 3
	0 data 'stu
	0 end
OUT

case('a segment larger than the direction limit is delivered past a gap, uncopied', <<'IN', <<'OUT');
	limits 40 100000
	seg 0 1000 S -
	seg 0 1001 - 'abc
	seg 0 1010 - 'klmnopqrstuvwxyz0123
	seg 0 1030 - 'tail
	stats
IN
	0 data 'abc
	0 gap 6
	0 data 'klmnopqrstuvwxyz0123
	0 data 'tail
	stats directions=1 segments=4 bytes=27 in_order=3 gaps=1 gap_bytes=6 dir_limit=1 held=0 buffered=0
OUT

case('sequence numbers wrap around 2^32', <<'IN', <<'OUT');
	seg 0 4294967294 S -
	seg 0 3 F 'ef
	seg 0 1 - 'cd
	seg 0 4294967295 - 'ab
	stats
	seg 1 4294967290 S -
	seg 1 4294967291 - 'abc
	seg 1 2 - 'xyz
	flush 1
IN
	0 data 'ab
	0 data 'cd
	0 data 'ef
	0 end
	stats directions=1 segments=4 bytes=6 in_order=1 pieces=2 held=0 buffered=0
	1 data 'abc
	1 gap 4
	1 data 'xyz
	1 end
OUT

case('data on the SYN starts after it; nothing is taken after the FIN', <<'IN', <<'OUT');
	seg 0 1000 S 'abc
	seg 0 1004 - 'def
	seg 0 1007 F -
	seg 0 1007 - 'ghi
	stats
	seg 1 2000 S -
	seg 1 2004 F -
	seg 1 2001 - 'abcXYZ
	stats
IN
	0 data 'abc
	0 data 'def
	0 end
	stats directions=1 segments=4 bytes=6 in_order=2 after_end=1 held=0 buffered=0
	1 data 'abc
	1 end
	stats directions=2 segments=7 bytes=9 in_order=3 after_end=2 held=0 buffered=0
OUT

case('a FIN arriving first cuts what is held past it', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1004 - 'defgh
	seg 0 1010 - 'jk
	seg 0 1006 F -
	stats
	seg 0 1001 - 'abc
IN
	stats directions=1 segments=4 pieces=2 after_end=1 held=37 buffered=2
	0 data 'abc
	0 data 'de
	0 end
OUT

case('a RST flushes what is held and ends the direction', <<'IN', <<'OUT');
	seg 0 1000 S -
	seg 0 1001 - 'abc
	seg 0 1007 - 'ghi
	seg 0 1010 R 'ignored
	seg 0 1004 - 'def
	stats
IN
	0 data 'abc
	0 gap 3
	0 data 'ghi
	0 end
	stats directions=1 segments=5 bytes=6 in_order=1 pieces=1 gaps=1 gap_bytes=3 after_end=1 held=0 buffered=0
OUT

case('picked up mid-way: the first segment seen starts the stream', <<'IN', <<'OUT');
	seg 0 5006 - 'world
	seg 0 5000 - 'hello-
	seg 0 5011 - '!
	head 0
	stats
IN
	0 data 'world
	0 data '!
	0 head complete midstream -
	stats directions=1 midstream=1 segments=3 bytes=6 in_order=2 retransmits=1 held=0 buffered=0
OUT

case('the pool limit across directions; an untracked direction takes nothing', <<'IN', <<'OUT');
	limits 1000 100
	ignore 3
	seg 3 500 S 'untracked
	seg 0 1000 S -
	seg 0 1004 - 'abc
	seg 1 2000 S -
	seg 1 2004 - 'def
	seg 2 3000 S -
	seg 2 3004 - 'ghi
	seg 0 1001 - 'xyz
	stats
	flush 1
	flush 2
	stats
IN
	2 gap 3
	2 data 'ghi
	0 data 'xyz
	0 data 'abc
	stats directions=3 segments=7 bytes=9 in_order=2 pieces=2 gaps=1 gap_bytes=3 total_limit=1 held=35 buffered=3
	1 gap 3
	1 data 'def
	1 end
	2 end
	stats directions=3 segments=7 bytes=12 in_order=2 pieces=2 gaps=2 gap_bytes=6 total_limit=1 held=0 buffered=0
OUT

case('a segment too far ahead is dropped', <<'IN', <<'OUT');
	limits 1000 100000 100
	seg 0 1000 S -
	seg 0 1201 - 'far
	seg 0 1001 - 'near
	stats
IN
	0 data 'near
	stats directions=1 segments=3 bytes=4 in_order=1 out_of_window=1 held=0 buffered=0
OUT

case('the head: a direction\'s first bytes, contiguous across segments', <<'IN', <<'OUT');
	track 0 8
	seg 0 1000 S -
	seg 0 1004 - 'defg
	seg 0 1001 - 'abc
	head 0
	seg 0 1008 - 'hij
	head 0
	track 1 16
	seg 1 2000 S -
	seg 1 2001 - 'abc
	seg 1 2010 - 'xyz
	head 1
	flush 1
	head 1
	release 1
	head 1
	stats
IN
	0 data 'abc
	0 data 'defg
	0 head growing 'abcdefg
	0 data 'hij
	0 head complete 'abcdefgh
	1 data 'abc
	1 head growing 'abc
	1 gap 6
	1 data 'xyz
	1 end
	1 head complete 'abc
	1 head complete -
	stats directions=2 segments=7 bytes=16 in_order=3 pieces=2 gaps=1 gap_bytes=6 held=20 buffered=0
OUT

case('a head the pool has no room for is refused, and counted', <<'IN', <<'OUT');
	limits 1000 100
	track 0 200
	seg 0 1000 S -
	seg 0 1001 - 'abc
	head 0
	stats
IN
	0 data 'abc
	0 head complete -
	stats directions=1 segments=2 bytes=3 in_order=1 heads_refused=1 held=0 buffered=0
OUT

# The randomized self-check: streams cut into overlapping segments, some
# with other bytes, shuffled over up to three directions, with limits
# either out of reach or tight. It checks each round itself.
for my $seed (1, 2, 3) {
	my $out = drive("random $seed 2000\n");
	like($out, qr/^random ok 2000 rounds: (\d+) streams with gaps, (\d+) limit hits, (\d+) differing overlaps$/,
	     "random self-check, seed $seed");
	my ($gapped, $hits, $differ) = $out =~ /(\d+) streams.*?(\d+) limit.*?(\d+) differing/;
	ok(($gapped // 0) > 0 && ($hits // 0) > 0 && ($differ // 0) > 0,
	   "seed $seed reached the limits and differing overlaps");
}

like(drive("seg 0 1 X -\n"), qr/^error: bad flag/, 'the driver refuses a bad script');

done_testing();
