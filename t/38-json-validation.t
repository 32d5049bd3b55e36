#!/usr/bin/perl
# The hub's check of every dumpling (src/base/jsonscan.c), through a real hub:
# an outside kitchen sends documents valid and not, an outside eater with
# no filter must get exactly the valid ones with a string metadata.chef, in
# order, and the status dumpling must count every other one as invalid.
# The rules are RFC 8259's; where cJSON was lenient ("01", "1.") the hub is
# not, because browsers are not. Keys and chef names mean what they say
# unescaped, and the first of duplicate members counts, as with cJSON.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'python3-websockets is not installed');

my $deep_ok = '{"metadata":{"chef":"Deep"},"payload":' . ('[' x 999) . (']' x 999) . '}';
my $deep_bad = '{"metadata":{"chef":"Deep"},"payload":' . ('[' x 1000) . (']' x 1000) . '}';

# [document, chef an eater filtering on it would see (undef: refused)]
my @cases = (
	['{"metadata":{"chef":"A"},"payload":1}', 'A'],
	[" \t{ \"metadata\" : { \"chef\" : \"A\" } , \"payload\" : [ ] } \t", 'A'],
	['{"metadata":{"chef":"A"},"payload":[0,-0,1.5,-1e10,2E+3,3e-2,12345678901234567890123]}', 'A'],
	['{"metadata":{"chef":"A"},"payload":"\"\\\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}', 'A'],
	['{"met\u0061data":{"ch\u0065f":"Ch\u00e9f \ud83d\ude00"}}', "Ch\x{e9}f \x{1f600}"],
	['{"metadata":{"chef":"First","chef":"Second"}}', 'First'],
	['{"metadata":{"chef":"A","kitchen":7,"driver":null},"payload":{"a":[],"b":{},"c":true,"d":false}}', 'A'],
	["{\"metadata\":{\"chef\":\"\x{65e5}\x{672c}\"},\"payload\":\"\x{1f600}\"}", "\x{65e5}\x{672c}"],
	[$deep_ok, 'Deep'],
	# not JSON
	['{"metadata":{"chef":"A"},"payload":01}', undef],
	['{"metadata":{"chef":"A"},"payload":+1}', undef],
	['{"metadata":{"chef":"A"},"payload":1.}', undef],
	['{"metadata":{"chef":"A"},"payload":.5}', undef],
	['{"metadata":{"chef":"A"},"payload":1e}', undef],
	['{"metadata":{"chef":"A"},"payload":-}', undef],
	['{"metadata":{"chef":"A"},"payload":0x10}', undef],
	['{"metadata":{"chef":"A"},"payload":NaN}', undef],
	['{"metadata":{"chef":"A"},"payload":Infinity}', undef],
	['{"metadata":{"chef":"A"},"payload":tru}', undef],
	['{"metadata":{"chef":"A"},}', undef],
	['{"metadata":{"chef":"A"},"payload":[1,]}', undef],
	['{"metadata":{"chef":"A"},"payload":[1 2]}', undef],
	["{'metadata':{'chef':'A'}}", undef],
	['{metadata:{"chef":"A"}}', undef],
	['{"metadata":{"chef":"A"}} x', undef],
	['{"metadata":{"chef":"A"}}{"metadata":{"chef":"A"}}', undef],
	['{"metadata":{"chef":"A"},"payload":"\ud800"}', undef],
	['{"metadata":{"chef":"A"},"payload":"\udc00"}', undef],
	['{"metadata":{"chef":"A"},"payload":"\ud800\u0041"}', undef],
	['{"metadata":{"chef":"A"},"payload":"\x41"}', undef],
	['{"metadata":{"chef":"A"},"payload":"\u12G4"}', undef],
	["{\"metadata\":{\"chef\":\"A\"},\"payload\":\"a\tb\"}", undef],
	['{"metadata":{"chef":"A"},"payload":"open}', undef],
	['{"metadata":{"chef":"A"}', undef],
	['{"metadata":{"chef":"A"}} /* comment */', undef],
	['', undef],
	[$deep_bad, undef],
	# JSON, but not a dumpling
	['[{"metadata":{"chef":"A"}}]', undef],
	['"metadata"', undef],
	['{"metadata":"A"}', undef],
	['{"metadata":{"chef":1}}', undef],
	['{"metadata":{"chef":null}}', undef],
	['{"metadata":{"kitchen":"k"}}', undef],
	['{"metadata":1,"metadata":{"chef":"A"}}', undef],
	['{"metadata":{"chef":5,"chef":"A"}}', undef],
	['{"payload":{"metadata":{"chef":"A"}}}', undef],
);

my $hub = start_hub('--status-freq', '0.3');
my $dir = $hub->{dir};
open my $fh, '>:encoding(UTF-8)', "$dir/raw" or die "raw: $!";
print $fh "$_->[0]\n" for @cases;
close $fh;

my $eater = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--skip-status',
			 '--count', scalar(grep { defined $_->[1] } @cases), '--timeout', 20),
		  out => "$dir/eat.out", err => "$dir/eat.err");
ok(joined($hub, 'eater', 1), 'an eater with no filter joins');
# a filtering eater: the hub compares the chef names it reads with the filter
my $picky = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--skip-status', '--count', 1,
			 '--hello', '{"chefs": ["Ch\u00e9f \ud83d\ude00"]}', '--timeout', 20),
		  out => "$dir/picky.out", err => "$dir/picky.err");
my $first = spawn(py_cmd('eater_client.py', '--port', $hub->{out}, '--skip-status', '--count', 1,
			 '--hello', '{"chefs": ["First"]}', '--timeout', 20),
		  out => "$dir/first.out", err => "$dir/first.err");
ok(joined($hub, 'eater', 3), 'and two that want only chef "Ch\x{e9}f \x{1f600}" or "First"');
my $k = py('kitchen_client.py', '--port', $hub->{in}, '--raw', "$dir/raw", '--hold', 1);
is(reap($eater, 30), 0, 'the eater got as many dumplings as were valid')
	or diag(slurp("$dir/eat.err"));
is(reap($picky, 30), 0, 'the picky eaters got theirs');
is(reap($first, 30), 0, 'both');

my @got = grep { !/"SystemStatusChef"/ } grep { length } split /\n/, slurp("$dir/eat.out") // '';
my @want = map { my $d = $_->[0]; utf8::encode($d); $d }
	grep { defined $_->[1] } @cases;
is(scalar @got, scalar @want, 'as many as were valid');
is_deeply(\@got, \@want, 'exactly those, as they were sent, in order');
like(slurp("$dir/picky.out"), qr/ch\\u0065f":"Ch\\u00e9f/, 'the picky eater got the escaped one');
like(slurp("$dir/first.out"), qr/"chef":"First","chef":"Second"/,
     'the first of two chef members is the one filtered on');

my $status = hub_status($hub);
my $refused = grep { !defined $_->[1] } @cases;
is($status->{total_dumplings_invalid}, $refused, "every other message was counted invalid ($refused)");
is($status->{total_dumplings_in}, scalar @want, 'and the valid ones as in');
is(stop($hub->{pid}), 0, 'the hub stops');

done_testing;
