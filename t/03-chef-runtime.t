#!/usr/bin/perl
# The chef runtime: chefs are isolated from each other's errors, chef files
# are checked when loaded, pokes follow packet time when reading files, and
# the packet table behaves as the Lua API says.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

need_corpus();

my $dir = tmpdir();
my $wiki = pcap('wikipedia.pcap');

sub kitchen {
	my (@args) = @_;
	return run('kitchen', '--stdout', '-f', '', @args);
}

sub chef_file {
	my ($name, $code) = @_;
	spew("$dir/$name", $code);
	return "$dir/$name";
}

sub dumplings_of {
	my ($out, $chef, $driver) = @_;
	return grep { $_->{metadata}{chef} eq $chef && (!$driver || $_->{metadata}{driver} eq $driver) }
		decode_lines($out);
}

# --- a chef that throws does not stop the others --------------------------
my $flaky = chef_file('flaky.lua', <<'LUA');
local flaky = { name = "Flaky", n = 0 }
function flaky:packet_handler(pkt)
  self.n = self.n + 1
  if self.n % 2 == 0 then error("boom on packet " .. self.n) end
  return { n = self.n }
end
local counter = { name = "Counter", n = 0 }
function counter:packet_handler(pkt) self.n = self.n + 1 end
function counter:interval_handler() return { seen = self.n } end
local bad_interval = { name = "BadInterval" }
function bad_interval:interval_handler() error("interval trouble") end
return { flaky, counter, bad_interval }
LUA
my $r = kitchen('-c', $flaky, '-r', $wiki);
is($r->{status}, 0, 'a throwing chef does not fail the kitchen');
my @counter = dumplings_of($r->{out}, 'Counter', 'interval');
is($counter[-1]{payload}{seen}, 136, 'the chef after a throwing one still sees every packet');
is(scalar(dumplings_of($r->{out}, 'Flaky', 'packet')), 68, 'the throwing chef keeps running between errors');
like($r->{err}, qr/chef Flaky: error: packet_handler: .*flaky\.lua:4: boom on packet 2\b/,
     'an error names the chef, the file and line, and the reason');
like($r->{err}, qr/chef BadInterval: error: interval_handler: .*interval trouble/, 'interval errors are reported too');
my $lines = () = $r->{err} =~ /chef Flaky: error/g;
cmp_ok($lines, '<=', 12, "errors are rate-limited ($lines lines for 68 errors)");
like($r->{err}, qr/\b70 handler errors\b/, "every error is counted (68 packet, 2 interval)");

# --- chef files are checked when loaded -----------------------------------
my @bad = (
	[ 'syntax.lua', "local chef = {\nfunction chef:packet_handler( end\n", qr/syntax\.lua:2:/, 'a syntax error names file and line' ],
	[ 'throws.lua', "error('cannot start')\n", qr/throws\.lua:1: cannot start/, 'an error while loading' ],
	[ 'number.lua', "return 42\n", qr/number\.lua: returned number instead of a chef table/, 'a file that returns no table' ],
	[ 'nohandler.lua', "return { name = 'Idle' }\n", qr/chef Idle has no packet_handler, interval_handler, flow_end or stream/, 'a chef with no handler' ],
	[ 'badname.lua', "return { name = 7, packet_handler = function() end }\n", qr/name that is not a string/, 'a name that is not a string' ],
	[ 'onlybase.lua', "return { name = 'Base', assignable = false }\n", qr/no chefs to run/, 'only unassignable chefs' ],
);
for my $case (@bad) {
	my ($file, $code, $re, $what) = @$case;
	$r = kitchen('-c', chef_file($file, $code), '-r', $wiki);
	is($r->{status}, 1, "$what: exit 1");
	like($r->{err}, $re, "$what: explained");
	is($r->{out}, '', "$what: nothing cooked");
}

# --- names, several chefs per file, assignable = false --------------------
my $multi = chef_file('multi.lua', <<'LUA');
local base = { assignable = false }
function base:packet_handler() return "base ran" end
local one = { name = "One" }
function one:packet_handler(pkt) if pkt:haslayer("ARP") then return "one" end end
local two = {}
function two:packet_handler(pkt) if pkt:haslayer("ARP") then return "two" end end
return { base, one, two }
LUA
my $stem = chef_file('stemmed.lua', "local c = {}\nfunction c:packet_handler(pkt) if pkt.ARP then return 1 end end\nreturn c\n");
$r = kitchen('-c', $multi, '-c', $stem, '-r', pcap('arp-who-has.pcap'));
is($r->{status}, 0, 'several chefs in one file load');
my @d = decode_lines($r->{out});
is_deeply([map { $_->{metadata}{chef} } @d], [qw(One multi3 stemmed One multi3 stemmed)],
	  'chefs run in load order; unnamed chefs are named after their file');
