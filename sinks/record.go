// Package sinks holds what every sink of asana-beam shares: the record that
// flows from the source to a sink, and the reports that travel with it.
// Sinks know records and JSON schemas, never Asana; each sink lives in a
// package below this one, plain Go first, wrapped in a thin Beam transform.
package sinks

import "encoding/json"

// Record is one record of a stream: its primary key and the record as
// JSON, exactly as the source read it. Or, with State set and no Data, a
// checkpoint of the stream: its state for the next sync, should this one
// not end, covering every record of the stream that came before it in
// this process (see Checkpointer).
type Record struct {
	Stream string          `json:"stream"`
	Key    string          `json:"key"`
	Data   []byte          `json:"data"`
	State  json.RawMessage `json:"state,omitempty"`
}

// Report is something a sync should tell its user about a stream: a part
// the token may not read (skipped), or data lost to an error (which makes
// the stream incomplete); or, with State, the stream's state for the next
// sync, for the sinks that keep one (Airbyte's).
type Report struct {
	Stream  string `json:"stream"`
	Lost    bool   `json:"lost"`
	Message string `json:"message"`
	// State, when set, is the stream's state for the next incremental
	// sync (the report is no problem).
	State json.RawMessage `json:"state,omitempty"`
}

// Tally sorts the problems among reports by stream: their messages, and
// whether one of them lost data. States are no problems.
func Tally(reports []Report) (problems map[string][]string, lost map[string]bool) {
	problems, lost = map[string][]string{}, map[string]bool{}
	for _, r := range reports {
		if r.State == nil {
			problems[r.Stream] = append(problems[r.Stream], r.Message)
			lost[r.Stream] = lost[r.Stream] || r.Lost
		}
	}
	return problems, lost
}
