#!/usr/bin/perl
# HTTP on the hub's eater port: the bundled dashboard's files, --web DIR
# and the paths that must not get out of it, and GET /metrics in the
# Prometheus text format, checked against a status dumpling's numbers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use TestLib;
use HubTest;
use Pcap;

# One request, sent as given (no client tidies the path on our behalf);
# returns {status, headers => {lowercase name => value}, body}.
sub http {
	my ($port, $target, $method) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
		or die "connect: $!";
	print $s ($method // 'GET') . " $target HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n" .
		"Connection: close\r\n\r\n";
	local $/;
	my $raw = <$s> // '';
	close $s;
	my ($head, $body) = split /\r\n\r\n/, $raw, 2;
	my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d{3})};
	my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head // '';
	return { status => $status // 0, headers => \%h, body => $body // '' };
}

# ---- the bundled dashboard ---------------------------------------------------

my $hub = start_hub('--status-freq', '0.3');
my $r = http($hub->{out}, '/');
is($r->{status}, 200, 'GET / answers 200');
like($r->{headers}{'content-type'}, qr{^text/html}, 'with HTML');
like($r->{body}, qr/dashboard\.js/, 'the bundled dashboard');
for my $file (qw(dashboard.js dashboard.css index.html)) {
	my $f = http($hub->{out}, "/$file");
	is($f->{status}, 200, "GET /$file answers 200");
	is($f->{body}, slurp(root() . "/web/$file"), "and sends web/$file as it is");
}
like(http($hub->{out}, '/dashboard.js')->{headers}{'content-type'}, qr{^text/javascript},
     'JavaScript is served as such');
is(http($hub->{out}, '/no-such-page')->{status}, 404, 'an unknown path is 404');
is(http($hub->{out}, '/metrics/extra')->{status}, 404, 'so is one below /metrics');
is(http($hub->{out}, '/metrics', 'POST')->{status}, 405, 'only GET is served');

# ---- --web DIR, and no way out of it ----------------------------------------

my $tmp = tmpdir();
mkdir "$tmp/web";
mkdir "$tmp/web/sub";
spew("$tmp/web/index.html", "<title>my own page</title>\n");
spew("$tmp/web/sub/page.txt", "a page\n");
spew("$tmp/web/.hidden", "hidden\n");
spew("$tmp/secret.txt", "top secret\n");
symlink('../secret.txt', "$tmp/web/escape.txt") or die "symlink: $!";
symlink('..', "$tmp/web/up") or die "symlink: $!";

my $own = start_hub('--web', "$tmp/web");
is(http($own->{out}, '/')->{body}, "<title>my own page</title>\n", '--web serves its index.html');
is(http($own->{out}, '/sub/page.txt')->{body}, "a page\n", 'and files below it');
is(http($own->{out}, '/dashboard.js')->{status}, 404, 'and not the bundled dashboard');
is(http($own->{out}, '/metrics')->{status}, 200, '/metrics is still there');

my @escapes = ('/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt',
	'/sub/../../secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt',
	'/%2e%2e%2fsecret.txt', '/%252e%252e/secret.txt', '/sub/..%5c..%5csecret.txt',
	"/$tmp/secret.txt", "/%2f$tmp/secret.txt", '//etc/passwd', '/%2fetc%2fpasswd',
	'/escape.txt', '/up/secret.txt', '/.hidden', '/sub', '/sub/', '/nope.html');
for my $path (@escapes) {
	my $got = http($own->{out}, $path);
	is($got->{status}, 404, "GET $path is 404");
	unlike($got->{body}, qr/top secret|root:/, "GET $path leaks nothing");
}
# libwebsockets itself refuses a request target that is not an absolute path
for my $path ('../secret.txt', "http://127.0.0.1:$own->{out}/../secret.txt") {
	my $got = http($own->{out}, $path);
	isnt($got->{status}, 200, "GET $path is refused ($got->{status})");
	unlike($got->{body}, qr/top secret/, "GET $path leaks nothing");
}
is(stop($own->{pid}), 0, 'the --web hub stops cleanly');
unlike(hub_log($own), qr/error/i, 'with no errors logged');

$r = run('hub', '--in-port', free_port(), '--out-port', free_port(), '--web', "$tmp/none");
is($r->{status}, 1, '--web with a missing directory fails');
like($r->{err}, qr{--web \Q$tmp\E/none: not a directory}, 'saying which');

# ---- /metrics against the status dumpling ------------------------------------