ok(!(grep { $_->{payload} eq 'base ran' } @d), 'an unassignable chef never runs');
is_deeply([map { $_->{metadata}{kitchen} } @d[0, 1]], ['default_kitchen', 'default_kitchen'], 'default kitchen name');
$r = kitchen('-n', 'lab-7', '-c', $stem, '-r', pcap('arp-who-has.pcap'));
is((decode_lines($r->{out}))[0]{metadata}{kitchen}, 'lab-7', '-n names the kitchen');
my $m = (decode_lines($r->{out}))[0]{metadata};
is($m->{driver}, 'packet', 'packet_handler dumplings have driver "packet"');
cmp_ok(abs($m->{creation_time} - time), '<', 600, 'creation_time is the wall clock in epoch seconds');

# --- pokes follow packet time when reading files --------------------------
my $poker = chef_file('poker.lua', <<'LUA');
local c = { name = "Poker", n = 0 }
function c:packet_handler(pkt) self.n = self.n + 1; return { t = pkt.time } end
function c:interval_handler(interval)
  local n = self.n
  self.n = 0
  return { n = n, interval = interval }
end
return c
LUA
$r = kitchen('-p', '0.5', '-c', $poker, '-r', $wiki);
my (@times, @pokes, @sequence);
for my $doc (decode_lines($r->{out})) {
	if ($doc->{metadata}{driver} eq 'packet') { push @times, $doc->{payload}{t}; push @sequence, 'p' }
	else { push @pokes, $doc->{payload}{n}; push @sequence, 'i' }
}
is(scalar @times, 136, 'every packet reached the chef');
# The rule: a poke fires before the first packet at or past each boundary
# (boundaries every 0.5 s from the first packet), and once more at the end.
my (@want, $next, $count);
for my $t (@times) {
	if (!defined $next) { $next = $t + 0.5 }
	elsif ($t >= $next) {
		push @want, $count;
		$count = 0;
		$next += (int(($t - $next) / 0.5) + 1) * 0.5;
	}
	$count++;
}
push @want, $count;
is_deeply(\@pokes, \@want, 'interval handlers run on packet time, plus a final poke');
is((decode_lines($r->{out}))[-1]{payload}{interval}, 0.5, 'the interval handler is given the poke interval');
is($sequence[-1], 'i', 'the final poke comes after the last packet');

# --- the packet table ----------------------------------------------------
my $fields = chef_file('fields.lua', <<'LUA');
local c = { name = "Fields" }
function c:packet_handler(pkt)
  return {
    layers = pkt.layers, wirelen = pkt.wirelen, caplen = pkt.caplen,
    source = pkt.source, rawlen = #pkt.raw, has_dns = pkt:haslayer("DNS"),
    has_tcp = pkt:haslayer("TCP"), same = pkt:getlayer("UDP") == pkt.UDP,
    nosuch = pkt.NoSuchLayer == nil and pkt:getlayer("NoSuch") == nil,
    qname = pkt.DNS.qd[1].qname, ancount = pkt.DNS.ancount, an = #pkt.DNS.an,
  }
end
return c
LUA
$r = kitchen('-c', $fields, '-r', pcap('dns_udp_2.pcap'));
my @f = map { $_->{payload} } decode_lines($r->{out});
is_deeply($f[1]{layers}, [qw(Ethernet IP UDP DNS)], 'layers lists layer names, outermost first');
is_deeply([@{ $f[1] }{qw(wirelen caplen rawlen)}], [266, 98, 98], 'wirelen, caplen and raw of a cut packet');
is($f[1]{source}, pcap('dns_udp_2.pcap'), 'source names the file');
ok($f[1]{has_dns} && !$f[1]{has_tcp} && $f[1]{same} && $f[1]{nosuch}, 'haslayer and getlayer');
is($f[1]{qname}, 'www.tcpdump.org', 'DNS question name without a trailing dot');
is($f[1]{ancount}, 2, 'the header count is reported as sent');
cmp_ok($f[1]{an}, '<', 2, 'answers cut off by the snaplen are not invented');

# A DNS layer returned unread is filled in before its batch is given back;
# one kept for later cannot be (its packet's bytes are gone by then).
my $returner = chef_file('returner.lua', <<'LUA');
local c = { name = "Returner" }
function c:packet_handler(pkt)
  local dns = pkt.DNS
  if not dns then return end
  if not self.kept then self.kept = dns; return end
  return { qname = dns.qd[1].qname, dns = dns }
end
function c:interval_handler() return { kept = self.kept } end
return c
LUA
$r = kitchen('-c', $returner, '-r', pcap('dns_udp_2.pcap'));
my @ret = dumplings_of($r->{out}, 'Returner', 'packet');
is($ret[0]{payload}{dns}{ancount}, 2, 'a DNS layer returned unread has its header');
is($ret[0]{payload}{dns}{qd}[0]{qname}, 'www.tcpdump.org', 'and its questions');
is(scalar(dumplings_of($r->{out}, 'Returner', 'interval')), 0, 'one kept past its batch is not serialized');
like($r->{err}, qr/chef Returner: dumpling skipped: .*DNS header and answers read after the packet's handler returned/,
     'and says why');

