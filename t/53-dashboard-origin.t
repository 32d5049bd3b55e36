#!/usr/bin/perl
# The Origin check in a real browser (headless Chromium): a page served
# from another origin (here a second hub's --web, on another port) opens a
# WebSocket to a hub on this machine. The hub refuses it, unless told with
# --allow-origin that this origin may; the hub's own dashboard is t/50's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

my $browser = need_browser();
my $pages = start_hub('--web', "$browser/foreign");
my $page_origin = "http://127.0.0.1:$pages->{out}";

sub visit {
	my ($hub) = @_;
	my $r = run(['node', "$browser/origin.js",
		     "$page_origin/?ws=ws://127.0.0.1:$hub->{out}/"], { timeout => 90 });
	return eval { json()->decode((split /\n/, $r->{out})[-1] // '') } // { fatal => $r->{out} . $r->{err} };
}

my $hub = start_hub();
my $seen = visit($hub);
is($seen->{origin}, $page_origin, 'the page comes from another origin') or diag(explain($seen));
is($seen->{result}, 'refused', 'its WebSocket to the hub is refused');
like(hub_log($hub), qr/refused an eater from \S+ with 403: Origin \Q$page_origin\E is not this hub's/,
     'the hub says so, naming the origin');
unlike(hub_log($hub), qr/foreign-page|eater \S+ joined/, 'and the page never ate');
stop($hub->{pid});

my $open = start_hub('--allow-origin', $page_origin);
$seen = visit($open);
is($seen->{result}, 'open', 'with --allow-origin naming it, the page gets in') or diag(explain($seen));
ok(joined($open, 'eater', 1), 'and eats');
stop($open->{pid});
stop($pages->{pid});

done_testing;
