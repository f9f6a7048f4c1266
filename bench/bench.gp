# gnuplot script for bench/bench.sh:
#   gnuplot -e "datafile='...'; outfile='...'; subtitle='...'" bench/bench.gp
# datafile columns: connections, module req/s, module p99 ms, static req/s,
# static p99 ms, pgbench tps, pgbench p99 ms (NaN where not measured)

if (!exists("subtitle")) subtitle = ""

set terminal pngcairo size 1300,600 font "sans,10"
set output outfile
set datafile missing "NaN"
set key at screen 0.5, screen 0.045 center center horizontal maxcols 3 maxrows 1 box width 1
set bmargin 7
set grid
set logscale x 2
set xtics (5, 20, 100, 500)
set xlabel "concurrent connections (wrk) / clients (pgbench)"
set xrange [4:640]

set multiplot layout 1,2 title "ngx\\_http\\_balance\\_module: eth\\_getBalance throughput and tail latency\n{/*0.8 ".subtitle."}"

set ylabel "requests (transactions) per second"
set yrange [0:*]
set format y "%.0f"
plot datafile using 1:4 with linespoints lw 2 pt 5 title "nginx return 200 (static)", \
     datafile using 1:2 with linespoints lw 2 pt 7 title "module eth\\_getBalance", \
     datafile using 1:6 with linespoints lw 2 pt 9 title "pgbench -M prepared"

set ylabel "p99 latency, ms (log scale)"
set logscale y 10
unset key
set yrange [*:*]
set format y "%g"
plot datafile using 1:5 with linespoints lw 2 pt 5 title "nginx return 200 (static)", \
     datafile using 1:3 with linespoints lw 2 pt 7 title "module eth\\_getBalance", \
     datafile using 1:7 with linespoints lw 2 pt 9 title "pgbench -M prepared"

unset multiplot
