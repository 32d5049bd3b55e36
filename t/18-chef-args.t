#!/usr/bin/perl
# Chef arguments: -c CHEF:key=value,... and --chef-arg, seen as self.args,
# typed by the chef's declared defaults (chef.args), kept across reloads;
# arguments a chef does not declare, or of the wrong type, refuse it; a
# chef file path holding ':' still names its file.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $sample = root() . '/examples/sample.pcap';
my $dir = tmpdir();

my $echo_chef = <<'LUA';
local c = { name = "Echo", args = { n = 1, f = 0.5, on = false, label = "x", any = dumplings.null } }
function c:interval_handler()
  local a = {}
  for k, v in pairs(self.args) do a[k] = { v, type(v) } end
  return dumplings.object(a)
end
return c
LUA
spew("$dir/echo.lua", $echo_chef);

# The last interval dumpling of a kitchen over the sample capture.
sub last_payload {
	my (@args) = @_;
	my $r = run('kitchen', '-q', '--stdout', '-r', $sample, @args);
	my @docs = decode_lines($r->{out});
	return ($r, @docs ? $docs[-1]{payload} : undef);
}

my ($r, $p) = last_payload('-c', "$dir/echo.lua");
is($r->{status}, 0, 'a chef with declared arguments runs without any given');
is_deeply($p, { n => [1, 'number'], f => [0.5, 'number'], on => [JSON::PP::false, 'boolean'],
		label => ['x', 'string'] }, 'self.args holds its defaults (none for a null one)');

($r, $p) = last_payload('-c', "$dir/echo.lua:n=20,f=-1.5e3,on=true,label=42,any=007");
is($r->{status}, 0, 'arguments given with -c') or diag $r->{err};
is_deeply($p, { n => [20, 'number'], f => [-1500, 'number'], on => [JSON::PP::true, 'boolean'],
		label => ['42', 'string'], any => [7, 'number'] },
	  'typed: numbers and booleans, text for a string default, a null default typed by its text');

($r, $p) = last_payload('-c', "$dir/echo.lua:any=0x10", '--chef-arg', 'label=a=b', '--chef-arg', 'n=3,any=yes');
is($r->{status}, 0, '--chef-arg adds to the preceding -c') or diag $r->{err};
is_deeply([ map { $p->{$_}[0] } qw(n label any) ], [3, 'a=b', 'yes'],
	  'the later wins; hex stays text; a value may hold "="');

($r, $p) = last_payload('-c', "$dir/echo.lua:any=1e400");
is_deeply($p->{any}, ['1e400', 'string'], 'a number too large for a double stays text, not an infinity');

($r) = last_payload('-c', "$dir/echo.lua:count=3");
isnt($r->{status}, 0, 'an argument the chef does not declare is refused');
like($r->{err}, qr/argument 'count' is not one chef Echo takes \(it takes: any, f, label, n, on\)/,
     'naming it and those it takes');

($r) = last_payload('-c', "$dir/echo.lua:n=many");
isnt($r->{status}, 0, 'a number argument that is not a number is refused');
like($r->{err}, qr/chef Echo: argument n=many: wants a number/, 'saying what it wants');

($r) = last_payload('-c', "$dir/echo.lua:on=1");
like($r->{err}, qr/argument on=1: wants a boolean/, 'and so for booleans');

($r) = last_payload('--chef-arg', 'n=1', '-c', "$dir/echo.lua");
is($r->{status}, 2, '--chef-arg with no -c before it is a usage error');

my $plain = <<'LUA';
local c = { name = "Plain" }
function c:interval_handler() return { args = dumplings.object(self.args) } end
return c
LUA
spew("$dir/plain.lua", $plain);
($r, $p) = last_payload('-c', "$dir/plain.lua");
is_deeply($p, { args => {} }, 'a chef that declares none has an empty self.args');
($r) = last_payload('-c', "$dir/plain.lua:x=1");
like($r->{err}, qr/argument 'x' is not one chef Plain takes \(it takes: none\)/, 'and takes none');

