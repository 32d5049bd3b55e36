#!/usr/bin/perl
# dumplings eat, exact and safe: a string with a NUL inside reaches every
# mode whole (cJSON would cut it there), and no mode writes a C1 or
# bidirectional control raw, while --json stays the same JSON (a parser
# reads the same code points back). Against the stand-in hub of t/31.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

plan skip_all => 'python3-websockets is not installed' unless pyok();

my $dir = tmpdir();
my $j = JSON::PP->new->canonical->utf8;

# fake(\@eat_args, \@lines) runs an eater against a fake hub sending those
# lines, then closing with 1000; returns the eater's result.
sub fake {
	my ($args, $lines) = @_;
	my $port = free_port();
	my $file = "$dir/lines.$port";
	spew($file, join '', map { "$_\n" } @$lines);
	my $fpid = spawn(py_cmd('fake_hub.py', '--port', $port, '--file', $file, '--close', 1000));
	wait_for_port($port) or die 'fake hub did not start';
	my $r = run('eat', '-H', "127.0.0.1:$port", '--color', 'never', @$args, { timeout => 30 });
	reap($fpid, 20);
	return $r;
}

my $hidden = qr/\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]/;

my $nul = "nul\0byte.example.com";
my $controls = "csi\x{9b}31m rlo\x{202e}txt lrm\x{200e} alm\x{61c} fsi\x{2068} nel\x{85} ok\x{263a}";
my %payload = (lookup => { hostname => $nul }, "key\0with nul" => 'v', "key\x{202e}" => $controls);
my $dumpling = $j->encode({ metadata => { chef => 'DNSLookupChef', kitchen => 'k', driver => 'packet',
	creation_time => 1.5 }, payload => \%payload });
like($dumpling, qr/nul\\u0000byte/, 'the dumpling sent spells the NUL as \u0000');
like($dumpling, $hidden, 'and holds the controls raw, as valid JSON may');

# --json: the same JSON, with the controls escaped.
my $r = fake(['--json', '--count', 1], [$dumpling]);
is($r->{status}, 0, '--json exits 0');
chomp(my $line = $r->{out});
unlike($line, $hidden, '--json writes no C1 or bidirectional control raw');
like($line, qr/csi\\u009b31m rlo\\u202etxt lrm\\u200e alm\\u061c fsi\\u2068 nel\\u0085 ok\xe2\x98\xba/,
     '--json escapes them as \uXXXX, and keeps other text as it is');
is_deeply(eval { $j->decode($line) }, $j->decode($dumpling), '--json: a parser reads back the same dumpling');

# A hub that forwards what a lenient parser takes: raw controls in a
# string, and between tokens.
my $lenient = qq({"metadata":\x01{"chef":"C","kitchen":"k","driver":"packet"},\t"payload":"esc\e[2J"});
$r = fake(['--json', '--count', 1], [$lenient]);
chomp($line = $r->{out});
is($line, q({"metadata": {"chef":"C","kitchen":"k","driver":"packet"}, "payload":"esc\u001b[2J"}),
   '--json: raw controls are escaped in strings and spaces between tokens');

# --print: the whole string, every control shown escaped.
$r = fake(['--count', 1], [$dumpling]);
is($r->{status}, 0, '--print exits 0');
my $out = $r->{out};
unlike($out, $hidden, '--print writes no C1 or bidirectional control raw');
unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, '--print writes no raw control character but newlines');
like($out, qr/"hostname": "nul\\u0000byte\.example\.com"/, '--print shows a string with a NUL whole');
like($out, qr/"key\\u0000with nul": "v"/, 'and a key with a NUL');
like($out, qr/"key\\u202e": "csi\\u009b31m rlo\\u202etxt lrm\\u200e alm\\u061c fsi\\u2068 nel\\u0085 ok\xe2\x98\xba"/,
     'and shows the controls escaped, other text as it is');

# --details pretty-prints the whole status dumpling the same way.
my $status = $j->encode({ metadata => { chef => 'SystemStatusChef', kitchen => undef, driver => 'interval',
	creation_time => 1.5 }, payload => { dumpling_eaters => [{ info_from_eater => { eater_name => $nul } }] } });
$r = fake(['--details'], [$status]);
like($r->{out}, qr/"eater_name": "nul\\u0000byte\.example\.com"/, '--details shows a string with a NUL whole');

# --lua: the script gets every string whole, as bytes, NULs and all.
spew("$dir/eater.lua", <<'LUA');
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
function on_dumpling(d)
  local p = d.payload
  print("hostname", #p.lookup.hostname, hex(p.lookup.hostname))
  print("key", p["key\0with nul"])
  print("controls", hex(p["key\226\128\174"]))
end
LUA
$r = fake(['--lua', "$dir/eater.lua", '--count', 1], [$dumpling]);
is($r->{status}, 0, '--lua exits 0');
my $bytes = sub { my $s = shift; utf8::encode($s); unpack 'H*', $s };
like($r->{out}, qr/^hostname\t20\t@{[unpack 'H*', $nul]}$/m, 'a Lua eater gets a string with a NUL whole');
like($r->{out}, qr/^key\tv$/m, 'and a key with a NUL');
like($r->{out}, qr/^controls\t@{[$bytes->($controls)]}$/m, 'and the controls as the UTF-8 they are');

done_testing();
