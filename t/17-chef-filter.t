#!/usr/bin/perl
# Per-chef BPF filters (chef.filter): a chef sees exactly the packets
# tcpdump's same filter selects, on every source whatever its link type,
# and no other packet enters its Lua; a bad filter is refused naming the
# chef, its file and the filter; a reload changes the filter, and a bad
# one at reload leaves the running chef as it was.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Time::HiRes qw(time sleep);

need_corpus();
need(!system('tcpdump --version >/dev/null 2>&1'), 'tcpdump not available');

my $dir = tmpdir();

# tcpdump's packet times for a filter, as microsecond text.
sub tcpdump_times {
	my ($file, $filter) = @_;
	my $r = run([qw(tcpdump -nn -tt -r), $file, $filter]);
	die "tcpdump: $r->{err}" if $r->{status};
	return [ map { /^(\d+\.\d+)/ ? sprintf('%.6f', $1) : () } split /\n/, $r->{out} ];
}

sub times_of { [ map { $_->{payload}{t} } @_ ] }

# tcpdump shows nanosecond stamps cut to microseconds: within one.
sub same_times {
	my ($got, $want, $name) = @_;
	my $same = @$got == @$want;
	for my $i (0 .. $#$want) { $same &&= abs($got->[$i] - $want->[$i]) < 1.5e-6 }
	ok($same, $name) or diag(scalar(@$got) . " packets: @$got[0 .. ($#$got < 5 ? $#$got : 5)] ..., want "
				 . scalar(@$want) . ": @$want[0 .. ($#$want < 5 ? $#$want : 5)] ...");
}

sub chef_file {
	my ($name, $text) = @_;
	spew("$dir/$name.lua", $text);
	return "$dir/$name.lua";
}

# Each chef counts its calls itself and says so at the last poke, so
# that a packet its filter rejects is seen not to have entered its Lua.
sub filtered_chef {
	my ($name, $filter, $extra) = @_;
	$extra //= '';
	return chef_file($name, <<LUA);
local c = { name = "$name", filter = "$filter", n = 0 }
function c:packet_handler(pkt)
  self.n = self.n + 1
  $extra
  return { t = pkt.time, source = pkt.source }
end
function c:interval_handler() return { calls = self.n } end
return c
LUA
}

sub packets_of {
	my ($docs, $chef) = @_;
	return grep { $_->{metadata}{chef} eq $chef && $_->{metadata}{driver} eq 'packet' } @$docs;
}

sub last_calls {
	my ($docs, $chef) = @_;
	my @i = grep { $_->{metadata}{chef} eq $chef && $_->{metadata}{driver} eq 'interval' } @$docs;
	return @i ? $i[-1]{payload}{calls} : undef;
}

# --- the same packets as tcpdump, capture by capture ---------------------
my $dns = filtered_chef('DnsOnly', 'udp port 53');
for my $name (qw(wikipedia.pcap dns-long-connection.pcap dns-badcookie.pcap
		 ipv6-fragmented-dns.pcap LINKTYPE_RAW_ipv4.pcap LINKTYPE_IPV6.pcap
		 pcapng-multi-interface.pcapng)) {
	my $file = pcap($name);
	my $want = tcpdump_times($file, 'udp port 53');
	my $r = run('kitchen', '-q', '-f', '', '--stdout', '-c', $dns, '-r', $file);
	is($r->{status}, 0, "$name: the kitchen exits 0");
	my @docs = decode_lines($r->{out});
	same_times(times_of(packets_of(\@docs, 'DnsOnly')), $want,
		  "$name: the chef sees the " . @$want . " packets tcpdump selects");
	is(last_calls(\@docs, 'DnsOnly'), scalar @$want, "$name: and is called for no other");
}

# --- several sources of different link types, several chefs -------------
my @files = map { pcap($_) } qw(wikipedia.pcap dns-badcookie.pcap LINKTYPE_RAW_ipv4.pcap
				LINKTYPE_IPV6.pcap);
my $twin = filtered_chef('DnsTwin', 'udp port 53');
my $tcp = filtered_chef('TcpOnly', 'tcp');
my $every = filtered_chef('Every', '');
my $fails = filtered_chef('Fails', 'udp', 'error("no")');
my $r = run('kitchen', '-q', '-f', '', '--stdout', '-c', $dns, '-c', $fails, '-c', $twin,
	    '-c', $tcp, '-c', $every, map { ('-r', $_) } @files);
is($r->{status}, 0, 'a kitchen of four link types exits 0');
my @docs = decode_lines($r->{out});
my ($all, %want) = (0);
for my $i (0 .. $#files) {
	$want{dns}[$i] = tcpdump_times($files[$i], 'udp port 53');
	$want{tcp}[$i] = tcpdump_times($files[$i], 'tcp');
	$all += @{ tcpdump_times($files[$i], '') };
}
for my $i (0 .. $#files) {
	my @mine = grep { $_->{payload}{source} eq $files[$i] } packets_of(\@docs, 'DnsOnly');
	same_times(times_of(@mine), $want{dns}[$i], "source $i: DNS chef as tcpdump says");
	@mine = grep { $_->{payload}{source} eq $files[$i] } packets_of(\@docs, 'TcpOnly');
	same_times(times_of(@mine), $want{tcp}[$i], "source $i: TCP chef as tcpdump says");
}
my $dns_total = 0;
$dns_total += @$_ for @{ $want{dns} };
is(scalar(packets_of(\@docs, 'DnsTwin')), $dns_total, 'two chefs with one filter both see its packets');
is(last_calls(\@docs, 'Every'), $all, 'an empty filter is no filter: every packet');
my $udp_total = 0;
$udp_total += @{ tcpdump_times($_, 'udp') } for @files;
is(last_calls(\@docs, 'Fails'), $udp_total, 'a failing filtered chef is called for its packets only');
my $errors = () = $r->{err} =~ /chef Fails: error/g;
ok($errors >= 1, 'and its errors are logged') or diag $r->{err};
is(last_calls(\@docs, 'DnsTwin'), $dns_total, 'the chefs after it still see all of theirs');

# --- bad filters are refused, naming chef, file and filter ---------------
my $bad = chef_file('bad', <<'LUA');
return { name = "BadFilter", filter = "udp prot 53", packet_handler = function() end }
LUA
$r = run('kitchen', '-q', '-f', '', '--stdout', '-c', $bad, '-r', pcap('dns_udp.pcap'));
isnt($r->{status}, 0, 'a chef with a filter that does not compile is refused');
like($r->{err}, qr/\Q$bad\E.*chef BadFilter: filter 'udp prot 53': .*syntax error/,
     'the error names the file, the chef and the filter');
is($r->{out}, '', 'and the kitchen cooks nothing');

my $typed = chef_file('typed', <<'LUA');
return { name = "NotText", filter = 53, packet_handler = function() end }
LUA
$r = run('kitchen', '-q', '-f', '', '--stdout', '-c', $typed, '-r', pcap('dns_udp.pcap'));
isnt($r->{status}, 0, 'a filter that is not a string is refused');
like($r->{err}, qr/chef NotText: filter is a number, not a string/, 'saying so');

my $vlan = filtered_chef('Tagged', 'vlan and udp');
$r = run('kitchen', '-q', '-f', '', '--stdout', '-c', $vlan, '-r', pcap('dns_udp.pcap'),
	 '-r', pcap('dns-badcookie.pcap'));
isnt($r->{status}, 0, 'a filter that one source\'s link type cannot express is refused');
like($r->{err}, qr/chef Tagged: filter 'vlan and udp': .*link-type NULL/, 'naming the link type');

# --- a reload changes the filter; a bad one keeps the running chef -------
my $sample = root() . '/examples/sample.pcap';
my $live = "$dir/live.lua";
sub versioned {
	my ($v, $filter) = @_;
	return <<LUA;
local c = { name = "Switch", filter = "$filter" }
function c:packet_handler(pkt) return { v = "$v", t = pkt.time } end
return c
LUA
}
spew($live, versioned('dns', 'udp port 53'));
my $pid = spawn([bin(), 'kitchen', '-f', '', '-r', $sample, '--stdout', '--speed', '2',
		 '-c', $live], out => "$dir/live.out", err => "$dir/live.err");
ok(wait_for(sub { (slurp("$dir/live.out") // '') =~ /"v":"dns"/ }, 20), 'the DNS version runs');
spew($live, versioned('arp', 'arp'));
ok(wait_for(sub { (slurp("$dir/live.err") // '') =~ /reloaded \Q$live\E/ }, 20),
   'the chef is reloaded with another filter');
spew($live, versioned('bad', 'arp or'));
ok(wait_for(sub { (slurp("$dir/live.err") // '') =~ /reloading \Q$live\E failed/ }, 20),
   'a bad filter fails the reload');
my $deadline = time + 60;
sleep 0.1 while waitpid($pid, POSIX::WNOHANG()) != $pid && time < $deadline;
stop($pid, 'TERM') if kill 0, $pid;
my $err = slurp("$dir/live.err") // '';
like($err, qr/reloading \Q$live\E failed, the running version stays: .*chef Switch: filter 'arp or'/,
     'naming the chef and the filter');
@docs = decode_lines(slurp("$dir/live.out"));
my @dns = grep { $_->{payload}{v} eq 'dns' } @docs;
my @arp = grep { $_->{payload}{v} eq 'arp' } @docs;
ok(@dns && @arp, 'both versions made dumplings');
ok(!grep({ $_->{payload}{v} eq 'bad' } @docs), 'the bad version never ran');
my ($last_dns, $first_arp) = ($dns[-1]{payload}{t}, $arp[0]{payload}{t});
ok($last_dns < $first_arp, 'one version at a time');
same_times(times_of(@dns), [ grep { $_ <= $last_dns + 1e-7 } @{ tcpdump_times($sample, 'udp port 53') } ],
	  'the first version saw every DNS packet until the reload');
same_times(times_of(@arp), [ grep { $_ >= $first_arp - 1e-7 } @{ tcpdump_times($sample, 'arp') } ],
	  'the second every ARP packet after it, to the end');

done_testing;
