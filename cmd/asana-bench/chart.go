package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"slices"
)

// drawChart draws, for each run, the requests per second the simulator
// received against the cap, in Asana time: bars per bin, the rate of the
// trailing window (what Asana limits), the cap, and the 429s. It is SVG
// written by hand.
func drawChart(runs []*runResult) []byte {
	const (
		width   = 960
		panelH  = 270
		left    = 64
		right   = 24
		top     = 56 // above the first panel: title and legend
		gap     = 40 // between panels, for the axis labels and the panel title
		plotTop = 28 // panel title above the plot
	)
	height := top + len(runs)*(panelH+gap)
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="22" font-size="16" font-weight="bold">Requests per second against the cap (asana-bench report, Asana time)</text>`+"\n", left)
	// Legend.
	lx, ly := left, 42
	p(`<rect x="%d" y="%d" width="14" height="10" fill="#9ecae1"/><text x="%d" y="%d">requests per second, per bin</text>`+"\n", lx, ly-9, lx+20, ly)
	lx += 220
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#08519c" stroke-width="2"/><text x="%d" y="%d">trailing minute ÷ 60 (what Asana limits)</text>`+"\n", lx, ly-4, lx+16, ly-4, lx+22, ly)
	lx += 290
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e6550d" stroke-width="2" stroke-dasharray="6 4"/><text x="%d" y="%d">cap</text>`+"\n", lx, ly-4, lx+24, ly-4, lx+30, ly)
	lx += 70
	p(`<path d="M%d %d l5 -9 l5 9 z" fill="#cb181d"/><text x="%d" y="%d">a 429</text>`+"\n", lx, ly, lx+16, ly)

	for i, r := range runs {
		y0 := top + i*(panelH+gap) + plotTop // top of the plot
		h := panelH - plotTop - 30           // plot height
		w := width - left - right
		drawPanel(&b, r, left, y0, w, h)
	}
	p("</svg>\n")
	return b.Bytes()
}

// drawPanel draws one run in the plot whose top left corner is (x0, y0).
func drawPanel(b *bytes.Buffer, r *runResult, x0, y0, w, h int) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	// Times in Asana seconds.
	arr := make([]float64, len(r.arrivals))
	for i, a := range r.arrivals {
		arr[i] = r.unscaled(a).Seconds()
	}
	slices.Sort(arr)
	end := r.unscaled(r.Wall).Seconds()
	if len(arr) > 0 {
		end = max(end, arr[len(arr)-1])
	}
	end = max(end, 1)
	// Bins of a few seconds show how a window's budget is spent; past that
	// they are whole minutes, which do not alias with the window.
	bin := 1.0
	for _, c := range []float64{1, 2, 3, 5, 60, 120, 300, 600, 1200} {
		bin = c
		if end/c <= 400 {
			break
		}
	}
	nb := int(math.Ceil(end / bin))
	counts := make([]int, nb)
	for _, a := range arr {
		counts[min(nb-1, int(a/bin))]++
	}
	capRate := float64(r.RPM) / 60
	win := r.unscaled(r.Window).Seconds() // a minute
	// The trailing window's rate at the end of each bin.
	trail := make([]float64, nb)
	lo, hi := 0, 0
	for i := range nb {
		t := float64(i+1) * bin
		for hi < len(arr) && arr[hi] < t {
			hi++
		}
		for lo < hi && arr[lo] < t-win {
			lo++
		}
		trail[i] = float64(hi-lo) / win
	}
	top := capRate * 1.25
	for _, c := range counts {
		top = max(top, 1.08*float64(c)/bin)
	}
	step := niceStep(top / 5)
	top = math.Ceil(top/step) * step
	xOf := func(t float64) float64 { return float64(x0) + t/end*float64(w) }
	yOf := func(v float64) float64 { return float64(y0+h) - v/top*float64(h) }

	p(`<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", x0, y0-10, html.EscapeString(fmt.Sprintf(
		"%s account, cap %s/min (%.3g/s): %s requests, %d 429s; time ÷%g", r.Size, thousands(r.RPM), capRate,
		thousands(r.Requests), r.Throttled, r.Scale)))
	// Grid and y axis.
	for v := 0.0; v <= top+1e-9; v += step {
		y := yOf(v)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x0, y, x0+w, y)
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, trimFloat(v))
	}
	p(`<text transform="translate(%d %d) rotate(-90)" text-anchor="middle">requests / s</text>`+"\n", x0-44, y0+h/2)
	// x axis in minutes.
	xstep := niceStep(end / 60 / 8)
	for m := 0.0; m*60 <= end+1e-9; m += xstep {
		x := xOf(m * 60)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>`+"\n", x, y0+h, x, y0+h+4)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, y0+h+16, trimFloat(m))
	}
	p(`<text x="%d" y="%d" text-anchor="end">minutes</text>`+"\n", x0+w, y0+h+30)
	// Bars.
	bw := float64(w) / float64(nb)
	for i, c := range counts {
		if c == 0 {
			continue
		}
		v := float64(c) / bin
		p(`<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#9ecae1"/>`+"\n", float64(x0)+float64(i)*bw, yOf(v), max(bw-0.2, 0.5), float64(y0+h)-yOf(v))
	}
	// Trailing window.
	var pts bytes.Buffer
	for i, v := range trail {
		fmt.Fprintf(&pts, "%.1f,%.1f ", xOf(float64(i+1)*bin), yOf(v))
	}
	p(`<polyline points="%s" fill="none" stroke="#08519c" stroke-width="2"/>`+"\n", pts.String())
	// Cap.
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e6550d" stroke-width="2" stroke-dasharray="6 4"/>`+"\n", x0, yOf(capRate), x0+w, yOf(capRate))
	p(`<text x="%d" y="%.1f" text-anchor="end" fill="#e6550d">cap %s/min</text>`+"\n", x0+w-4, yOf(capRate)-5, thousands(r.RPM))
	// 429s, on the x axis.
	for _, t := range r.throttle {
		x := xOf(r.unscaled(t).Seconds())
		p(`<path d="M%.1f %d l4 -8 l4 8 z" fill="#cb181d"/>`+"\n", x-4, y0+h)
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, y0+h, x0+w, y0+h)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, y0, x0, y0+h)
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(s float64) float64 {
	if s <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}
