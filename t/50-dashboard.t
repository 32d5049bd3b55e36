#!/usr/bin/perl
# The dashboard in a real browser: a hub, two kitchens replaying captures
# (one from the shared corpus, the bundled sample) and headless Chromium
# (driven by playwright-core, t/browser/dashboard.js) showing what they
# cooked: the DNS names, the packet counts the kitchens reported, the
# kitchens in the hub status. Then the hub restarts and the page must
# reconnect by itself.
#
# DUMPLINGS_DOCS_SCREENSHOT=1 also copies the live screenshot to
# docs/dashboard.png, the picture in the README.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Spec;
use Test::More;
use TestLib;
use HubTest;

my $browser = need_browser();
need_corpus();

my @chefs = map { ('-c', $_) } qw(dns packetcount arp servernames);
# Paths relative to where the test runs, as a user would type them (they
# show in the page, and in the README's picture).
my %kitchens = (
	corpus => { file => File::Spec->abs2rel(pcap('dns-long-connection.pcap')), speed => 60 },
	sample => { file => File::Spec->abs2rel(root() . '/examples/sample.pcap'), speed => 3 },
);

# What a kitchen will report, cooked first without a hub: the names it
# looks up, and its last (running total) packet counts.
sub expected {
	my ($file) = @_;
	my $r = run('kitchen', '-q', @chefs, '-r', $file, '--stdout');
	die "kitchen failed: $r->{err}" if $r->{status};
	my (%names, $counts);
	for my $d (decode_lines($r->{out})) {
		my $m = $d->{metadata};
		$names{ $d->{payload}{lookup}{hostname} } = 1
			if $m->{chef} eq 'DNSLookupChef' && $m->{driver} eq 'packet';
		$counts = $d->{payload}{packet_counts} if $m->{chef} eq 'PacketCountChef';
	}
	return ([sort keys %names], $counts);
}

# Wait until a file (a log, the browser's output) matches.
sub shows {
	my ($file, $re, $timeout) = @_;
	return wait_for { (slurp($file) // '') =~ $re } $timeout;
}

my (%expect_dns, %expect_counts);
for my $name (sort keys %kitchens) {
	($expect_dns{$name}, $expect_counts{$name}) = expected($kitchens{$name}{file});
}
ok(@{ $expect_dns{corpus} } >= 5, 'the corpus capture has DNS lookups to show');

my $hub = start_hub('--status-freq', '0.25');
my $dir = $hub->{dir};
spew("$dir/expect.json", json()->encode({
	dns => [map { @$_ } values %expect_dns],
	packets => \%expect_counts,
	kitchens => [sort keys %kitchens],
}));
my $url = "http://127.0.0.1:$hub->{out}/";
my $node = spawn(['node', "$browser/dashboard.js", $url, "$dir/expect.json", $dir],
		 out => "$dir/node.out", err => "$dir/node.err");
unless (ok(shows("$dir/node.out", qr/^(connected|\{.*)$/m, 60) &&
	   slurp("$dir/node.out") =~ /^connected$/m, 'the page loads and connects')) {
	diag(slurp("$dir/node.out"), slurp("$dir/node.err"));
	stop($node, 'KILL');
	done_testing;
	exit;
}
ok(joined($hub, 'eater', 1), 'the hub counts the page as an eater');

my @kpids = map {
	spawn([bin(), 'kitchen', '-q', '-n', $_, '-H', "127.0.0.1:$hub->{in}", @chefs,
	       '-r', $kitchens{$_}{file}, '--speed', $kitchens{$_}{speed}],
	      err => "$dir/kitchen-$_.err")
} sort keys %kitchens;
is(reap($_, 60), 0, 'a kitchen replayed its capture') for @kpids;

ok(shows("$dir/node.out", qr/^\{.*\}$/m, 90), 'the browser reports')
	or diag(slurp("$dir/node.err"));
my ($line) = (slurp("$dir/node.out") // '') =~ /^(\{.*\})$/m;
my $report = json()->decode($line // '{}');
diag($report->{fatal}) if $report->{fatal};
my $page = $report->{page} // {};

is($page->{connection}, 'open', 'the page is connected');
my %shown = map { $_ => 1 } @{ $page->{dns} // [] };
for my $name (sort keys %kitchens) {
	my @missing = grep { !$shown{$_} } @{ $expect_dns{$name} };
	is_deeply(\@missing, [], "every DNS name from $name is in the feed");
	is_deeply($page->{packets}{$name}, $expect_counts{$name},
		  "the chart shows the packet counts $name reported");
}
is_deeply($report->{kitchensSeen}, [sort keys %kitchens], 'the hub status listed both kitchens');
ok(grep({ $_ eq 'dashboard' } @{ $page->{eaters} // [] }), 'and the page itself as an eater');
ok(($page->{arp} // 0) > 0, 'ARP activity is shown');
my %cards = map { $_ => 1 } @{ $page->{cards} // [] };
ok($cards{$_}, "the latest dumpling of $_ is shown")
	for 'DNSLookupChef/corpus', 'PacketCountChef/sample', 'ServerNameChef/sample',
	    'SystemStatusChef/(hub)';
is_deeply($report->{errors}, [], 'no errors in the page');
ok(-s "$dir/final.png", "a screenshot is saved ($dir/final.png)");
ok(-s "$dir/live.png", 'and one while the kitchens were cooking');
if ($ENV{DUMPLINGS_DOCS_SCREENSHOT} && -s "$dir/live.png") {
	mkdir root() . '/docs';
	copy("$dir/live.png", root() . '/docs/dashboard.png') or die "docs/dashboard.png: $!";
}

# ---- a page opened once the kitchens are done --------------------------------
# It asks for each kitchen and chef's latest dumpling ("latest": true), so it
# shows the kitchens' final packet counts at once, not an empty chart.

mkdir "$dir/late";
spew("$dir/late/expect.json", json()->encode({ dns => [], packets => \%expect_counts, kitchens => [] }));
my $late = spawn(['node', "$browser/dashboard.js", $url, "$dir/late/expect.json", "$dir/late"],
		 out => "$dir/late/node.out", err => "$dir/late/node.err");
ok(shows("$dir/late/node.out", qr/^\{.*\}$/m, 90), 'a page opened after the kitchens finished reports')
	or diag(slurp("$dir/late/node.err"));
my ($late_line) = (slurp("$dir/late/node.out") // '') =~ /^(\{.*\})$/m;
my $late_page = json()->decode($late_line // '{}')->{page} // {};
is_deeply($late_page->{packets}{$_}, $expect_counts{$_}, "it shows ${_}'s final packet counts at once")
	for sort keys %kitchens;
stop($late, 'KILL');

# ---- the hub restarts; the page comes back by itself ------------------------

is(stop($hub->{pid}), 0, 'the hub stops');
my $again = spawn([bin(), 'hub', '-a', '127.0.0.1', '--in-port', $hub->{in},
		   '--out-port', $hub->{out}, '--status-freq', '0.25'], err => "$dir/hub2.err");
ok(shows("$dir/hub2.err", qr/eater \S+ joined/, 30), 'the page joins the restarted hub');
is(reap($node, 40), 0, 'the browser finished');
like(slurp("$dir/node.out"), qr/^\{"reconnected":true\}$/m, 'the page saw itself reconnect');
is(stop($again), 0, 'the second hub stops');
unlike(hub_log($hub) . slurp("$dir/hub2.err"), qr/error/i, 'no errors in the hub logs');

done_testing;
