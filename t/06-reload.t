#!/usr/bin/perl
# Hot reload: chef files edited while the kitchen runs. The kitchen replays
# the bundled capture at a controlled pace (--speed) while the test rewrites
# chefs; every packet must be seen by exactly one version of each chef.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;
use Time::HiRes qw(time sleep);

my $sample = root() . '/examples/sample.pcap';
my $dir = tmpdir();
my $packets = 212;	# in examples/sample.pcap, read with -f ''

# Replace a file the way editors do: in place, or a new file renamed over.
sub write_in_place { my ($path, $text) = @_; spew($path, $text) }
sub write_by_rename {
	my ($path, $text) = @_;
	spew("$path.tmp", $text);
	rename "$path.tmp", $path or die "rename: $!";
}

sub counting_chef {
	my ($version, %o) = @_;
	my $reload = $o{no_reload} ? '' : "function c:reload(old) self.n = old.n; self.reloads = (old.reloads or 0) + 1 end\n";
	return <<LUA;
local c = { name = "Counter", n = 0, version = "$version", reloads = 0 }
function c:packet_handler(pkt) self.n = self.n + 1; return { v = self.version, t = pkt.time, r = self.reloads } end
function c:interval_handler() return { n = self.n, v = self.version, reloads = self.reloads } end
$reload
return c
LUA
}

sub start_kitchen {
	my ($tag, @args) = @_;
	my $pid = spawn([bin(), 'kitchen', '-f', '', '-r', $sample, '--stdout', '-p', '1', @args],
			out => "$dir/$tag.out", err => "$dir/$tag.err");
	return $pid;
}

