# The README's chart: reqtrack vs the lock-based reference, time per call, from the data file
# that `benches/report.py --chart-data` writes. benches/regen.sh runs it:
#
#   gnuplot -e "data='target/perf/chart.dat'; out='benches/perf.svg'" benches/perf.gp
#
# gnuplot: Debian's `gnuplot-nox` (apt-get install gnuplot-nox).
if (!exists("data")) data = 'target/perf/chart.dat'
if (!exists("out")) out = 'benches/perf.svg'
set encoding utf8
set terminal svg size 1000,500 font 'sans,12' noenhanced background '#ffffff'
set output out
set title "reqtrack vs the lock-based reference: time per call (log scale, lower is better; label: reference ÷ reqtrack)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "%g"
set ylabel "ns per call (per token for contention)"
set xtics rotate by -35 scale 0 nomirror
set key top left
set grid ytics
set bmargin 7
set rmargin 9
plot data using 2:xtic(1) title 'reqtrack' lc rgb '#1b9e77', \
     '' using 3 title 'reference' lc rgb '#d95f02', \
     '' using 0:(($3 > $2 ? $3 : $2) * 1.5):(sprintf("%.2f×", $4)) with labels font ',10' notitle
