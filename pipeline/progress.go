package pipeline

import (
	"sort"
	"sync"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// progress counts what the DoFns of this process have read, for a
// command's live progress line. On Prism every DoFn runs in the command's
// process; on a remote runner the job's counters tell the same.
var progress = struct {
	sync.Mutex
	records map[string]int64
	pages   map[string]int64
}{records: map[string]int64{}, pages: map[string]int64{}}

// StreamProgress is what has been read of one stream.
type StreamProgress struct {
	Stream  string
	Records int64 // before deduplication
	Pages   int64
}

// Progress returns what this process has read so far, per stream, and
// the totals of its rate limiters.
func Progress() ([]StreamProgress, asana.LimiterStats) {
	progress.Lock()
	var out []StreamProgress
	names := map[string]bool{}
	for s := range progress.records {
		names[s] = true
	}
	for s := range progress.pages {
		names[s] = true
	}
	for s := range names {
		out = append(out, StreamProgress{Stream: s, Records: progress.records[s], Pages: progress.pages[s]})
	}
	progress.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Stream < out[j].Stream })
	return out, asana.SharedLimiterStats()
}

func countRecord(stream string) {
	progress.Lock()
	progress.records[stream]++
	progress.Unlock()
}

func countPages(stream string, n int) {
	if stream == "" {
		return
	}
	progress.Lock()
	progress.pages[stream] += int64(n)
	progress.Unlock()
}
