#!/usr/bin/perl
# CPU used by processes that are not bench/faults.sh's own, for the report:
# every second, the machine's busy time (/proc/stat) less the CPU time of
# faults.sh's processes: the descendants of the script (ROOT) and of every
# process whose command line names DIR (its nginx masters, its postmaster).
#
#   faults-cpu.pl ROOT DIR OUT
#
# OUT is rewritten each second with "<ms> <busy ticks> <other ticks>",
# both cumulative since the start; a phase reads it before and after.
# Time of own processes that start and end within one second is missed and
# so counted as other: the figure errs on the side of more other load.
use strict;
use warnings;
use Time::HiRes qw(sleep time);

my ($root, $dir, $out) = @ARGV;
die "usage: $0 ROOT DIR OUT\n" unless defined $out;

sub busy {
    open(my $f, '<', '/proc/stat') or return 0;
    my $line = <$f>;
    close($f);
    my @v = split ' ', $line;
    # user nice system idle iowait irq softirq steal
    return $v[1] + $v[2] + $v[3] + $v[6] + $v[7] + $v[8];
}

# pid -> [ppid, ticks, cmdline names DIR]
sub processes {
    my %p;
    opendir(my $d, '/proc') or return {};
    for my $pid (grep { /^\d+$/ } readdir($d)) {
        open(my $f, '<', "/proc/$pid/stat") or next;
        my $s = <$f>;
        close($f);
        next unless defined $s && $s =~ /\)\s+(.*)$/;
        my @v = split ' ', $1;
        # after the name: state ppid ... utime(12) stime(13) from here
        my $cmd = '';
        if (open(my $c, '<', "/proc/$pid/cmdline")) {
            local $/;
            $cmd = <$c> // '';
            close($c);
        }
        $p{$pid} = [$v[1], $v[11] + $v[12], index($cmd, $dir) >= 0];
    }
    closedir($d);
    return \%p;
}

sub own {
    my ($p) = @_;
    my %own;
    for my $pid (keys %$p) {
        my ($q, $n) = ($pid, 0);
        while ($q > 1 && exists $p->{$q} && $n++ < 64) {
            if ($q == $root || $p->{$q}[2]) {
                $own{$pid} = 1;
                last;
            }
            $q = $p->{$q}[0];
        }
    }
    return \%own;
}

my ($busy0, $other) = (busy(), 0);
my $prev = processes();
my $busy_total = 0;

while (kill(0, $root)) {
    sleep(1);
    my $busy1 = busy();
    my $now = processes();
    my $own = own($now);
    my $mine = 0;
    for my $pid (keys %$own) {
        my $before = exists $prev->{$pid} ? $prev->{$pid}[1] : 0;
        my $d = $now->{$pid}[1] - $before;
        $mine += $d if $d > 0;
    }
    my $d = $busy1 - $busy0;
    $busy_total += $d;
    $other += $d - $mine if $d > $mine;
    ($busy0, $prev) = ($busy1, $now);

    if (open(my $f, '>', "$out.new")) {
        printf $f "%d %d %d\n", time() * 1000, $busy_total, $other;
        close($f);
        rename("$out.new", $out);
    }
}
