#!/usr/bin/perl
# Every way from C into Lua is guarded and protected: interval handlers,
# loading and reloading chef files, serializing what chefs return, and
# SIGTERM, whatever a chef is doing. And chefs are kept apart: their own
# globals, a read-only dumplings table, pkt.layers of their own, reload(old)
# that cannot damage the running chef, interval dumplings that hold nothing
# from after their boundary.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use POSIX qw(mkfifo);
use Time::HiRes qw(time sleep);

my $sample = root() . '/examples/sample.pcap';
my $packets = 212;	# in examples/sample.pcap, read with -f ''
my $dir = tmpdir();

sub chef_file {
	my ($name, $code) = @_;
	spew("$dir/$name", $code);
	return "$dir/$name";
}

sub kitchen { run('kitchen', '-f', '', '-r', $sample, '--stdout', @_, { timeout => 60 }) }

sub by_chef {
	my ($out, $chef, $driver) = @_;
	return grep { $_->{metadata}{chef} eq $chef && (!$driver || $_->{metadata}{driver} eq $driver) }
		decode_lines($out);
}

my $counter = chef_file('counter.lua', <<'LUA');
local c = { name = "Counter", n = 0 }
function c:packet_handler(pkt) self.n = self.n + 1 end
function c:interval_handler() return { n = self.n } end
return c
LUA

sub final_count {
	my ($out) = @_;
	my ($last) = reverse by_chef($out, 'Counter', 'interval');
	return $last ? $last->{payload}{n} : -1;
}

# --- interval handlers --------------------------------------------------------
# jit.off keeps a loop in the interpreter, where the hook can stop it (as
# with a loop over pairs(), which LuaJIT 2.1 does not compile).
my $last_poke = chef_file('lastpoke.lua', <<'LUA');
local c = { name = "LastPoke", pokes = 0 }
function c:interval_handler()
  self.pokes = self.pokes + 1
  if self.pokes == 3 then while true do end end
  return { pokes = self.pokes }
end
jit.off(c.interval_handler)
return c
LUA
my $r = kitchen('-p', '1000', '--chef-timeout', '0.5', '-c', $last_poke, '-c', $counter);
# with -p 1000 the only poke is the final one; make it the looping one
$last_poke = chef_file('finalpoke.lua', <<'LUA');
local c = { name = "FinalPoke" }
function c:interval_handler() while true do end end
jit.off(c.interval_handler)
return c
LUA
$r = kitchen('-p', '1000', '--chef-timeout', '0.5', '-c', $last_poke, '-c', $counter);
is($r->{status}, 0, 'an endless final interval handler does not hang the kitchen');
like($r->{err}, qr/chef FinalPoke has run for [\d.]+ s: interrupting it/, 'the guard names it');
like($r->{err}, qr/chef FinalPoke: error: interval_handler: disabled until its file changes: it ran past the time limit/,
     'it is disabled, saying why');
is(final_count($r->{out}), $packets, 'the other chef still makes its final dumpling');
like($r->{err}, qr/$packets packets/, 'the kitchen reports its totals');

my $mid = chef_file('midpoke.lua', <<'LUA');
local c = { name = "MidPoke", pokes = 0 }
function c:interval_handler()
  self.pokes = self.pokes + 1
  if self.pokes == 2 then while true do end end
  return { pokes = self.pokes }
end
jit.off(c.interval_handler)
return c
LUA
$r = kitchen('-p', '1', '--chef-timeout', '0.5', '-c', $counter, '-c', $mid);
is($r->{status}, 0, 'an endless interval handler inside a file is stopped');
like($r->{err}, qr/chef MidPoke has run for/, 'the guard names the interval chef, not a packet chef');
unlike($r->{err}, qr/chef Counter has run for/, 'the packet chef is not blamed');
my @mid = by_chef($r->{out}, 'MidPoke', 'interval');
is(scalar @mid, 1, 'the culprit is disabled: no interval dumpling after the loop');
my @counts = by_chef($r->{out}, 'Counter', 'interval');
cmp_ok(scalar @counts, '>', 3, 'the other chef goes on making interval dumplings');
is(final_count($r->{out}), $packets, 'and sees every packet');

# --- interval dumplings are the state at their boundary ----------------------
my $clock = chef_file('clock.lua', <<'LUA');
local c = { name = "Clock", seen = { n = 0 } }
function c:packet_handler(pkt)
  self.seen.n = self.seen.n + 1
  self.seen.last = pkt.time
  return { n = self.seen.n }
