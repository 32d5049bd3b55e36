#!/usr/bin/perl
# TCP streams: chef:stream(flow, dir, data, gap) gets each direction's
# bytes in order and once each, holes as gaps, before the flow's flow_end;
# checked on captures made here (in order, out of order, retransmitted,
# overlapping, missing segments, the per-direction limit, batches that
# overflow, a reload) and against tshark's "follow,tcp,raw" on the corpus;
# and a TLS hello and an HTTP head split over segments, decoded on the
# packet that completes them as tshark decodes them.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $dir = tmpdir();
# tshark checks what is decoded here; without it they skip, and under
# CI=true they fail instead.
my $tshark = system('tshark -v >/dev/null 2>&1') == 0;
fail('tshark is not installed, and CI=true: its checks cannot be skipped') if !$tshark && $ENV{CI};
my $streamlog = root() . '/t/chefs/streamlog.lua';

my $cli = { src => '192.0.2.1', dst => '192.0.2.2' };
my $srv = { src => '192.0.2.2', dst => '192.0.2.1' };
my ($ISN_C, $ISN_S) = (1000, 7000);

# A TCP segment: from the client (c) or the server (s), at the byte offset
# off into its direction's stream (the SYN is at -1), with flags; between
# the client's port (40000) and the server's (80).
sub seg {
	my ($who, $off, $flags, $data, $port, $server) = @_;
	my ($sp, $dp, $isn, $ip) = $who eq 'c' ? ($port // 40000, $server // 80, $ISN_C, $cli)
					       : ($server // 80, $port // 40000, $ISN_S, $srv);
	my $t = pack('n n N N C C n n n', $sp, $dp, ($isn + 1 + $off) % 2**32, 0, 5 << 4, $flags,
		     65535, 0, 0) . ($data // '');
	return ether(0x0800, ipv4(6, $t, $ip));
}
sub syn { (seg('c', -1, 0x02, '', @_), seg('s', -1, 0x12, '', @_), seg('c', 0, 0x10, '', @_)) }

sub cook {
	my ($frames, @args) = @_;
	my $name = "$dir/c" . int(rand(1e9)) . '.pcap';
	write_pcap($name, 1, @$frames);
	my $r = run('kitchen', '--stdout', '-q', '-f', '', '-c', $streamlog, '-r', $name, @args);
	is($r->{status}, 0, 'the kitchen exits 0') or diag($r->{err});
	return decode_lines($r->{out});
}

sub events { map { $_->{payload} } grep { $_->{metadata}{driver} ne 'interval' &&
					     $_->{metadata}{chef} eq 'StreamLog' } @_ }

# What each direction received, as text with holes as <gap n>.
sub received {
	my (@ev) = @_;
	my %s = (orig => '', resp => '');
	for (grep { $_->{dir} } @ev) {
		$s{ $_->{dir} } .= defined $_->{hex} ? pack('H*', $_->{hex}) : "<gap $_->{gap}>";
	}
	return \%s;
}

# Long texts compared without printing them whole.
sub same {
	my ($got, $want, $name) = @_;
	ok($got eq $want, $name) and return;
	my $i = 0;
	$i++ while $i < length $got && substr($got, $i, 1) eq substr($want, $i, 1);
	diag(sprintf('%d bytes, want %d; first difference at %d: "%s" vs "%s"', length $got,
		     length $want, $i, substr($got, $i, 40), substr($want, $i, 40)));
}

sub health { (grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } @_)[-1]{payload} }

# ---------------------------------------------------------------- in order

my @d = cook([syn(), seg('c', 0, 0x18, 'GET / HTTP/1.0'), seg('c', 14, 0x18, "\r\n\r\n"),
	      seg('s', 0, 0x18, 'HTTP/1.0 200 OK'), seg('c', 18, 0x11), seg('s', 15, 0x18, "\r\n\r\nbody"),
	      seg('s', 23, 0x11), seg('c', 19, 0x10)], '--status-interval', '1000');
my @ev = events(@d);
is_deeply(received(@ev), { orig => "GET / HTTP/1.0\r\n\r\n", resp => "HTTP/1.0 200 OK\r\n\r\nbody" },
	  'in order: each direction\'s bytes, whole');
is_deeply([map { $_->{dir} // 'end' } @ev], [qw(orig orig resp resp end)],
	  'both directions interleaved, each with its dir, and the flow\'s end last');
is_deeply([map { $_->{n} } @ev[0 .. 3]], [1 .. 4], 'flow.state is the chef\'s own, across stream calls');
is($ev[-1]{events}, 4, '... and flow_end sees the same state');
is($ev[0]{orig_p}, 40000, 'the flow\'s fields are there in stream');
is_deeply([map { $_->{metadata}{driver} } grep { $_->{metadata}{chef} eq 'StreamLog' } @d],
	  [qw(stream stream stream stream flow)], 'stream dumplings have driver "stream"');
my $h = health(@d);
is($h->{streams}{directions}, 2, 'KitchenStatusChef: two directions tracked');
is($h->{streams}{bytes}, 18 + 23, '... the bytes delivered');
is($h->{streams}{gaps}, 0, '... and no gaps');

# ------------------------------------------------ out of order, retransmits

@ev = events(cook([syn(), seg('c', 5, 0x18, 'world'), seg('c', 0, 0x18, 'hello'),
		   seg('c', 0, 0x18, 'hello'), seg('c', 10, 0x18, '!'), seg('c', 11, 0x11)]));
is(received(@ev)->{orig}, 'helloworld!', 'out of order and retransmitted: in order, once each');

# Overlaps: the first arrival wins, over bytes delivered and bytes held.
@d = cook([syn(), seg('c', 0, 0x18, 'abcdef'), seg('c', 3, 0x18, 'XYZghi'), seg('c', 12, 0x18, 'mno'),
	   seg('c', 9, 0x18, 'jklMNOp'), seg('c', 16, 0x11)], '--status-interval', '1000');
is(received(events(@d))->{orig}, 'abcdefghijklmnop', 'overlapping segments: the first arrival wins');
$h = health(@d);
is($h->{streams}{overlaps}, 2, 'overlaps are counted');
is($h->{streams}{overlaps_differing}, 1, '... and those that differ from bytes held');

# ------------------------------------------------------------------ holes

@ev = events(cook([syn(), seg('c', 0, 0x18, 'aaaa'), seg('c', 9, 0x18, 'ccc'), seg('s', 0, 0x18, 'ok'),
		   seg('c', 12, 0x11), seg('s', 2, 0x11)]));
is(received(@ev)->{orig}, 'aaaa<gap 5>ccc', 'a missing segment is a gap of its length, at the end');
is($ev[-1]{why}, 'fin', 'and it comes before the flow ends');

# A hole never filled, and more than a direction may hold behind it: the
# gap goes out when the limit is reached, not at the end.
my @big = map { seg('c', 100 + 200 * $_, 0x18, chr(65 + $_) x 200) } 0 .. 9;
@d = cook([syn(), seg('c', 0, 0x18, 'x' x 100), @big, seg('s', 0, 0x18, 'later')],
	  '--stream-dir-memory', '1', '--status-interval', '1000');
@ev = events(@d);
my $got = received(@ev)->{orig};
like($got, qr/^x{100}A{200}B{200}C{200}/, 'at the limit, what is held goes out') or diag($got);
is(index($got, '<gap'), -1, 'no hole without a missing byte');
@d = cook([syn(), seg('c', 0, 0x18, 'x' x 100), @big[1 .. 9], seg('s', 0, 0x18, 'later')],
	  '--stream-dir-memory', '1', '--status-interval', '1000');
@ev = events(@d);
my @order = map { $_->{dir} ? $_->{dir} . (defined $_->{gap} ? "-gap$_->{gap}" : '') : 'end' } @ev;
is($order[0], 'orig', 'the direction\'s first bytes');
is($order[1], 'orig-gap200', 'the per-direction limit moves delivery past the hole: a gap of its length');
my $resp_at = (grep { $order[$_] eq 'resp' } 0 .. $#order)[0];
ok($resp_at > 1, 'and the gap went out when the limit was hit, before the end');
is(received(@ev)->{orig}, 'x' x 100 . '<gap 200>' . join('', map { chr(65 + $_) x 200 } 1 .. 9),
   'every byte after the hole, once');
$h = health(@d);
ok($h->{streams}{dir_limit} >= 1, 'KitchenStatusChef counts the limit reached');
is($h->{streams}{gap_bytes}, 200, '... and the gap bytes');

# ---------------------------------------------------------- who is asked

my $r = run('kitchen', '--stdout', '-q', '-f', '', '-c', 'flow', '-r', "$dir/" . (sort glob("$dir/*.pcap"))[0] =~ s{.*/}{}r,
	    '--status-interval', '1000');
is($r->{status}, 0, 'a kitchen with no stream chef runs');
$h = health(decode_lines($r->{out}));
is_deeply([@{ $h->{streams} }{qw(directions segments bytes memory_peak)}], [0, 0, 0, 0],
	  'with no chef defining stream, nothing is tracked or buffered');

# Streams ignore chef.filter: a chef whose filter matches none of the
# packets still gets the stream.
my $filtered = "$dir/filtered.lua";
spew($filtered, "local c = dofile('$streamlog'); c.name = 'StreamLog'; c.filter = 'udp'; "
		. "function c:packet_handler() return nil end; return c\n");
write_pcap("$dir/f.pcap", 1, syn(), seg('c', 0, 0x18, 'data'), seg('c', 4, 0x11), seg('s', 0, 0x11));
$r = run('kitchen', '--stdout', '-q', '-f', '', '-c', $filtered, '-r', "$dir/f.pcap");
is(received(events(decode_lines($r->{out})))->{orig}, 'data', 'streams ignore the chef\'s filter')
	or diag($r->{err});

# An error in stream is logged with the chef's name, and the other chefs
# go on.
my $bad = "$dir/bad.lua";
spew($bad, "return { name = 'Bad', stream = function(self, flow, dir, data) error('no thanks') end }\n");
$r = run('kitchen', '--stdout', '-f', '', '-c', $bad, '-c', $streamlog, '-r', "$dir/f.pcap");
is($r->{status}, 0, 'a failing stream handler does not stop the kitchen');
like($r->{err}, qr/Bad.*stream.*no thanks/, 'its error is logged, naming the chef and the handler');
is(received(events(decode_lines($r->{out})))->{orig}, 'data', 'and the other chefs get the stream');

# ------------------------------------------------- batches that overflow

# Eight flows each hold 200 KB behind a one-byte hole: at the end of the
# input, 1.6 MB goes out, more than a batch carries, across batches.
my (@many, %want);
for my $f (0 .. 7) {
	my $p = 41000 + $f;
	push @many, syn($p);
	push @many, map { seg('c', 1 + 40000 * $_, 0x18, chr(97 + $f) x 40000, $p) } 0 .. 4;
	$want{$p} = '<gap 1>' . chr(97 + $f) x 200000;
}
@ev = events(cook(\@many, '--stream-dir-memory', '1024'));
my %by_port;
for (grep { $_->{dir} } @ev) {
	$by_port{ $_->{orig_p} } .= defined $_->{hex} ? pack('H*', $_->{hex}) : "<gap $_->{gap}>";
}
same(join(',', map { "$_=$by_port{$_}" } sort keys %by_port), join(',', map { "$_=$want{$_}" } sort keys %want),
     'streams larger than a batch: every byte, in order, across batches');
my %ended;
my $late = 0;
for (@ev) {
	$ended{ $_->{id} } = 1 if $_->{why};
	$late++ if $_->{dir} && $ended{ $_->{id} };
}
is($late, 0, 'no stream data after its flow\'s end');

# 3,000 holes in one direction: more events than a batch holds.
my @holes = map { seg('c', 2 * $_, 0x18, 'z') } 1 .. 3000;
@ev = events(cook([syn(), @holes]));
same(received(@ev)->{orig}, '<gap 2>z' . '<gap 1>z' x 2999, 'more events than a batch holds, in order');

# A flow evicted by a packet of another (--max-flows 1) flushes 1.5 MB
# while that packet waits for its flow: it moves to the next batch with
# the rest, and still sees its own flow.
my $pktlog = "$dir/pktlog.lua";
spew($pktlog, "local c = dofile('$streamlog'); c.name = 'StreamLog'; "
	      . "function c:packet_handler(pkt) if pkt.TCP then return { pkt = pkt.TCP.sport, "
	      . "flow = pkt.flow and pkt.flow.id } end end; return c\n");
my @evict = (syn(40000), map { seg('c', 1 + 50000 * $_, 0x18, 'e' x 50000, 40000) } 0 .. 29);
push @evict, seg('c', -1, 0x02, '', 40001), seg('c', 0, 0x10, '', 40001), seg('c', 0, 0x18, 'next', 40001);
write_pcap("$dir/evict.pcap", 1, @evict);
$r = run('kitchen', '--stdout', '-q', '-f', '', '-c', $pktlog, '-r', "$dir/evict.pcap",
	 '--max-flows', '1', '--stream-dir-memory', '4096');
is($r->{status}, 0, 'the kitchen exits 0') or diag($r->{err});
my @all = map { $_->{payload} } grep { $_->{metadata}{chef} eq 'StreamLog' } decode_lines($r->{out});
my @first = grep { ($_->{orig_p} // 0) == 40000 && $_->{dir} } @all;
same(join('', map { defined $_->{hex} ? pack('H*', $_->{hex}) : "<gap $_->{gap}>" } @first),
     '<gap 1>' . 'e' x 1500000, 'an evicted flow\'s stream, whole');
my @seq = map { $_->{why} ? "end$_->{id}" : $_->{dir} ? "data$_->{id}" : "pkt$_->{pkt}/$_->{flow}" } @all;
my ($evicted_at) = grep { $seq[$_] eq 'end1' } 0 .. $#seq;
ok(defined $evicted_at && !grep({ $_ eq 'data1' } @seq[$evicted_at .. $#seq]),
   'its data before its end');
is_deeply([@seq[$evicted_at + 1 .. $evicted_at + 3]], ['pkt40001/2', 'pkt40001/2', 'pkt40001/2'],
	  'then the packets that evicted it, each with its own flow');
is($seq[-2], 'data2', 'and the new flow\'s stream') or diag("@seq[-5 .. -1]");

# ----------------------------------------------------------------- reload

# A kitchen with no stream chef takes one on: flows that begin after the
# reload are delivered, a flow that began before is not.
{
	my $chef = "$dir/reload.lua";
	spew($chef, "local c = { name = 'StreamLog' }\n"
		    . "function c:packet_handler(pkt) if pkt.Raw then return { seen = pkt.TCP.sport } end end\n"
		    . "return c\n");
	my @frames = (map({ [$_, undef, 0] } syn(40000)), [seg('c', 0, 0x18, 'one', 40000), undef, 0],
		      (map { [$_, undef, 8] } syn(40001)), [seg('c', 0, 0x18, 'two', 40001), undef, 8],
		      [seg('c', 3, 0x18, 'late', 40000), undef, 8]);
	write_pcap("$dir/reload.pcap", 1, @frames);
	my $pid = spawn([bin(), 'kitchen', '-f', '', '-r', "$dir/reload.pcap", '--stdout', '--speed', '1',
			 '-c', $chef], out => "$dir/reload.out", err => "$dir/reload.err");
	ok(wait_for(sub { (slurp("$dir/reload.out") // '') =~ /"seen":40000/ }, 20),
	   'the first connection is cooked');
	spew("$chef.new", "return dofile('$streamlog')\n");
	rename "$chef.new", $chef or die "rename: $!";
	ok(wait_for(sub { (slurp("$dir/reload.err") // '') =~ /reloaded/ }, 20), 'the chef is reloaded');
	ok(wait_for(sub { !kill(0, $pid) || waitpid($pid, POSIX::WNOHANG()) == $pid }, 60), 'the kitchen ends');
	my @got = grep { $_->{dir} } events(decode_lines(slurp("$dir/reload.out")));
	is_deeply([map { "$_->{orig_p} " . pack('H*', $_->{hex}) } @got], ['40001 two'],
		  'after the reload, only the flow that began after it is streamed');
}

# ------------------------------------------ messages across segments

# A ClientHello in three segments, the last two swapped, and an HTTP
# request head in two: the packet that completes each carries the layer,
# decoded whole, as tshark decodes it on the reassembled PDU's frame. With
# no stream chef: the heads are followed regardless.
{
	my $hello = tls_client_hello(ciphers => [0x1301, 0xc02b, 0x002f],
				     exts => [tls_sni_ext('split.example.com'), tls_ext(10, tls_u16s(29, 23)),
					      tls_ext(11, pack('C/a*', "\0")), tls_alpn_ext('h2', 'http/1.1'),
					      tls_ext(21, "\0" x 400)]);
	my @part = (substr($hello, 0, 100), substr($hello, 100, 250), substr($hello, 350));
	my $get = "GET /split/path?q=1 HTTP/1.1\r\nHost: split.example.org\r\nUser-Agent: t41\r\n\r\n";
	my @tls = (syn(40443, 443), seg('c', 0, 0x18, $part[0], 40443, 443),
		   seg('c', 350, 0x18, $part[2], 40443, 443), seg('c', 100, 0x18, $part[1], 40443, 443),
		   seg('s', 0, 0x10, '', 40443, 443));
	my @http = (syn(40080), seg('c', 0, 0x18, substr($get, 0, 30), 40080),
		    seg('c', 30, 0x18, substr($get, 30), 40080));
	write_pcap("$dir/heads.pcap", 1, @tls, @http);
	my $r = run('kitchen', '--stdout', '-q', '-f', '', '-c', root() . '/t/chefs/apphead.lua',
		    '-r', "$dir/heads.pcap", '--status-interval', '1000');
	is($r->{status}, 0, 'the kitchen exits 0') or diag($r->{err});
	my @d = decode_lines($r->{out});
	my @got = map { $_->{payload} } grep { $_->{metadata}{chef} eq 'AppHead' } @d;
	my ($tls) = grep { defined $_->{ja3} } @got;
	my ($req) = grep { defined $_->{host} } @got;
	is($tls->{frame}, 6, 'the ClientHello is decoded on the packet that completed it');
	is($tls->{sni}, 'split.example.com', '... with its server name');
	like($tls->{ja3} // '', qr/^[0-9a-f]{32}$/, '... and its JA3');
	is_deeply([map { $_->{frame} } grep { !defined $_->{ja3} && !defined $_->{host} } @got], [4, 11],
		  'the first segments carry the cut messages, as before');
	is($req->{frame}, 12, 'the HTTP head is decoded on the packet that completed it');
	is($req->{uri}, '/split/path?q=1', '... with its URI');
	my $h = health(@d);
	is_deeply([@{ $h->{streams} }{qw(heads heads_decoded directions)}], [2, 2, 0],
		  'KitchenStatusChef counts the heads, with no stream tracked');
	$r = run('kitchen', '--stdout', '-q', '-f', '', '-c', root() . '/t/chefs/apphead.lua',
		 '-c', $streamlog, '-r', "$dir/heads.pcap");
	my @both = map { $_->{payload} } grep { $_->{metadata}{chef} eq 'AppHead' } decode_lines($r->{out});
	is_deeply(\@both, \@got, 'the same beside a stream chef');
	SKIP: {
		skip('tshark is not installed', 2) unless $tshark;
		my @t = split /\n/, `tshark -r '$dir/heads.pcap' -o tcp.reassemble_out_of_order:TRUE -T fields -e frame.number -e tls.handshake.extensions_server_name -e tls.handshake.ja3 -Y 'tls.handshake.type == 1' 2>/dev/null`;
		is_deeply([map { [split /\t/] } @t], [[$tls->{frame}, $tls->{sni}, $tls->{ja3}]],
			  'frame, server name and JA3 are tshark\'s');
		@t = split /\n/, `tshark -r '$dir/heads.pcap' -T fields -e frame.number -e http.host -e http.request.uri -Y http.request 2>/dev/null`;
		is_deeply([map { [split /\t/] } @t], [[$req->{frame}, $req->{host}, $req->{uri}]],
			  'frame, host and URI are tshark\'s');
	}
}

# -------------------------------------------------------- against tshark

SKIP: {
	corpus_skip(1) unless have_corpus();
	skip('tshark is not installed', 1) unless $tshark;
	for my $file (qw(http-get.pcap dns_tcp.pcap tls-chrome-34-google.pcap wikipedia.pcap)) {
		my $path = pcap($file);
		unless (-e $path) { fail("$file is in the corpus") if $ENV{CI}; next }
		my @ev = events(decode_lines(run('kitchen', '--stdout', '-q', '-f', '', '-c', $streamlog,
						   '-r', $path, { timeout => 120 })->{out}));
		my %mine;
		$mine{"$_->{orig_p} $_->{resp_p} $_->{dir}"} .= $_->{hex} // "<gap $_->{gap}>"
			for grep { $_->{dir} } @ev;
		my @streams = split /\n/, `tshark -r '$path' -T fields -e tcp.stream -Y tcp 2>/dev/null | sort -un`;
		my $same = @streams > 0;
		for my $s (@streams) {
			my $out = `tshark -r '$path' -q -z follow,tcp,raw,$s 2>/dev/null`;
			my %theirs = (orig => '', resp => '');
			my @ports = $out =~ /^Node [01]: .*:(\d+)$/mg;
			for (split /\n/, $out) {
				next if /^(=|Follow|Filter|Node)/;
				$theirs{ /^\t/ ? 'resp' : 'orig' } .= s/^\t//r;
			}
			for my $d (qw(orig resp)) {
				my $m = $mine{"@ports $d"} // '';
				next if $m eq $theirs{$d};
				diag("$file stream $s $d: " . length($m) / 2 . " bytes here, "
				     . length($theirs{$d}) / 2 . " by tshark");
				$same = 0;
			}
		}
		ok($same, "$file: each direction's bytes are tshark's follow,tcp,raw");
	}
}

done_testing();
