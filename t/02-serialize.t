#!/usr/bin/perl
# The serializer's rules (DESIGN.md): arrays vs objects, numbers, UTF-8,
# null, and the values that cannot be JSON, which are logged and skipped
# while the kitchen carries on. One case per packet of a capture.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

need_corpus();
use JSON::PP;

my $r = run('kitchen', '--stdout', '-f', '', '-c', root() . '/t/chefs/cases.lua',
	    '-r', pcap('wikipedia.pcap'));
is($r->{status}, 0, 'kitchen exits 0 despite unserializable results');

my @lines = grep { length } split /\n/, $r->{out};
my $json = JSON::PP->new->utf8;
my @docs = map { $json->decode($_) } @lines;
ok(@docs == grep({ $_->{metadata}{chef} eq 'CasesChef' } @docs), 'every dumpling is from CasesChef');
my @payloads = map { $_->{payload} } @docs;
my @raw = map { /"payload":(.*)\}$/ ? $1 : '' } @lines;

my @expect = (
	[ [1, 2, 3], 'a table with keys 1..n is an array' ],
	[ { a => 1, b => 'x' }, 'other tables are objects' ],
	[ {}, 'the empty table is an object' ],
	[ [], 'dumplings.array() makes an empty array' ],
	[ { 1 => 'a', 3 => 'c' }, 'a sparse table is an object with string keys' ],
	[ { 1 => 1, 2 => 2, x => 3 }, 'a mixed table is an object' ],
	[ { big => 9007199254740992, f => 1.5, n => 3, neg => -7 }, 'numbers' ],
	[ "caf\x{e9} \x{1f95f}", 'valid UTF-8 is kept' ],
	[ "a\x{ff}b\x{80}c", 'stray bytes become the code points of their values' ],
	[ "nul\x{0}inside", 'an embedded NUL is kept' ],
	[ { v => undef }, 'dumplings.null is JSON null' ],
	[ [JSON::PP::true, JSON::PP::false], 'booleans' ],
	[ { a => [1, 2], b => [1, 2] }, 'a table referenced twice is not a cycle' ],
	[ 42, 'a bare number is a payload' ],
	[ qq("quotes" and \\ and \n newline), 'quotes, backslashes and newlines survive' ],
	[ { "k\x{ff}" => 1 }, 'stray bytes in keys are kept too' ],
	[ { '10' => 'y', '2.5' => 'x' }, 'number keys become strings' ],
	[ "\x{ff}\"\\\n\t\x{1}\x{7f}", 'stray bytes and escapes in one string' ],
	[ { "q\"\x{ff}\n" => 1 }, 'stray bytes and escapes in one key' ],
	[ { t => 1700000000.123456, s => -0.001, z => 0 }, 'fractions and zero' ],
	[ { "k\x{0}ey" => "v\x{0}" }, 'a NUL in a key is kept, as in a value' ],
	[ {}, 'dumplings.object() makes an empty object' ],
	[ { 1 => 'a', 2 => 'b' }, 'a table keyed 1..n marked with dumplings.object() is an object' ],
	[ { 1 => 'x' }, 'and so with one key' ],
	[ { inner => { 1 => 7 } }, 'and so when nested' ],
);
is(scalar @docs, scalar @expect, 'one dumpling per serializable case, none for the rest');
for my $i (0 .. $#expect) {
	is_deeply($payloads[$i], $expect[$i][0], $expect[$i][1]);
}
is($raw[2], '{}', 'the empty table prints as {}');
is($raw[3], '[]', 'the marked empty table prints as []');
is($raw[21], '{}', 'the empty marked object prints as {}');
is($raw[22], '{"1":"a","2":"b"}', 'a marked 1..n table prints as an object');
like($raw[6], qr/"big":9007199254740992[,}]/, 'a large integer prints all its digits');
like($raw[6], qr/"n":3[,}]/, 'an integral number prints without a fraction');
like($raw[9], qr/\\u0000/, 'NUL is escaped as \u0000');
is($raw[14], '"\\"quotes\\" and \\\\ and \\n newline"', 'escapes are spelled as cJSON spells them');
is($raw[17], qq("\x{c3}\x{bf}\\"\\\\\\n\\t\\u0001\x{7f}"), 'and so with stray bytes about');
is($raw[18], qq({"q\\"\x{c3}\x{bf}\\n":1}), 'and so in keys');
like($raw[19], qr/"t":1700000000\.123456[,}]/, 'a timestamp keeps its microseconds');
like($raw[19], qr/"s":-0\.001[,}]/, 'a small negative fraction');
like($raw[19], qr/"z":0[,}]/, 'zero is 0');
is($raw[20], '{"k\\u0000ey":"v\\u0000"}', 'NUL is escaped as \u0000 in keys too');

my @errors = (
	[ 'table contains itself \(a cycle\)', 'a cycle' ],
	[ 'a function cannot be serialized', 'a function' ],
	[ 'NaN or infinite number', 'NaN and infinity' ],
	[ 'tables nested more than 64 deep', 'nesting too deep' ],
	[ 'table key that is neither a string nor a number', 'a table as key' ],
	[ 'only tables, strings, numbers and booleans', 'a coroutine' ],
);
for my $e (@errors) {
	like($r->{err}, qr/chef CasesChef: dumpling skipped: $e->[0]/, "$e->[1] is logged with the chef's name");
}
like($r->{err}, qr/7 unserializable results/, 'the kitchen counts the skipped dumplings');

done_testing;