end
-- the same table every time: what it holds when serialized is what counts
function c:interval_handler() return self.seen end
return c
LUA
$r = kitchen('-p', '1', '-c', $clock);
my ($before, $checked, $wrong) = (0, 0, 0);
for my $d (decode_lines($r->{out})) {
	if ($d->{metadata}{driver} eq 'packet') {
		$before = $d->{payload}{n};
	} else {
		$checked++;
		$wrong++ if $d->{payload}{n} != $before;
	}
}
cmp_ok($checked, '>', 5, "interval dumplings came ($checked)");
is($wrong, 0, 'each interval dumpling holds exactly the packets before it');

# --- loading chef files ---------------------------------------------------------
my $toplevel = chef_file('toplevel.lua', <<'LUA');
local c = { name = "TopLevel" }
function c:packet_handler(pkt) end
local n = 0
while true do n = n + 1 end
return c
LUA
# a loop at the top level of a file runs once: LuaJIT may compile it, so it
# is kept to the interpreter here, as in a real file it may not be
spew($toplevel, "jit.off()\n" . slurp($toplevel));
$r = kitchen('--chef-timeout', '0.5', '-c', $toplevel);
is($r->{status}, 1, 'a chef file whose top level never returns is refused');
like($r->{err}, qr/chef file \S+toplevel.lua: .*ran past the time limit/, 'saying why');

my $fifo = "$dir/fifo.lua";
mkfifo($fifo, 0644) or die "mkfifo: $!";
$r = kitchen('-c', $fifo);
is($r->{status}, 1, 'a FIFO given as a chef is refused, without blocking');
like($r->{err}, qr/chef file \S+fifo.lua: not a regular file/, 'as not a regular file');
symlink('/dev/zero', "$dir/zero.lua") or die "symlink: $!";
$r = kitchen('-c', "$dir/zero.lua");
is($r->{status}, 1, 'a symlink to /dev/zero is refused');
like($r->{err}, qr/zero.lua: not a regular file/, 'without reading it');
my $huge = "$dir/huge.lua";
open my $fh, '>', $huge or die;
print $fh "-- " . ('x' x 1023) . "\n" for 1 .. 9 * 1024;
close $fh;
$r = kitchen('-c', $huge);
is($r->{status}, 1, 'a chef file over the size limit is refused');
like($r->{err}, qr/huge.lua: \d+ bytes, over the limit of 8 MiB/, 'naming the limit');

# --- hot reload under the guard ------------------------------------------------
my $live = chef_file('live.lua', <<'LUA');
local c = { name = "Live", n = 0, state = { kept = 1 } }
function c:packet_handler(pkt) self.n = self.n + 1 end
function c:interval_handler() return { n = self.n, kept = self.state.kept } end
function c:reload(old) self.n = old.n; self.state = old.state end
return c
LUA
my $pid = spawn([bin(), 'kitchen', '-f', '', '-r', $sample, '--stdout', '-p', '1', '--speed', '2',
		 '--chef-timeout', '0.5', '-c', $live], out => "$dir/reload.out", err => "$dir/reload.err");
