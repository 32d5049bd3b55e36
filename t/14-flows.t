#!/usr/bin/perl
# Flows: pkt.flow, flow.state and flow_end, FlowChef's numbers, against
# tshark on every capture of the corpus (tcp.stream and udp.stream for the
# grouping, communityid for Community ID v1, its per-direction counts on
# known TCP captures), and against captures made here for each way a flow
# ends.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $dir = tmpdir();
my $flowtruth = root() . '/t/chefs/flowtruth.lua';

sub payloads {
	my ($r, $driver) = @_;
	return map { $_->{payload} } grep { $_->{metadata}{driver} eq $driver } decode_lines($r->{out});
}

sub cook {
	my ($chef, @args) = @_;
	my $r = run('kitchen', '--stdout', '-q', '-f', '', '-c', $chef, @args);
	is($r->{status}, 0, "kitchen -c $chef @args exits 0") or diag($r->{err});
	return $r;
}

# ---------------------------------------------------------------- endings

my $cli = { src => '192.0.2.1', dst => '192.0.2.2' };
my $srv = { src => '192.0.2.2', dst => '192.0.2.1' };
sub to_srv { ether(0x0800, ipv4(6, tcp(40000, 80, $_[0], $_[1] // ''), $cli)) }
sub to_cli { ether(0x0800, ipv4(6, tcp(80, 40000, $_[0], $_[1] // ''), $srv)) }
sub dgram {
	my ($sport, $dport, $data, $o) = @_;
	ether(0x0800, ipv4(17, udp($sport, $dport, $data // 'x'), $o));
}

# A whole connection: SYN, SYN-ACK, ACK, data, FIN each way, the last ACK.
write_pcap("$dir/fin.pcap", 1, to_srv(0x02), to_cli(0x12), to_srv(0x10), to_srv(0x18, 'hello'),
	   to_cli(0x11), to_srv(0x11), to_cli(0x10));
my $r = cook($flowtruth, '-r', "$dir/fin.pcap");
my @p = payloads($r, 'packet');
is_deeply([map { $_->[0] } @p], [(1) x 7], 'every packet of a connection is one flow');
is_deeply([map { $_->[2] } @p], [qw(orig resp orig orig resp orig resp)], 'each packet has its direction');
is_deeply([map { "$_->[3]/$_->[4]" } @p], [qw(1/0 1/1 2/1 3/1 3/2 4/2 4/3)],
	  'packets each way, as of each packet');
is_deeply([map { $_->[5] } @p], [0, 0, 0, 5, 5, 5, 5], 'payload bytes from the originator');
is_deeply([map { $_->[7] } @p], [qw(S0 S1 S1 S1 S3 SF SF)], 'conn_state as it goes');
is($p[-1][8], 'ShADfFa', 'the history, in Zeek\'s letters');
$r = cook('flow', '-r', "$dir/fin.pcap");
my @f = payloads($r, 'flow');
is(scalar @f, 1, 'FlowChef: one dumpling for the connection');
is($f[0]{ended}, 'fin', 'it ended with FIN both ways');
is_deeply([@{ $f[0] }{qw(orig_pkts resp_pkts orig_bytes resp_bytes orig_ip_bytes resp_ip_bytes)}],
	  [4, 3, 5, 0, 4 * 40 + 5, 3 * 40], 'packets and bytes each way');
is_deeply([@{ $f[0] }{qw(id.orig_h id.orig_p id.resp_h id.resp_p proto conn_state duration)}],
	  ['192.0.2.1', 40000, '192.0.2.2', 80, 'tcp', 'SF', 6], 'endpoints, state and duration');
like($f[0]{community_id}, qr{^1:[A-Za-z0-9+/]{27}=$}, 'a Community ID');

# A SYN refused, and a SYN-ACK seen first (its receiver is the originator).
write_pcap("$dir/rst.pcap", 1, to_srv(0x02), to_cli(0x14),
	   ether(0x0800, ipv4(6, tcp(443, 40001, 0x12, ''), $srv)));
@f = payloads(cook('flow', '-r', "$dir/rst.pcap"), 'flow');
is_deeply([map { "$_->{ended} $_->{conn_state} $_->{history}" } @f], ['rst REJ Sr', 'end_of_input OTH ^h'],
	  'a refused SYN ends with rst, REJ; a SYN-ACK first flips the flow');
is($f[1]{'id.orig_h'}, '192.0.2.1', 'the SYN-ACK\'s receiver is the originator');

# Idle: a DNS flow silent for more than --flow-timeout udp=5 ends, and its
# next packet starts a new flow, with a fresh state.
my @frames = (dgram(1000, 53));
push @frames, dgram(2000 + $_, 9) for 1 .. 8;
push @frames, dgram(1000, 53), dgram(53, 1000, 'y', $srv);
write_pcap("$dir/idle.pcap", 1, @frames);
$r = cook(root() . '/t/chefs/flowstate.lua', '--flow-timeout', 'udp=5', '-r', "$dir/idle.pcap");
my @ends = payloads($r, 'flow');
my ($first_end) = grep { $_->{id} == 1 } @ends;
is($first_end->{why}, 'idle', 'a flow silent past its timeout ends idle');
my @pk = grep { exists $_->{n} && !exists $_->{why} } payloads($r, 'packet');
my @again = grep { $_->{id} != 1 && $_->{n} } @pk;
my ($ones) = grep { $_->{id} == 10 } @pk;
ok(defined $ones, 'its next packet opens flow 10');
is_deeply([map { $_->{n} } grep { $_->{id} == 10 } @pk], [1, 10, 2, 20],
	  'whose state starts afresh, each chef its own');
is_deeply([sort map { "$_->{why} $_->{n}" } grep { $_->{id} == 10 } @ends],
	  ['end_of_input 2', 'end_of_input 20'], 'flow_end sees the calling chef\'s state');
my ($held) = reverse payloads($r, 'interval');
is($held->{states_held}, 0, 'every state is released once its flow ends');

# Evicted: room for two flows, three of them.
write_pcap("$dir/evict.pcap", 1, dgram(1, 9), dgram(2, 9), dgram(3, 9), dgram(2, 9));
$r = run('kitchen', '--stdout', '-q', '-f', '', '-c', 'flow', '--max-flows', '2',
	 '--status-interval', '3600', '-r', "$dir/evict.pcap");
@f = payloads($r, 'flow');
is_deeply([map { "$_->{'id.orig_p'} $_->{ended}" } @f], ['1 evicted', '3 end_of_input', '2 end_of_input'],
	  'a full table evicts the flow idle longest; the rest end with the input');
my ($health) = grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } decode_lines($r->{out});
is_deeply($health->{payload}{flows}, { active => 0, created => 3, ended => 3, evicted => 1, untracked => 0,
					   events_dropped => 0 },
	  'KitchenStatusChef counts the flows');

# A tunnel's datagram in two fragments: the first, held for reassembly,
# is keyed by nothing (not an "other" flow of the outer addresses), and
# the one that completes it joins the inner flow, its inner IPv6 datagram
# counted once (40 + 8 + 200 bytes).
{
	my $v6 = ipv6(17, udp(1111, 2222, 'y' x 200));
	write_pcap("$dir/6in4.pcap", 1, ether(0x0800, ipv4(41, substr($v6, 0, 96), { frag => 0x2000 })),
		   ether(0x0800, ipv4(41, substr($v6, 96), { frag => 96 / 8 })));
	my @f = payloads(cook('flow', '-r', "$dir/6in4.pcap"), 'flow');
	is(scalar @f, 1, 'a fragmented tunnel datagram makes one flow');
	is_deeply([ map { $_ // 'none' } @{ $f[0] // {} }{qw(proto id.resp_p orig_pkts orig_ip_bytes)} ],
		  [ 'udp', 2222, 1, 248 ], '... the inner one, its datagram counted once');
}

# Options are checked.
$r = run('kitchen', '--stdout', '-c', 'flow', '--flow-timeout', 'tpc=5', '-r', "$dir/evict.pcap");
like($r->{err}, qr/bad --flow-timeout 'tpc=5': unknown kind/, 'an unknown kind of flow is refused');
$r = run('kitchen', '--stdout', '-c', 'flow', '--max-flows', '0', '-r', "$dir/evict.pcap");
isnt($r->{status}, 0, '--max-flows 0 is refused');

# Flow fields are read in the handler, like TCP options.
my $late = "$dir/late.lua";
spew($late, "local kept\nreturn { name = 'Late', packet_handler = function(self, pkt)\n"
	. "  if kept then local x = kept.orig_h end\n  kept = pkt.flow\nend }\n");
$r = run('kitchen', '--stdout', '-f', '', '-c', $late, '-r', "$dir/evict.pcap");
like($r->{err}, qr/flow fields read after the packet's handler returned/, 'a flow read too late is an error');

# A flow table kept from an earlier packet gives no state for its flow
# from a later packet's handler: that flow may have ended, and a state made
# for it would never be dropped.
my $stale = "$dir/stale.lua";
spew($stale, "local kept\nreturn { name = 'Stale', packet_handler = function(self, pkt)\n"
	. "  local f = pkt.flow\n  if kept and f and kept.id ~= f.id then local s = kept.state end\n"
	. "  kept = kept or f\nend }\n");
$r = run('kitchen', '--stdout', '-f', '', '-c', $stale, '-r', "$dir/evict.pcap");
like($r->{err}, qr/flow\.state read from another flow than the one at hand/,
     'the state of a flow other than the one at hand is refused');

# ---------------------------------------------------- against tshark

# Disagreements with tshark, each explained: "file frame" => reason.
my $fragment = 'a fragment that does not complete its datagram carries no transport header of '
	. 'its own: it joins no flow (counted as untracked), and the one that completes the '
	. 'datagram joins it whole; tshark gives an IPv4 fragment a Community ID of its addresses '
	. 'alone (and an IPv6 one none, as we do)';
my %DIFFERENT = (
	'ipv4-fragmented-1.pcap 1' => $fragment,
	'ipv4-fragmented-1.pcap 2' => $fragment,
);
# Where our flows are split from tshark's streams, and why.
my %SPLIT = (
	'dns-long-connection.pcap' => 'one UDP conversation with silences of more than a minute: '
		. 'each silence ends the flow as idle (udp=60, as Zeek), while tshark keeps one '
		. 'udp.stream forever; with --flow-timeout udp=3600 they agree',
);


SKIP: {
	skip('tshark is not installed', 1) if system('tshark -v >/dev/null 2>&1') != 0;
	skip(corpus_missing(), 1) unless have_corpus();
	corpus_against_tshark();
	counts_against_tshark($_) for qw(dns_tcp.pcap tcp-handshake-nano.pcap http-get.pcap);
}

sub tshark_fields {
	my ($file, @fields) = @_;
	my @cmd = ('tshark', '--enable-protocol', 'communityid', '-r', pcap($file), '-T', 'fields',
		   '-E', 'separator=/t',
		   map { ('-e', $_) } @fields);
	open my $fh, '-|', @cmd or die "tshark: $!";
	my @rows = map { chomp; [ map { (split /,/)[-1] // '' } split /\t/, $_, -1 ] } <$fh>;
	close $fh;
	return @rows;
}

sub compare_capture {
	my ($file, @opts) = @_;
	my $out = run('kitchen', '--stdout', '-q', '-f', '', '-c', $flowtruth, @opts, '-r', pcap($file));
	my @ours = map { $_->{payload} } decode_lines($out->{out});
	my @ts = tshark_fields($file, qw(tcp.stream udp.stream communityid));
	my (@bad, %stream, %flow);
	push @bad, "frames: ours " . @ours . ", tshark's " . @ts if @ours != @ts;
	for my $i (0 .. $#ts) {
		my ($tcp, $udp, $cid) = @{ $ts[$i] };
		my ($id, $ours_cid) = @{ $ours[$i] // [0, ''] };
		my $where = "$file " . ($i + 1);
		if ($DIFFERENT{$where}) {
			$main::used{$where}++;
			next;
		}
		push @bad, "$where: Community ID $ours_cid, tshark's $cid" if $ours_cid ne $cid;
		my $s = $tcp ne '' ? "tcp $tcp" : $udp ne '' ? "udp $udp" : next;
		push @bad, "$where: no flow for $s" if !$id;
		$stream{$s} //= $id;
		$flow{$id} //= $s;
		push @bad, "$where: $s is flows $stream{$s} and $id" if $stream{$s} != $id;
		push @bad, "$where: flow $id is $flow{$id} and $s" if $flow{$id} ne $s;
	}
	return @bad;
}

sub corpus_against_tshark {
	my @files = grep { !/invalid-vers/ } map { s{.*/}{}r } glob(pcaps_dir() . '/*.pcap ' . pcaps_dir() . '/*.pcapng');
	for my $file (@files) {
		my @bad = compare_capture($file);
		if ($SPLIT{$file}) {
			ok(scalar(grep { /is flows/ } @bad), "$file: flows split where tshark's are not ($SPLIT{$file})");
			@bad = compare_capture($file, '--flow-timeout', 'udp=3600');
		}
		ok(!@bad, "$file: flows are tshark's streams, Community IDs its own")
			or diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
	}
	ok($main::used{$_}, "listed difference $_ still occurs ($DIFFERENT{$_})") for sort keys %DIFFERENT;
}

# Direction, packets and payload bytes each way, as of each packet, from
# tshark's fields: the originator sent the SYN (these captures start
# with one).
sub counts_against_tshark {
	my ($file) = @_;
	my $out = run('kitchen', '--stdout', '-q', '-f', '', '-c', $flowtruth, '-r', pcap($file));
	my @ours = map { $_->{payload} } decode_lines($out->{out});
	my (%orig, %n, @want, @got);
	for my $row (tshark_fields($file, qw(tcp.stream ip.src tcp.srcport tcp.len))) {
		my ($s, $src, $port, $len) = @$row;
		my $o = shift @ours;
		next if $s eq '';
		$orig{$s} //= "$src $port";
		my $dir = $orig{$s} eq "$src $port" ? 'orig' : 'resp';
		$n{$s}{"${dir}_pkts"}++;
		$n{$s}{"${dir}_bytes"} += $len;
		push @want, join ' ', $dir, map { $n{$s}{$_} // 0 } qw(orig_pkts resp_pkts orig_bytes resp_bytes);
		push @got, join ' ', @$o[2 .. 6];
	}
	ok(@want > 0, "$file: has TCP");
	is_deeply(\@got, \@want, "$file: direction, packets and bytes each way match tshark");
}

done_testing;