# --- paths with ':' -------------------------------------------------------
mkdir "$dir/a:b" or die;
spew("$dir/a:b/echo.lua", $echo_chef);
spew("$dir/x:n=2.lua", $echo_chef);
($r, $p) = last_payload('-c', "$dir/a:b/echo.lua");
is($p->{n}[0], 1, 'a path with a colon names its file');
($r, $p) = last_payload('-c', "$dir/a:b/echo.lua:n=9");
is($p->{n}[0], 9, 'and may still take arguments after the last colon');
($r, $p) = last_payload('-c', "$dir/x:n=2.lua");
is($p->{n}[0], 1, 'a file whose name looks like arguments is that file');
($r, $p) = last_payload('-c', "$dir/x:n=2.lua:n=5");
is($p->{n}[0], 5, 'with arguments of its own after it');
($r) = last_payload('-c', "dns:top");
like($r->{err}, qr/no bundled chef named 'dns:top'/, 'a tail that is not key=value is part of the name');

# --- files with no arguments beside those with --------------------------
mkdir "$dir/more" or die;
spew("$dir/more/plain.lua", $plain);
($r, $p) = last_payload('-c', "$dir/echo.lua:n=4", '--chef-dir', "$dir/more", '--no-reload');
is($r->{status}, 0, 'a -c with arguments and a --chef-dir') or diag $r->{err};
my @chefs = sort { $a cmp $b } keys %{ { map { $_->{metadata}{chef} => 1 } decode_lines($r->{out}) } };
is_deeply(\@chefs, ['Echo', 'Plain'], 'run side by side');
$r = run('kitchen', '-q', '--stdout', '-r', $sample);
is($r->{status}, 0, 'the bundled chefs, none named, take none');
ok(length $r->{out}, 'and cook');

# --- the bundled chefs ----------------------------------------------------
need_corpus();
my $wiki = pcap('wikipedia.pcap');
$r = run('kitchen', '-q', '--stdout', '-r', $wiki, '-c', 'dns');
my @all = decode_lines($r->{out});
my $names = scalar keys %{ $all[-1]{payload}{lookups_seen} };
ok($names > 2, "DNSLookupChef keeps the $names names of the capture by default");
$r = run('kitchen', '-q', '--stdout', '-r', $wiki, '-c', 'dns:top=2');
my @two = decode_lines($r->{out});
is(scalar keys %{ $two[-1]{payload}{lookups_seen} }, 2, 'dns:top=2 keeps 2');
ok($two[-1]{payload}{evicted} >= $names - 2, 'and counts the others as evicted');
$r = run('kitchen', '-q', '--stdout', '-r', $sample, '-c', 'toptalkers:top=3');
my @talk = grep { @{ $_->{payload}{talkers} } } decode_lines($r->{out});
ok(@talk && !grep({ @{ $_->{payload}{talkers} } > 3 } @talk) && grep({ @{ $_->{payload}{talkers} } == 3 } @talk),
   'toptalkers:top=3 lists at most 3 pairs');

# --- reload keeps the arguments ------------------------------------------
spew("$dir/live.lua", $echo_chef);
my $pid = spawn([bin(), 'kitchen', '-f', '', '-r', $sample, '--stdout', '--speed', '4', '-p', '0.5',
		 '-c', "$dir/live.lua:n=7"], out => "$dir/live.out", err => "$dir/live.err");
ok(wait_for(sub { (slurp("$dir/live.out") // '') =~ /"n":\[7/ }, 20), 'the chef runs with n=7');
(my $v2 = $echo_chef) =~ s/n = 1,/n = 1, version = 2,/;
$v2 =~ s/return dumplings.object\(a\)/a.v2 = { true, "boolean" }; return dumplings.object(a)/;
spew("$dir/live.lua", $v2);
ok(wait_for(sub { (slurp("$dir/live.err") // '') =~ /reloaded \Q$dir\E\/live.lua/ }, 20), 'it is reloaded');
waitpid $pid, 0;
my @live = decode_lines(slurp("$dir/live.out"));
my @after = grep { $_->{payload}{v2} } @live;
ok(@after, 'the new version ran');
ok(@after && !grep({ $_->{payload}{n}[0] != 7 } @after), 'and still had n=7');
ok(@after && $after[-1]{payload}{version}[0] == 2, 'with its new defaults merged in');

done_testing;