ok(wait_for(sub { (slurp("$dir/reload.err") // '') =~ /reloading chefs when/ }, 20), 'kitchen started');
sub reload_failures { my $n = () = (slurp("$dir/reload.err") // '') =~ /reloading \S+live.lua failed/g; $n }
sub replace { my ($text) = @_; spew("$live.tmp", $text); rename "$live.tmp", $live or die }
replace("jit.off()\nwhile true do end\n");
ok(wait_for(sub { reload_failures() >= 1 }, 20), 'a saved file whose top level loops is refused');
replace(<<'LUA');
local c = { name = "Live" }
function c:packet_handler(pkt) end
function c:reload(old) old.state.kept = 2; old.n = -1; error("half-way") end
return c
LUA
ok(wait_for(sub { reload_failures() >= 2 }, 20), 'a reload(old) that fails half-way is refused');
replace(<<'LUA');
local c = { name = "Live" }
function c:packet_handler(pkt) end
function c:reload(old) while true do end end
jit.off(c.reload)
return c
LUA
ok(wait_for(sub { reload_failures() >= 3 }, 20), 'a reload(old) that loops is refused');
mkfifo("$dir/renamed.fifo", 0644) or die "mkfifo: $!";
rename "$dir/renamed.fifo", $live or die "rename: $!";
ok(wait_for(sub { (slurp("$dir/reload.err") // '') =~ /live.lua: not a regular file/ }, 20),
   'a FIFO renamed over the chef file is refused, without blocking');
my ($status) = (stop($pid, 'TERM'));
my $err = slurp("$dir/reload.err") // '';
is($status >> 8, 0, 'the kitchen ran on and stopped cleanly');
like($err, qr/live.lua failed, the running version stays: .*ran past the time limit/, 'the looping top level is named');
like($err, qr/reload\(old\) failed: .*half-way/, 'the half-way failure is named');
like($err, qr/live.lua:3: half-way/, 'with the file and line of the error');
my @live = by_chef(slurp("$dir/reload.out"), 'Live', 'interval');
my @bad = grep { $_->{payload}{kept} != 1 || $_->{payload}{n} < 0 } @live;
cmp_ok(scalar @live, '>', 2, 'the running version went on making dumplings');
is(scalar @bad, 0, 'and its state is exactly as it was');
unlink $live;

# --- serializing runs guarded and protected ------------------------------------
my $fills = chef_file('fills.lua', <<'LUA');
local spin = setmetatable({}, { __dumplings_fill = function() while true do end end })
jit.off(getmetatable(spin).__dumplings_fill)
local c = { name = "Fills", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n == 10 then return { spin = spin } end
  if self.n == 20 then
    local parent = { a = 1 }
    parent.child = setmetatable({}, { __dumplings_fill = function()
      for i = 1, 100 do parent["k" .. i] = i end
    end })
    return parent
  end
  if self.n == 30 then return { ok = true } end
end
return c
LUA
$r = kitchen('--chef-timeout', '0.5', '-c', $fills, '-c', $counter);
is($r->{status}, 0, 'fills that loop or change their parent do not end the kitchen');
unlike($r->{err}, qr/unprotected Lua error/, 'no unprotected error');
like($r->{err}, qr/chef Fills: dumpling skipped: it ran past the time limit/, 'the endless fill is stopped');
my @fills = by_chef($r->{out}, 'Fills');
ok((grep { $_->{payload}{ok} } @fills), 'the chef goes on making dumplings');
is(final_count($r->{out}), $packets, 'the other chef saw every packet');

# --- errors say where ------------------------------------------------------------
my $thrower = chef_file('thrower.lua', <<'LUA');
local c = { name = "Thrower" }
function c:packet_handler(pkt)
  local t = nil
  return t.field
end
return c
LUA
$r = kitchen('-c', $thrower);
like($r->{err}, qr/chef Thrower: error: packet_handler: \S*thrower.lua:4: attempt to index/,
     'a handler error names the chef file and line');

# --- chefs kept apart ----------------------------------------------------------------
my $litter = chef_file('litter.lua', <<'LUA');
local c = { name = "Litter" }
function c:packet_handler(pkt)
  stray = "from Litter"
  dumplings = nil
  table.insert(pkt.layers, "Bogus")
end
return c
LUA
my $reader = chef_file('reader.lua', <<'LUA');
local c = { name = "Reader", bogus = 0 }
function c:packet_handler(pkt)
  for _, l in ipairs(pkt.layers) do if l == "Bogus" then self.bogus = self.bogus + 1 end end
end
function c:interval_handler()
  local ok, err = pcall(function() dumplings.version = "x" end)
  return dumplings.array({ stray = stray or "unset", readonly = not ok, bogus = self.bogus })
end
return c
LUA
$r = kitchen('-c', $reader, '-c', $litter);
is($r->{status}, 0, 'chefs that litter do not stop the kitchen');
my ($seen) = reverse by_chef($r->{out}, 'Reader', 'interval');
ok($seen, 'the other chef reports');
is($seen->{payload}{stray}, 'unset', "one chef's stray global is not another's");
ok($seen->{payload}{readonly}, 'the dumplings table is read-only');
is($seen->{payload}{bogus}, 0, "a chef changing pkt.layers changes nothing for later packets");

# --- what a chef can break of the runtime's world -------------------------------
my $vandal = chef_file('vandal.lua', <<'LUA');
local c = { name = "Vandal" }
function c:packet_handler(pkt) _G.ipairs, _G.pairs, _G.error, _G.table = nil, nil, nil, nil end
return c
LUA
$r = kitchen('-c', $vandal, '-c', $counter);
is($r->{status}, 0, 'a chef that removes shared globals does not break the runtime');
is(final_count($r->{out}), $packets, 'the other chef sees every packet');
unlike($r->{err}, qr/chef Counter: error/, 'and raises no error');

my $bytecode = "$dir/bytecode.lua";
spew($bytecode, "\x1bLJ\x02\x0a" . ("\x00" x 40));
$r = kitchen('-c', $bytecode);
is($r->{status}, 1, 'a chef file that is bytecode is refused');
like($r->{err}, qr/bytecode.lua: it is LuaJIT bytecode; a chef file must be Lua source/, 'saying why');

# A finalizer that raises an error, collected after a reload (outside any
# chef's call): logged, and the kitchen goes on. (jit.off: LuaJIT's
# compiled code does not survive an error thrown from a finalizer.)
my $fin = chef_file('fin.lua', <<'LUA');
jit.off()
local p = newproxy(true)
getmetatable(p).__gc = function() error("from __gc") end
p = nil
local c = { name = "Fin", n = 0 }
function c:packet_handler(pkt) self.n = self.n + 1 end
function c:interval_handler() return { n = self.n } end
return c
LUA
$pid = spawn([bin(), 'kitchen', '-f', '', '-r', $sample, '--stdout', '-p', '1', '--speed', '2',
	      '-c', $fin], out => "$dir/fin.out", err => "$dir/fin.err");
ok(wait_for(sub { (slurp("$dir/fin.err") // '') =~ /reloading chefs when/ }, 20), 'kitchen started');
spew("$fin.tmp", slurp($fin) . "-- saved again\n");
rename "$fin.tmp", $fin or die;
ok(wait_for(sub { (slurp("$dir/fin.err") // '') =~ /reloaded \S+fin.lua/ }, 20), 'the chef is reloaded');
($status) = stop($pid, 'TERM');
is($status >> 8, 0, 'a finalizer that raises an error does not end the kitchen');
like(slurp("$dir/fin.err"), qr/from __gc/, 'its error is logged');

# --- print() goes to the log, not into --stdout's dumplings -------------------
my $printer = chef_file('printer.lua', <<'LUA');
local c = { name = "Printer", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n <= 2 then print("seen", self.n, nil) end
  return { n = self.n }
end
return c
LUA
$r = kitchen('-c', $printer);
my @lines = split /\n/, $r->{out};
is(scalar(grep { !/^\{.*\}$/ } @lines), 0, 'print() puts nothing but dumplings on standard output');
like($r->{err}, qr/chef Printer: print: seen\t1\tnil/, 'it goes to the log, with the chef name');

# --- SIGTERM, whatever a chef does -------------------------------------------------
# ThreadSanitizer holds a signal back until the thread it lands on calls
# into libc, which a thread looping in Lua never does: under it these
# cannot pass, whatever the kitchen does.
if (bin() =~ /tsan/) {
	SKIP: { skip 'ThreadSanitizer delays signals to a thread looping in Lua', 10 }
	done_testing;
	exit;
}
sub sigterm_run {
	my ($tag, $poke, @chefs) = @_;
	my $pid = spawn([bin(), 'kitchen', '-f', '', '-r', $sample, '--stdout', '-p', $poke,
			 '--chef-timeout', '600', map { ('-c', $_) } @chefs],
			out => "$dir/$tag.out", err => "$dir/$tag.err");
	wait_for(sub { (slurp("$dir/$tag.err") // '') =~ /is stuck now/ }, 20);
	my $t0 = time;
	kill 'TERM', $pid;
	my $status;
	wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid and $status = $?, 1 }, 30)
		or do { kill 'KILL', $pid; waitpid $pid, 0; $status = -1 };
	return ($status, time - $t0, slurp("$dir/$tag.out") // '', slurp("$dir/$tag.err") // '');
}
my $early = chef_file('early.lua', <<'LUA');
local c = { name = "Early", n = 0 }
function c:packet_handler(pkt) self.n = self.n + 1; return { n = self.n } end
return c
LUA
my $stuck = chef_file('stuck.lua', <<'LUA');
local c = { name = "Stuck", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n == 150 then
    io.stderr:write("Stuck is stuck now\n")
    while true do end
  end
end
jit.off(c.packet_handler)
return c
LUA
my ($st, $took, $out);
($st, $took, $out, $err) = sigterm_run('term', 1000, $early, $stuck);
isnt($st, -1, 'SIGTERM ends a kitchen whose chef loops (far below the time limit)');
is($st >> 8, 0, 'in order: exit status 0');
like($err, qr/stopping: interrupting chef Stuck/, 'the looping chef is named');
like($err, qr/\d+ packets, \d+ dumplings/, 'with the summary');
my @early = by_chef($out, 'Early', 'packet');
cmp_ok(scalar @early, '>=', 100, 'what the other chef had made is written (' . scalar(@early) . ')');

my $compiled = chef_file('compiled.lua', <<'LUA');
local c = { name = "Compiled", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n == 150 then
    io.stderr:write("Compiled is stuck now\n")
    local x = 0
    while true do x = x + 1 end
  end
end
return c
LUA
# What a chef stuck in machine code holds cannot be reached: the dumplings
# of the batch it is stuck in are lost with it, those before are written.
# Pokes every second split the batch, so there are some before.
($st, $took, $out, $err) = sigterm_run('compiled', 1, $early, $compiled);
isnt($st, -1, 'SIGTERM ends a kitchen stuck in a compiled loop');
is($st >> 8, 3, 'with exit status 3');
like($err, qr/chef Compiled has run for [\d.]+ s and cannot be interrupted/, 'saying which chef');
like($err, qr/\d+ packets, \d+ dumplings/, 'with the summary');
@early = by_chef($out, 'Early', 'packet');
cmp_ok(scalar @early, '>=', 50, 'what the other chef had made before is written (' . scalar(@early) . ')');

done_testing;