my $keeper = chef_file('keeper.lua', <<'LUA');
local c = { name = "Keeper" }
function c:packet_handler(pkt)
  local old = self.old
  self.old = pkt
  if old then return { ip = old.IP and old.IP.src } end
end
return c
LUA
$r = kitchen('-c', $keeper, '-r', pcap('dns_udp.pcap'));
like($r->{err}, qr/chef Keeper: error: .*packet read after its handler returned/,
     'a packet kept past its handler cannot be read (its bytes are gone)');

# --- the Lua heap ---------------------------------------------------------
# The Lua state has its own allocator (free lists per size class up to 512
# bytes, malloc beyond). This chef makes and drops strings and tables of
# every size, in both ranges, growing tables through every resize, keeps a
# changing set of them and checks that none was ever overwritten. Under
# AddressSanitizer (make check-asan) free blocks are poisoned, so a block
# used after it went back would stop the kitchen there.
my $heap = chef_file('heap.lua', <<'LUA');
local c = { name = "Heap", kept = {}, n = 0, checks = 0, bad = 0 }
local function text(len, ch, n) return string.rep(ch, len) .. n end
local function sound(k)
  if k.s ~= text(k.len, k.ch, k.n) or #k.a ~= k.na then return false end
  for j = 1, k.nh do if k.h["key" .. j] ~= j * k.n then return false end end
  return true
end
function c:packet_handler(pkt)
  self.n = self.n + 1
  local n = self.n
  for k = 0, 20 do
    local len = (n * 37 + k * 101) % 2000 + 1
    local ch = string.char(65 + (n + k) % 26)
    local a, h, nh = {}, {}, (n + k) % 70
    for j = 1, (n * 3 + k) % 300 do a[j] = j end
    for j = 1, nh do h["key" .. j] = j * n end
    local slot = (n * 21 + k) % 64 + 1
    local old = self.kept[slot]
    if old then
      self.checks = self.checks + 1
      if not sound(old) then self.bad = self.bad + 1 end
    end
    self.kept[slot] = { s = text(len, ch, n), len = len, ch = ch, n = n,
                        a = a, na = #a, h = h, nh = nh }
  end
  collectgarbage("step")
end
function c:interval_handler()
  local live = 0
  for _, k in pairs(self.kept) do
    live = live + 1
    if not sound(k) then self.bad = self.bad + 1 end
  end
  return { checks = self.checks + live, bad = self.bad }
end
return c
LUA
$r = kitchen('-c', $heap, '-r', $wiki, '-r', $wiki);
is($r->{status}, 0, 'a chef churning the Lua heap runs to the end');
my ($heap_total) = map { $_->{payload} } grep { $_->{metadata}{driver} eq 'interval' }
	dumplings_of($r->{out}, 'Heap');
cmp_ok($heap_total->{checks} // 0, '>', 1000, 'it checked what it kept, many times');
is($heap_total->{bad}, 0, 'and nothing it kept was ever overwritten');

# --- nobody reading: stop ---------------------------------------------------
# A kitchen piped into `head` stops once the pipe closes, quietly, and
# long before the end of its input.
my $pipe = run(['sh', '-c', 'exec "$0" kitchen -f "" -c dns --stdout "$@" | head -n 2',
		bin(), map { ('-r', $wiki) } 1 .. 400], { timeout => 60 });
my ($cooked) = $pipe->{err} =~ /(\d+) packets, \d+ dumplings/;
is(scalar(() = $pipe->{out} =~ /\n/g), 2, 'head got its two lines');
ok(defined $cooked && $cooked < 400 * 100, 'the kitchen stopped early, when the pipe closed')
	or diag($pipe->{err});
unlike($pipe->{err}, qr/: error: /, 'and said nothing about it');

# --- dumplings.layers(): every layer, from the one table in C ----------------
my $lister = chef_file('lister.lua', <<'LUA');
local c = { name = "Lister" }
function c:packet_handler(pkt)
  local l = dumplings.layers()
  l[1] = "changed"
  return { layers = dumplings.layers(), has = pkt:haslayer(dumplings.layers()[7]) }
end
return c
LUA
my $lr = kitchen('-c', $lister, '-r', $wiki);
my ($ld) = dumplings_of($lr->{out}, 'Lister');
my $tab = slurp(root() . '/src/decode/layers.tab');
my @tab = map { (split /\s+/)[1] } grep { !/^#/ && /\S/ } split /\n/, $tab;
is_deeply($ld->{payload}{layers}, \@tab, 'dumplings.layers() lists layers.tab, in order, a fresh copy each call');
is($tab[6], 'IP', 'layer 7 is IP');
ok($ld->{payload}{has}, 'and its names are what haslayer takes');

done_testing;