# {name => [{labels => {...}, value => N}]}, checking the format as we go.
sub parse_metrics {
	my ($text) = @_;
	my (%m, %typed, @bad);
	for my $line (split /\n/, $text) {
		if ($line =~ /^# TYPE (\w+) (counter|gauge)$/) {
			$typed{$1} = 1;
		} elsif ($line =~ /^# HELP \w+ \S/) {
		} elsif ($line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+)$/) {
			my ($name, $labels, $value) = ($1, $2 // '', $3);
			push @bad, "$line (no TYPE)" unless $typed{$name};
			my %l;
			while ($labels =~ /\G(\w+)="((?:[^"\\]|\\.)*)",?/gc) {
				my ($k, $v) = ($1, $2);
				$v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
				$l{$k} = $v;
			}
			push @bad, $line if (pos($labels) // 0) != length $labels;
			push @{ $m{$name} }, { labels => \%l, value => $value + 0 };
		} else {
			push @bad, $line;
		}
	}
	return (\%m, \@bad);
}

sub one { my ($m, $name) = @_; return $m->{"dumplings_hub_$name"}[0]{value} }

sub series {
	my ($m, $name, $label, $value, $peer) = @_;
	my ($s) = grep { $_->{labels}{$label} eq $value && $_->{labels}{peer} eq $peer }
		@{ $m->{"dumplings_hub_$name"} // [] };
	return $s ? $s->{value} : undef;
}

SKIP: {
	skip 'python3-websockets is not installed', 1 unless pyok();
	my $odd = 'beta "b" \\ k';
	my $bad = "$tmp/bad.ndjson";
	spew($bad, "not json\n[1]\n");
	my @k = (spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--name', 'alpha',
			      '--count', 7, '--raw', $bad, '--hold', 60)),
		 spawn(py_cmd('kitchen_client.py', '--port', $hub->{in}, '--name', $odd,
			      '--count', 3, '--hold', 60)));
	my $eater = spawn([bin(), 'eat', '--json', '-n', 'metrics-eater', '-H', "127.0.0.1:$hub->{out}"]);
	ok(joined($hub, 'kitchen', 2) && joined($hub, 'eater', 1), 'two kitchens and an eater joined');
	my $sent = wait_for { my ($m) = parse_metrics(http($hub->{out}, '/metrics')->{body});
			      (one($m, 'dumplings_in_total') // 0) == 10 } 20;
	ok($sent, 'the kitchens have sent');

	my $st = hub_status($hub);
	$r = http($hub->{out}, '/metrics');
	is($r->{status}, 200, 'GET /metrics answers 200');
	like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'in the text format');
	my ($m, $badlines) = parse_metrics($r->{body});
	is_deeply($badlines, [], 'every line is a HELP, a TYPE or a sample of a typed metric');

	is(one($m, 'dumplings_in_total'), $st->{total_dumplings_in}, 'dumplings in match the status');
	is(one($m, 'dumplings_in_total'), 10, 'and are what the kitchens sent');
	is(one($m, 'dumplings_invalid_total'), $st->{total_dumplings_invalid}, 'invalid dumplings match');
	is(one($m, 'dumplings_invalid_total'), 2, 'and are what the kitchen botched');
	is(one($m, 'dumplings_dropped_total'), $st->{total_dumplings_dropped}, 'drops match');
	is(one($m, 'kitchens'), $st->{dumpling_kitchen_count}, 'connected kitchens match');
	ok(one($m, 'dumplings_out_total') >= $st->{total_dumplings_out}, 'dumplings out only grew');
	my $up = one($m, 'uptime_seconds');
	ok($up >= $st->{server_uptime} && $up < $st->{server_uptime} + 10, 'uptime follows the status');
	is(one($m, 'queue_capacity_dumplings'), $st->{queue_capacity}, 'queue capacity matches');
	is(one($m, 'queue_capacity_bytes'), $st->{queue_bytes_capacity}, 'queue bytes capacity matches');
	ok(defined one($m, $_), "$_ is exported") for qw(queue_dumplings queue_bytes
		messages_oversized_total hellos_missing_total hellos_invalid_total
		eaters_disconnected_slow_total);

	for my $k (@{ $st->{dumpling_kitchens} }) {
		my $name = $k->{info_from_kitchen}{kitchen_name};
		my $peer = "$k->{info_from_hub}{host}:$k->{info_from_hub}{port}";
		is(series($m, 'kitchen_dumplings_in_total', 'kitchen', $name, $peer), $k->{dumplings_in},
		   "dumplings in from kitchen '$name' match");
		is(series($m, 'kitchen_dumplings_invalid_total', 'kitchen', $name, $peer),
		   $k->{dumplings_invalid}, "invalid from kitchen '$name' match");
	}
	is(scalar @{ $st->{dumpling_kitchens} }, 2, 'both kitchens are in the status');
	ok(defined series($m, 'kitchen_dumplings_in_total', 'kitchen', $odd, $_->{labels}{peer}),
	   'a name with quotes and a backslash survives label escaping')
		for grep { $_->{labels}{kitchen} eq $odd } @{ $m->{dumplings_hub_kitchen_dumplings_in_total} };

	my ($e) = grep { $_->{info_from_eater}{eater_name} eq 'metrics-eater' } @{ $st->{dumpling_eaters} };
	ok($e, 'the eater is in the status');
	my $peer = "$e->{info_from_hub}{host}:$e->{info_from_hub}{port}";
	ok(series($m, 'eater_dumplings_out_total', 'eater', 'metrics-eater', $peer) >= $e->{dumplings_out},
	   'its dumplings out only grew');
	is(series($m, 'eater_dumplings_dropped_total', 'eater', 'metrics-eater', $peer),
	   $e->{dumplings_dropped}, 'its drops match');
	ok(defined series($m, 'eater_queue_depth', 'eater', 'metrics-eater', $peer), 'its queue depth is exported');
	is(one($m, 'eaters'), scalar @{ $m->{dumplings_hub_eater_dumplings_out_total} },
	   'one series per connected eater');
	stop($_) for @k, $eater;

	# the original's sample page: a plain WebSocket upgrade on "/" of the
	# port that also serves HTTP, hello {"eater_name": "webnom"}
	$r = py('eater_client.py', '--port', $hub->{out}, '--name', 'webnom', '--count', 1,
		'--timeout', 20);
	my ($d) = decode_lines($r->{out});
	is($d && $d->{metadata}{chef}, 'SystemStatusChef', 'a WebSocket eater on "/" is still fed');
}