sub finish {
	my ($pid, $tag) = @_;
	my $deadline = time + 120;
	while (kill(0, $pid) && time < $deadline) {
		last if waitpid($pid, POSIX::WNOHANG()) == $pid;
		sleep 0.05;
	}
	stop($pid, 'TERM') if kill 0, $pid;
	return ([decode_lines(slurp("$dir/$tag.out"))], slurp("$dir/$tag.err") // '');
}

sub log_lines { my ($tag, $re) = @_; my $n = () = (slurp("$dir/$tag.err") // '') =~ /$re/g; $n }

# --- many rewrites, good and broken, in place and by rename -------------
my $chef = "$dir/counter.lua";
spew($chef, counting_chef('v0'));
my $reference = run('kitchen', '-q', '-f', '', '-r', $sample, '-c', $chef, '--stdout');
my @want_times = map { $_->{payload}{t} } grep { $_->{metadata}{driver} eq 'packet' }
	decode_lines($reference->{out});
is(scalar @want_times, $packets, "the capture has $packets packets");

# Slow replays (10 s here) leave a busy machine ample time for the edits.
my $pid = start_kitchen('edits', '--speed', '1.5', '-c', $chef);
ok(wait_for(sub { (slurp("$dir/edits.err") // '') =~ /reloading chefs when/ }, 20),
   'kitchen started, following its chef');
my (@good, %written_at);
my @broken = ("local c = {\n", "error('refusing to load')\n", "return 42\n",
	      "return { name = 'Counter' }\n");
for my $i (1 .. 12) {
	my $v = "v$i";
	my $writer = $i % 2 ? \&write_in_place : \&write_by_rename;
	if ($i % 3 == 0) {
		my $bad = $broken[($i / 3 - 1) % @broken];
		$writer->($chef, $bad);
		wait_for(sub { log_lines('edits', qr/reloading \Q$chef\E failed/) >= $i / 3 }, 10);
	} else {
		$writer->($chef, counting_chef($v));
		$written_at{$v} = time;
		push @good, $v;
		wait_for(sub { log_lines('edits', qr/reloaded \Q$chef\E/) >= @good }, 10);
	}
}
my ($docs, $err) = finish($pid, 'edits');
my @pkt = grep { $_->{metadata}{driver} eq 'packet' } @$docs;
is(scalar @pkt, $packets, 'every packet made exactly one dumpling across all versions');
is_deeply([map { $_->{payload}{t} } @pkt], \@want_times, 'in capture order: none lost, repeated or reordered');
my ($final) = grep { $_->{metadata}{driver} eq 'interval' } reverse @$docs;
is($final->{payload}{n}, $packets, 'the count carried across every version equals the packets');
my %seen = map { $_->{payload}{v} => 1 } @pkt;
ok(!(grep { !/^v\d+$/ } keys %seen), 'only good versions ever ran');
ok($seen{$good[-1]}, "the last good version ($good[-1]) ran");
is(log_lines('edits', qr/reloading \Q$chef\E failed, the running version stays/), 4,
   'each broken version was refused, and logged');
like($err, qr/reloading \Q$chef\E failed.*counter\.lua:2: unexpected symbol/, 'a syntax error is logged with file and line');
like($err, qr/refusing to load/, 'an error while loading is logged');
like($err, qr/reloaded \Q$chef\E in [\d.]+ ms: Counter [0-9a-f]{8} -> [0-9a-f]{8}/,
     'a reload logs the chef, its old and new revisions and how long the swap took');
my %revs = map { $_->{metadata}{chef_rev} => 1 } @pkt;
cmp_ok(scalar keys %revs, '>=', 2, 'dumplings say which revision made them');
# The delay from a write to the first packet handled by the new version,
# for the record (not a pass/fail threshold).
my @delays;
for my $v (@good) {
	my ($first) = grep { $_->{payload}{v} eq $v } @pkt;
	push @delays, ($first->{metadata}{creation_time} - $written_at{$v}) * 1000 if $first;
}
diag(sprintf 'write-to-first-packet delay over %d reloads: median %.1f ms, max %.1f ms',
     scalar @delays, (sort { $a <=> $b } @delays)[@delays / 2], (sort { $b <=> $a } @delays)[0])
	if @delays;

# --- edits while packets flow ------------------------------------------------
# sample.pcap comes in bursts, so most edits above land between packets.
# Here packets come evenly, one every 2 ms for up to 20 s, and each edit is
# made once the version before it has cooked packets of its own: every
# change of version falls inside the stream. The kitchen is stopped once
# the last version has cooked some, long before the stream would end; what
# it made must be the capture's first packets, each exactly once.
{
	my $flowing = 10000;
	my $paced = "$dir/paced.pcap";
	write_pcap($paced, 1, map { ether(0x0800, ipv4(17, udp($_, 53, 'x'))) } 1 .. $flowing);
	my $indexed = sub {
		my ($version) = @_;
		return <<LUA;
local c = { name = "Counter", n = 0, version = $version }
function c:packet_handler(pkt) self.n = self.n + 1; return { v = self.version, i = pkt.UDP.sport } end
function c:interval_handler() return { n = self.n, v = self.version } end
function c:reload(old) self.n = old.n end
return c
LUA
	};
	my $cooked = sub {	# packets cooked so far by version v
		my ($v) = @_;
		my $n = () = (slurp("$dir/flow.out") // '') =~ /"driver":"packet"[^\n]*"v":$v\b/g;
		return $n;
	};
	my $fchef = "$dir/flowing.lua";
	spew($fchef, $indexed->(0));
	my $fpid = spawn([bin(), 'kitchen', '-f', '', '-r', $paced, '--stdout', '--speed', '500',
			  '-p', '60', '-c', $fchef], out => "$dir/flow.out", err => "$dir/flow.err");
	# Versions 1 to 8, and a broken one after 4 that must change nothing.
	my ($v, @took) = (0);
	for my $edit (1 .. 4, 'broken', 5 .. 8) {
		last unless wait_for(sub { $cooked->($v) >= 10 }, 20);
		if ($edit eq 'broken') {
			my $cooked_before = $cooked->($v);
			write_by_rename($fchef, "local c = {\n");
			ok(wait_for(sub { log_lines('flow', qr/reloading \Q$fchef\E failed/) >= 1 }, 20),
			   'a broken version written mid-stream is refused');
			ok(wait_for(sub { $cooked->($v) >= $cooked_before + 10 }, 20),
			   '... and the running one carries on cooking');
			next;
		}
		write_by_rename($fchef, $indexed->($edit));
		$v = $edit;
		push @took, $v;
	}
	ok(wait_for(sub { $cooked->($v) >= 10 }, 20), "the last version ($v) cooked packets too");
	is("@took", '1 2 3 4 5 6 7 8', 'each edit was made while packets flowed');
	kill 'TERM', $fpid;
	my ($fdocs) = finish($fpid, 'flow');
	my @fpkt = grep { $_->{metadata}{driver} eq 'packet' } @$fdocs;
	cmp_ok(scalar @fpkt, '<', $flowing, 'the kitchen was stopped while packets still flowed');
	is_deeply([map { $_->{payload}{i} } @fpkt], [1 .. @fpkt],
		  'it cooked the first ' . @fpkt . ' packets, each exactly once, in order, across versions');
	my @runs = map { $_->{payload}{v} } @fpkt;
	my @order = do { my $last; grep { my $new = !defined $last || $_ != $last; $last = $_; $new } @runs };
	is("@order", '0 1 2 3 4 5 6 7 8',
	   'versions took over one after another, each at a packet boundary, none came back');
	my ($flast) = grep { $_->{metadata}{driver} eq 'interval' } reverse @$fdocs;
	is($flast->{payload}{n}, scalar @fpkt, 'the count carried across every version equals the packets');
}

# --- reload(old) carries state; a chef without it starts fresh -----------
spew($chef, counting_chef('a'));
$pid = start_kitchen('state', '--speed', '2', '-c', $chef);
ok(wait_for(sub { (slurp("$dir/state.out") // '') =~ /"v":"a"/ }, 20), 'first version running');
write_by_rename($chef, counting_chef('b'));
ok(wait_for(sub { (slurp("$dir/state.out") // '') =~ /"v":"b"/ }, 20), 'version with reload(old) running');
write_by_rename($chef, counting_chef('c', no_reload => 1));
ok(wait_for(sub { (slurp("$dir/state.out") // '') =~ /"v":"c"/ }, 20), 'version without reload running');
($docs) = finish($pid, 'state');
my @iv = grep { $_->{metadata}{driver} eq 'interval' } @$docs;
my @pkt_a = grep { $_->{metadata}{driver} eq 'packet' && $_->{payload}{v} eq 'a' } @$docs;
my @pkt_b = grep { $_->{metadata}{driver} eq 'packet' && $_->{payload}{v} eq 'b' } @$docs;
my @pkt_c = grep { $_->{metadata}{driver} eq 'packet' && $_->{payload}{v} eq 'c' } @$docs;
ok(@pkt_b && !(grep { $_->{payload}{r} != 1 } @pkt_b), 'reload(old) was called once on the new version');
ok(!(grep { $_->{payload}{r} != 0 } @pkt_c), 'the version without reload(old) was not given the old state');
is($iv[-1]{payload}{n}, scalar @pkt_c, 'a chef without reload(old) starts from scratch');
is(@pkt_a + @pkt_b + @pkt_c, $packets, 'still every packet exactly once');

# --- SIGHUP reloads every chef file ---------------------------------------
spew($chef, counting_chef('h'));
$pid = start_kitchen('hup', '--speed', '5', '-c', $chef);
ok(wait_for(sub { (slurp("$dir/hup.out") // '') =~ /"v":"h"/ }, 20), 'kitchen running');
kill 'HUP', $pid;
ok(wait_for(sub { log_lines('hup', qr/reloaded \Q$chef\E/) >= 1 }, 20), 'SIGHUP reloaded the chef file');
($docs, $err) = finish($pid, 'hup');
like($err, qr/SIGHUP: reloading every chef file/, 'SIGHUP is logged');
my ($last) = grep { $_->{metadata}{driver} eq 'interval' } reverse @$docs;
is($last->{payload}{reloads}, 1, 'the reloaded chef kept its state through reload(old)');
is($last->{payload}{n}, $packets, 'and its count');

# --- a chef file behind a symlink: editing the target reloads it -------------
mkdir "$dir/real";
spew("$dir/real/target.lua", counting_chef('s1'));
symlink "$dir/real/target.lua", "$dir/link.lua" or die "symlink: $!";
$pid = start_kitchen('link', '--speed', '2', '-c', "$dir/link.lua");
ok(wait_for(sub { (slurp("$dir/link.out") // '') =~ /"v":"s1"/ }, 20), 'chef behind a symlink running');
write_by_rename("$dir/real/target.lua", counting_chef('s2'));
ok(wait_for(sub { (slurp("$dir/link.out") // '') =~ /"v":"s2"/ }, 20),
   'replacing the symlink\'s target reloads the chef');
finish($pid, 'link');

# --- the bundled chefs keep their counts across a reload --------------------
my $count_all = run('kitchen', '-q', '-f', '', '-r', $sample, '-c', 'packetcount', '--stdout');
my ($want_counts) = map { $_->{payload}{packet_counts} } (decode_lines($count_all->{out}))[-1];
$pid = start_kitchen('bundled', '--speed', '5', '-c', 'packetcount', '-c', 'dns');
ok(wait_for(sub { (slurp("$dir/bundled.out") // '') =~ /DNSLookupChef/ }, 20), 'bundled chefs running');
kill 'HUP', $pid;
ok(wait_for(sub { log_lines('bundled', qr/reloaded .*packetcount\.lua/) >= 1 }, 20), 'bundled chefs reloaded');
($docs) = finish($pid, 'bundled');
my ($counts) = map { $_->{payload}{packet_counts} } grep { $_->{metadata}{chef} eq 'PacketCountChef' } reverse @$docs;
is_deeply($counts, $want_counts, 'PacketCountChef\'s totals survive the reload');
my ($seen_dns) = grep { $_->{metadata}{chef} eq 'DNSLookupChef' && $_->{metadata}{driver} eq 'interval' } reverse @$docs;
my $plain_dns = run('kitchen', '-q', '-f', '', '-r', $sample, '-c', 'dns', '--stdout');
my ($want_dns) = grep { $_->{metadata}{driver} eq 'interval' } reverse decode_lines($plain_dns->{out});
is_deeply({ map { $_ => $seen_dns->{payload}{lookups_seen}{$_}{count} } keys %{ $seen_dns->{payload}{lookups_seen} } },
	  { map { $_ => $want_dns->{payload}{lookups_seen}{$_}{count} } keys %{ $want_dns->{payload}{lookups_seen} } },
	  'DNSLookupChef\'s lookups survive the reload');

# --- --chef-dir: files come and go -----------------------------------------
my $cdir = "$dir/chefs";
mkdir $cdir;
my $simple = sub {
	my ($name) = @_;
	return "local c = { name = '$name', n = 0 }\nfunction c:packet_handler() self.n = self.n + 1; return { n = self.n } end\n" .
	       "function c:interval_handler() return { total = self.n } end\nreturn c\n";
};
spew("$cdir/alpha.lua", $simple->('Alpha'));
spew("$cdir/notes.txt", "not a chef\n");
$pid = start_kitchen('dir', '--speed', '2', '--chef-dir', $cdir);
ok(wait_for(sub { (slurp("$dir/dir.out") // '') =~ /"chef":"Alpha"/ }, 20), 'a chef from the directory runs');
write_by_rename("$cdir/beta.lua", $simple->('Beta'));
ok(wait_for(sub { (slurp("$dir/dir.out") // '') =~ /"chef":"Beta"/ }, 20), 'a new file adds its chefs');
unlink "$cdir/alpha.lua";
ok(wait_for(sub { log_lines('dir', qr/alpha\.lua is gone/) >= 1 }, 20), 'a removed file retires its chefs');
($docs, $err) = finish($pid, 'dir');
my @alpha = grep { $_->{metadata}{chef} eq 'Alpha' } @$docs;
is($alpha[-1]{metadata}{driver}, 'interval', 'a retired chef makes its last interval dumpling');
is($alpha[-1]{payload}{total}, scalar(grep { $_->{metadata}{driver} eq 'packet' } @alpha),
   'with its final count');
my @beta_pkts = grep { $_->{metadata}{chef} eq 'Beta' && $_->{metadata}{driver} eq 'packet' } @$docs;
cmp_ok(scalar @beta_pkts, '>', 0, 'the added chef saw packets');
cmp_ok(@alpha - 1 + @beta_pkts, '>=', $packets, 'between them, every packet was seen');

# --- a thousand reloads, memory stays flat -----------------------------------
spew($chef, counting_chef('m0'));
# AddressSanitizer keeps freed memory in quarantine, which would look like
# growth here; a small quarantine keeps the figure about the kitchen.
local $ENV{ASAN_OPTIONS} = join ':', grep { length } $ENV{ASAN_OPTIONS} // '', 'quarantine_size_mb=1';
$pid = start_kitchen('mem', '--speed', '0.01', '-c', $chef);
ok(wait_for(sub { (slurp("$dir/mem.err") // '') =~ /reloading chefs when/ }, 20),
   'kitchen running slowly, following its chef');
my $rss = sub { (slurp("/proc/$pid/status") // '') =~ /^VmRSS:\s+(\d+)/m ? $1 : 0 };
my ($before, $done, @latency);
for my $i (1 .. 1000) {
	my $written = time;
	spew($chef, counting_chef("m$i"));
	my $deadline = time + 10;
	sleep 0.001 while log_lines('mem', qr/reloaded \Q$chef\E/) < $i && time < $deadline;
	last if time >= $deadline;
	push @latency, (time - $written) * 1000;
	$done = $i;
	$before = $rss->() if $i == 100;
}
@latency = sort { $a <=> $b } @latency;
diag(sprintf 'write-to-reloaded latency over %d reloads: median %.1f ms, 99th %.1f ms',
     scalar @latency, $latency[@latency / 2], $latency[int(@latency * 0.99)]) if @latency;
my $after = $rss->();
stop($pid, 'TERM');
is($done, 1000, 'a thousand reloads');
diag("RSS after 100 reloads: $before KiB; after 1000: $after KiB");
cmp_ok($after - $before, '<', 4096, 'memory stays flat across reloads (grew less than 4 MiB)');

# --- a chef given as a bare file name, as the man page writes it -----------
my $bare_dir = "$dir/bare";
mkdir $bare_dir or die "mkdir: $!";
spew("$bare_dir/live.lua", counting_chef('b0'));
$pid = spawn(['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', $bare_dir, bin(), 'kitchen', '-f', '',
	      '-r', $sample, '--stdout', '-p', '1', '--speed', '0.05', '-c', 'live.lua'],
	     out => "$dir/bare.out", err => "$dir/bare.err");
ok(wait_for(sub { (slurp("$dir/bare.err") // '') =~ /reloading chefs when/ }, 20),
   '-c live.lua: the kitchen follows its chef');
spew("$bare_dir/live.lua", counting_chef('b1'));
ok(wait_for(sub { log_lines('bare', qr/reloaded live\.lua/) >= 1 }, 20), 'and reloads it when it is saved');
stop($pid, 'TERM');

done_testing;
