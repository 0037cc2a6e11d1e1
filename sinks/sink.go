package sinks

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Sink is the contract every sink implements, in plain Go: a Sink value
// describes one run to one destination (an export directory, a BigQuery
// dataset, a process's stdout). The run goes:
//
//  1. Begin, in every process that writes, before its first part (and once
//     in the launching process before anything is read): it may refuse the
//     destination, and takes what the run holds while it writes.
//  2. Open a part of a stream, Write its rows, Close it: a part is a file
//     or a staging table, complete or not handed on at all. The rows of a
//     part that failed (Discard) are never published.
//  3. Publish, once, with the parts of every bundle that succeeded and the
//     reports: it makes the run visible as a whole (atomically where the
//     destination allows), a stream with lost data marked incomplete; or,
//     if anything failed, Abandon removes what the run wrote.
//  4. Summary reads back what was published, for the command to print.
//
// A Sink travels to the workers as JSON (its exported fields): no
// clients, no secrets. Register makes it known to the workers by kind.
type Sink interface {
	// Kind is the name the sink's kind is registered under.
	Kind() string
	// Target describes the destination for people: "export/", "BigQuery
	// dataset p.d".
	Target() string
	// ID names the run at its destination.
	ID() string
	// Begin opens the run in this process; a second call does nothing.
	Begin(ctx context.Context) error
	// Open starts a part of stream.
	Open(ctx context.Context, stream string) (PartWriter, error)
	// Publish makes the run's parts visible with what the reports say. A
	// stream without parts is published empty.
	Publish(ctx context.Context, parts []Part, reports []Report) error
	// Abandon cleans up after a run that failed or was stopped, once
	// nothing writes for it any more. The run may have been published
	// before it failed: Abandoned says so.
	Abandon(ctx context.Context) (Abandoned, error)
	// Summary reads back the published run.
	Summary(ctx context.Context) (Summary, error)
}

// Checkpointer is a Sink that saves a stream's state while the run goes
// on (Airbyte's STATE messages), so that a run that fails resumes from
// there. Checkpoint is called in a bundle after every record of stream
// that came before the checkpoint, in any bundle of the process, has been
// written (Write returned); a sink whose records become visible only when
// published has no use for it. Sinks that do not implement it drop
// checkpoints.
type Checkpointer interface {
	Checkpoint(ctx context.Context, stream string, state json.RawMessage) error
}

// PartWriter writes the rows of one part of one stream.
type PartWriter interface {
	// Write writes rows, each a record as JSON, and returns how many it
	// wrote: fewer than len(rows) only with an error.
	Write(ctx context.Context, rows [][]byte) (int, error)
	// Warnings returns the values written as null since the last call,
	// because they did not fit their column (tabular.Warning's text).
	Warnings() []string
	// Close completes the part and returns its name (a file's path, a
	// table's) and the rows it holds, as the destination counts them.
	Close(ctx context.Context) (name string, rows int64, err error)
	// Discard drops an unfinished part: it will not be published.
	Discard()
}

// Part is a completed part: what a bundle hands to Publish.
type Part struct {
	Stream string `json:"stream"`
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	// Warnings are the first MaxWarnings values written as null because
	// they did not fit their column, of WarningCount.
	Warnings     []string `json:"warnings,omitempty"`
	WarningCount int64    `json:"warning_count,omitempty"`
}

// MaxWarnings is how many warnings a part, and a stream of a run, keeps;
// the counts go on.
const MaxWarnings = 100

// KeepWarnings appends ws to kept, up to MaxWarnings in all.
func KeepWarnings(kept []string, ws ...string) []string {
	return append(kept, ws[:min(len(ws), max(0, MaxWarnings-len(kept)))]...)
}

// Abandoned is what Abandon found.
type Abandoned struct {
	// Published is true when the run had been published before it failed.
	Published bool
	// Left says what the destination holds now, for people: "nothing of
	// this run was published (export/ holds the previous export, if any)".
	Left string
}

// Summary is a published run, read back from its destination.
type Summary struct {
	RunID string
	// Where names what holds the run's account, for people: the manifest,
	// the runs table.
	Where   string
	Streams []StreamSummary // by name
	// Incomplete says how a user tells an incomplete stream at the
	// destination (a flag in the manifest, a table label).
	Incomplete string
}

// StreamSummary is one stream of a Summary.
type StreamSummary struct {
	Stream       string
	Records      int64
	Parts        int
	Complete     bool
	Problems     []string // skipped or lost parts of the account
	Warnings     []string
	WarningCount int64
}

// Complete reports whether every stream of s is complete.
func (s Summary) Complete() bool {
	for _, st := range s.Streams {
		if !st.Complete {
			return false
		}
	}
	return true
}

// Run is what a command tells a kind of sink about a run it describes.
type Run struct {
	StartedAt time.Time
	// Schemas maps each stream of the run to its JSON Schema.
	Schemas map[string]string
	// Source describes what is read, for the destination's records of
	// runs.
	Source map[string]string
	// Elsewhere is true when the workers run on other machines
	// (Dataflow): they cannot write to this machine's disk.
	Elsewhere bool
	// DryRun is true when the job is only printed, or when the command
	// checks the flags before anything else: the destination is then not
	// checked.
	DryRun bool
}

// Kind is a kind of sink, as registered.
type Kind struct {
	// Name selects the kind (asana-export's --sink).
	Name string
	// Flags, when the kind can be chosen on a command line, adds its flags
	// to fs and returns New, which describes a run with their values
	// once they are parsed, checking them and the destination (unless
	// Run.DryRun).
	Flags func(fs *flag.FlagSet) (New func(ctx context.Context, r Run) (Sink, error))
	// Decode rebuilds a Sink from its JSON, on a worker.
	Decode func(data []byte) (Sink, error)
}

var (
	kindsMu sync.Mutex
	kinds   = map[string]Kind{}
)

// Register makes a kind of sink known; sink packages call it from init.
func Register(k Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[k.Name]; dup || k.Name == "" || k.Decode == nil {
		panic(fmt.Sprintf("sinks: registering kind %q twice, without a name or without Decode", k.Name))
	}
	kinds[k.Name] = k
}

// Lookup returns the kind called name.
func Lookup(name string) (Kind, bool) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	k, ok := kinds[name]
	return k, ok
}

// Kinds returns the registered kinds that a command line can choose
// (those with Flags), sorted by name.
func Kinds() []Kind {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	var out []Kind
	for _, k := range kinds {
		if k.Flags != nil {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DecodeJSON is the Decode of a kind whose Sink is a T and travels as
// its exported fields' JSON, as every sink's does.
func DecodeJSON[T Sink](data []byte) (Sink, error) {
	var s T
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("sinks: decoding a %T: %w", s, err)
	}
	return s, nil
}

// decode rebuilds a sink of kind from its JSON.
func decode(kind, data string) (Sink, error) {
	k, ok := Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("sinks: no sink of kind %q is registered in this binary", kind)
	}
	return k.Decode([]byte(data))
}