# ---- what kitchens report of themselves, by kitchen name ----------------------

# The value of the one series of name with exactly these labels, or undef;
# dies if there are two.
sub labelled {
	my ($m, $name, %want) = @_;
	my @s = grep { my $l = $_->{labels};
		       keys %$l == keys %want && !grep { ($l->{$_} // "\0") ne $want{$_} } keys %want }
		@{ $m->{"dumplings_hub_$name"} // [] };
	die "two series of $name with the same labels" if @s > 1;
	return @s ? $s[0]{value} : undef;
}

SKIP: {
	skip 'python3-websockets is not installed', 1 unless pyok();
	my $khub = start_hub('--status-freq', '0.3');
	my $metrics = sub { my ($m, $bad) = parse_metrics(http($khub->{out}, '/metrics')->{body});
			    die "bad lines: @$bad" if @$bad; $m };
	# The kitchen talks to the hub through a relay the test can cut, so
	# that it reconnects (from another port, under the same name) while
	# the hub stays up. Its capture lasts 10 s, paced.
	my $relay_port = free_port();
	my $relay = spawn(py_cmd('cut_proxy.py', '--listen', $relay_port, '--to', $khub->{in}),
			  out => "$tmp/relay.out", err => "$tmp/relay.err");
	ok(wait_for_port($relay_port), 'a relay in front of the hub');
	my $paced = "$tmp/paced.pcap";
	write_pcap($paced, 1, map { ether(0x0800, ipv4(17, udp(1024 + $_, 53, 'x'))) } 1 .. 3000);
	my $kname = "health \"k\" \\ 1";
	my $kpid = spawn([bin(), 'kitchen', '-n', $kname, '-f', '', '-r', $paced, '--speed', 300,
			  '-c', 'packetcount', '-c', 'dns', '-H', "127.0.0.1:$relay_port",
			  '--status-interval', '0.1'], err => "$tmp/health-kitchen.err");
	my %src = (kitchen => $kname, source => $paced);
	my %chef = (kitchen => $kname, chef => 'PacketCountChef');
	my $m1;
	ok(wait_for(sub { $m1 = $metrics->(); (labelled($m1, 'kitchen_packets_total', kitchen => $kname) // 0) > 0 }, 20),
	   'a kitchen\'s KitchenStatusChef reports reach /metrics, labelled by its name');
	my ($peer1) = map { $_->{labels}{peer} } grep { $_->{labels}{kitchen} eq $kname }
		@{ $m1->{dumplings_hub_kitchen_dumplings_in_total} };
	ok(defined labelled($m1, 'kitchen_source_packets_total', %src), 'per source, labelled by source');
	ok(defined labelled($m1, 'kitchen_chef_calls_total', %chef), 'per chef, labelled by chef');
	is(labelled($m1, 'kitchen_uplink_reconnects_total', kitchen => $kname), 0, 'no reconnect yet');

	kill 'USR1', $relay;
	my $m2;
	ok(wait_for(sub { $m2 = $metrics->(); (labelled($m2, 'kitchen_uplink_reconnects_total', kitchen => $kname) // 0) >= 1 }, 30),
	   'after its connection is cut, the kitchen reconnects and reports so');
	my ($peer2) = map { $_->{labels}{peer} } grep { $_->{labels}{kitchen} eq $kname }
		@{ $m2->{dumplings_hub_kitchen_dumplings_in_total} };
	ok($peer1 && $peer2 && $peer1 ne $peer2, "from another port ($peer1, then $peer2)");
	my @growing = (['kitchen_packets_total', kitchen => $kname], ['kitchen_source_packets_total', %src],
		   ['kitchen_source_filter_passed_total', %src], ['kitchen_chef_calls_total', %chef],
		   ['kitchen_chef_dumplings_total', %chef], ['kitchen_uplink_sent_total', kitchen => $kname],
		   ['kitchen_uplink_last_seq', kitchen => $kname],
		   ['kitchen_flows_created_total', kitchen => $kname]);
	# The reader notes its flow counts on its own clock, which may lag
	# the cook thread's by the batches queued between them: a slow
	# machine is given a few more reports for every number to move on.
	wait_for(sub {
		!grep { (labelled($m2, @$_) // -1) <= (labelled($m1, @$_) // 0) } @growing
			or do { $m2 = $metrics->(); 0 } }, 10);
	for my $s (@growing) {
		my ($before, $after) = (labelled($m1, @$s), labelled($m2, @$s));
		ok(defined $after && $after > $before, "$s->[0] goes on under the same labels and grew"
		   . " ($before, then " . ($after // 'none') . ')');
	}
	for my $s (['kitchen_source_kernel_dropped_total', %src], ['kitchen_source_interface_dropped_total', %src],
		   ['kitchen_chef_errors_total', %chef], ['kitchen_chef_seconds_total', %chef],
		   ['kitchen_uplink_buffered', kitchen => $kname], ['kitchen_uplink_dropped_total', kitchen => $kname],
		   ['kitchen_uptime_seconds', kitchen => $kname], ['kitchen_status_age_seconds', kitchen => $kname],
		   ['kitchen_flows_active', kitchen => $kname], ['kitchen_fragments_pending', kitchen => $kname],
		   ['kitchen_fragments_reassembled_total', kitchen => $kname],
		   ['kitchen_streams_memory_bytes', kitchen => $kname],
		   ['kitchen_flows_events_dropped_total', kitchen => $kname]) {
		ok(defined labelled($m2, @$s), "$s->[0] is there too");
	}
	is(scalar(grep { $_->{labels}{kitchen} eq $kname } @{ $m2->{dumplings_hub_kitchen_packets_total} }), 1,
	   'one series per kitchen name, not one per connection');
	stop($kpid, 'TERM');
	ok(wait_for(sub { my @left = hub_log($khub) =~ /kitchen \S+ left/g; @left == 2 }, 20),
	   'the kitchen has gone');
	my $m3 = $metrics->();
	ok(defined labelled($m3, 'kitchen_packets_total', kitchen => $kname), 'its series stay, with its last report');

	# Counters are named _total, gauges are not; every family has HELP.
	my $text = http($khub->{out}, '/metrics')->{body};
	my %types = $text =~ /^# TYPE (\w+) (\w+)$/mg;
	my @misnamed = grep { ($types{$_} eq 'counter') != /_total$/ } keys %types;
	is_deeply(\@misnamed, [], 'counters, and only counters, end in _total');

	# The books are bounded like the seq books: 1024 kitchens, the one heard
	# from longest ago giving way. One connection reports for 1100 names.
	my $reports = "$tmp/reports.ndjson";
	spew($reports, join '', map {
		JSON::PP->new->canonical->encode({ metadata => { chef => 'KitchenStatusChef', kitchen => "many-$_",
								 driver => 'interval' },
						   payload => { packets => $_, sources => [], chefs => {} } }) . "\n"
	} 1 .. 1100);
	py('kitchen_client.py', '--port', $khub->{in}, '--name', 'reporter', '--raw', $reports, '--hold', 1);
	my $m4 = $metrics->();
	my %many = map { $_->{labels}{kitchen} => $_->{value} }
		grep { $_->{labels}{kitchen} =~ /^many-/ } @{ $m4->{dumplings_hub_kitchen_packets_total} };
	is(scalar keys %many, 1024, 'at most 1024 kitchens are kept');
	ok(!defined labelled($m4, 'kitchen_packets_total', kitchen => $kname) && !exists $many{'many-76'}
	   && $many{'many-77'} == 77 && $many{'many-1100'} == 1100,
	   'those heard from longest ago gave way: the kitchen above, then the first 76');
	stop($relay);
	is(stop($khub->{pid}), 0, 'that hub stops cleanly');
}

is(stop($hub->{pid}), 0, 'the hub stops cleanly');
unlike(hub_log($hub), qr/error/i, 'with no errors logged');

done_testing;
