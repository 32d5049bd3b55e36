#!/usr/bin/perl
# The documentation is true to the program: the man pages lint clean, and
# every option each subcommand's --help offers is in dumplings(1).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;

my $man = slurp(root() . '/man/dumplings.1');

SKIP: {
	my $lint = run(['mandoc', '-Tlint', '-Wwarning', map { root() . "/man/$_" } qw(dumplings.1 dumplings-lua.3)]);
	skip 'mandoc is not installed', 1 if $lint->{status} == 127 || $lint->{err} =~ /No such file/;
	is($lint->{status} . $lint->{out} . $lint->{err}, '0', 'the man pages lint clean');
}

for my $role (qw(kitchen hub eat)) {
	my $r = run($role, '--help');
	is($r->{status}, 0, "$role --help exits 0");
	my @long = $r->{out} =~ /--([a-z][a-z-]+)/g;
	my %seen;
	for my $opt (grep { !$seen{$_}++ } @long) {
		next if $opt eq 'help' || $opt eq 'version';
		ok($man =~ /Fl Fl (?:[a-z-]+ , )*\Q$opt\E\b/, "dumplings(1) documents $role --$opt");
	}
	like($man, qr/\.Cm $role\b/, "dumplings(1) has a synopsis for $role");
}

my $readme = slurp(root() . '/README.md');
like($readme, qr/^    examples\/demo$/m, 'the README quick start runs the demo');
like($readme, qr/^    make test$/m, 'the README quick start runs the tests');
ok(-x root() . '/examples/demo', 'examples/demo is executable');

done_testing;
