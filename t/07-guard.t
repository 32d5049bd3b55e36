#!/usr/bin/perl
# Chefs that run away: in time (an endless loop) or in memory. And -Z:
# dropping privileges before any chef runs.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $sample = root() . '/examples/sample.pcap';
my $packets = 212;
my $dir = tmpdir();
chmod 0755, $dir;

sub chef_file {
	my ($name, $code) = @_;
	spew("$dir/$name", $code);
	chmod 0644, "$dir/$name";
	return "$dir/$name";
}

my $counter = chef_file('counter.lua', <<'LUA');
local c = { name = "Counter", n = 0 }
function c:packet_handler(pkt) self.n = self.n + 1 end
function c:interval_handler() return { n = self.n } end
return c
LUA

sub final_count {
	my ($out) = @_;
	my ($last) = grep { $_->{metadata}{chef} eq 'Counter' } reverse decode_lines($out);
	return $last ? $last->{payload}{n} : -1;
}

# --- an endless loop LuaJIT leaves to its interpreter: stopped, disabled ---
my $spinner = chef_file('spinner.lua', <<'LUA');
local c = { name = "Spinner", n = 0 }
-- jit.off keeps this handler in the interpreter, as a loop over pairs()
-- (which LuaJIT 2.1 does not compile) would.
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n == 50 then
    while true do end
  end
  return { n = self.n }
end
jit.off(c.packet_handler)
return c
LUA
my $r = run('kitchen', '-f', '', '-r', $sample, '--stdout', '--chef-timeout', '0.5',
	    '-c', $spinner, '-c', $counter, { timeout => 60 });
is($r->{status}, 0, 'the kitchen carries on after stopping a runaway chef');
like($r->{err}, qr/chef Spinner has run for [\d.]+ s: interrupting it/, 'the stuck chef is named');
like($r->{err}, qr/chef Spinner: error: packet_handler: disabled until its file changes: .*time limit/,
     'it is disabled, and says why');
is(final_count($r->{out}), $packets, 'the other chef saw every packet');
my @spins = grep { $_->{metadata}{chef} eq 'Spinner' } decode_lines($r->{out});
is(scalar @spins, 49, 'the runaway chef made no dumpling once stopped');

# --- an endless loop LuaJIT compiled: cannot be stopped, the kitchen exits ---
my $compiled = chef_file('compiled.lua', <<'LUA');
local c = { name = "Compiled", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  if self.n == 50 then
    local x = 0
    while true do x = x + 1 end
  end
end
return c
LUA
{
	# The guard ends the process from its own thread, with the file reader's
	# thread finished and never joined: no leak for ThreadSanitizer to report.
	local $ENV{TSAN_OPTIONS} = join ' ', grep { length } $ENV{TSAN_OPTIONS} // '',
		'report_thread_leaks=0';
	$r = run('kitchen', '-f', '', '-r', $sample, '--stdout', '--chef-timeout', '0.5',
		 '-c', $compiled, { timeout => 60 });
}
is($r->{status}, 3, 'a loop that cannot be interrupted ends the kitchen with status 3');
like($r->{err}, qr/chef Compiled has run for [\d.]+ s and cannot be interrupted .* exiting so that a supervisor can restart/,
     'with a message naming the chef and saying why');

# --- a chef that hoards memory is disabled --------------------------------
my $hoarder = chef_file('hoarder.lua', <<'LUA');
local c = { name = "Hoarder", kept = {} }
function c:packet_handler(pkt)
  -- about 256 KiB of distinct strings per packet
  for i = 1, 64 do self.kept[#self.kept + 1] = string.rep(pkt.time .. i, 400) end
end
return c
LUA
$r = run('kitchen', '-f', '', '-r', $sample, '--stdout', '--chef-memory', '16',
	 '-c', $hoarder, '-c', $counter, { timeout => 60 });
is($r->{status}, 0, 'the kitchen carries on past a chef that hoards memory');
like($r->{err}, qr/chef Hoarder disabled: Lua memory over the limit of 16 MiB, and it held about \d+ MiB/,
     'the hoarding chef is named and disabled');
is(final_count($r->{out}), $packets, 'the other chef saw every packet');
unlike($r->{err}, qr/chef Counter disabled/, 'the well-behaved chef was left alone');

# --- -Z: run as another user once the capture is open ----------------------
SKIP: {
	skip 'dropping privileges needs root', 7 if $> != 0;
	my $nobody = getpwnam('nobody');
	skip 'no user nobody', 7 unless defined $nobody;
	my $ids = chef_file('ids.lua', <<'LUA');
local ffi = require("ffi")
ffi.cdef[[ int geteuid(void); int getegid(void); int getuid(void); ]]
local seen = { euid = ffi.C.geteuid(), uid = ffi.C.getuid(), egid = ffi.C.getegid() }
local c = { name = "Ids" }
function c:packet_handler(pkt)
  return { at_load = seen, euid = ffi.C.geteuid(), uid = ffi.C.getuid() }
end
return c
LUA
	$r = run('kitchen', '-f', '', '-r', $sample, '--stdout', '-Z', 'nobody', '-c', $ids);
	is($r->{status}, 0, '-Z nobody: the kitchen runs');
	my ($first) = decode_lines($r->{out});
	is($first->{payload}{at_load}{euid}, $nobody, 'chef code first runs as nobody (effective uid)');
	is($first->{payload}{at_load}{uid}, $nobody, '... and real uid');
	is($first->{payload}{euid}, $nobody, 'packets are handled as nobody');
	$r = run('kitchen', '-f', '', '-r', $sample, '--stdout', '-Z', 'no-such-user-here', '-c', $ids);
	ok($r->{status} == 1 && $r->{err} =~ /no user 'no-such-user-here'/, 'an unknown user is refused, loudly');
	mkdir "$dir/private", 0700 or die "mkdir: $!";
	my $secret = chef_file('private/secret.lua', "return { name = 'Secret', packet_handler = function() end }\n");
	$r = run('kitchen', '-f', '', '-r', $sample, '--stdout', '-Z', 'nobody', '-c', $secret);
	is($r->{status}, 1, 'a chef file nobody may read, after -Z nobody: exit 1');
	like($r->{err}, qr/chef file \S+secret\.lua: Permission denied/, 'saying so, not "no such file"');
}

done_testing;
