package airbyte

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestWriterLinesAndCounts writes records from many goroutines: every line
// is one whole message, and each state counts its stream's records since
// the previous state.
func TestWriterLinesAndCounts(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.now = func() time.Time { return time.UnixMilli(1700000000123) }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				data := fmt.Sprintf(`{"gid":"%d","note":"line\nbreak \"quoted\""}`, g*1000+i)
				if err := w.Record(fmt.Sprintf("s%d", g%2), []byte(data)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	w.State("s0", json.RawMessage(`{"__ab_no_cursor_state_message":true}`))
	w.Record("s0", []byte(`{"gid":"x"}`))
	w.State("s0", json.RawMessage(`{"__ab_no_cursor_state_message":true}`))
	w.State("s1", json.RawMessage(`{"__ab_no_cursor_state_message":true}`))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	records := 0
	var states []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not one message: %v: %q", err, sc.Text())
		}
		switch m.Type {
		case "RECORD":
			records++
			if m.Record.EmittedAt != 1700000000123 {
				t.Errorf("emitted_at %d", m.Record.EmittedAt)
			}
		case "STATE":
			states = append(states, fmt.Sprintf("%s %v", m.State.Stream.StreamDescriptor.Name, m.State.SourceStats.RecordCount))
		}
	}
	if records != 4001 {
		t.Errorf("%d records, want 4001", records)
	}
	if fmt.Sprint(states) != "[s0 2000 s0 1 s1 2000]" {
		t.Errorf("states %v", states)
	}
}
