package airbyte

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Writer writes AirbyteMessages, one per line, safe for concurrent use: a
// line is never interleaved with another. Records are buffered; Flush
// writes them out, and every non-record message flushes.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	err    error
	counts map[string]int64 // records per stream since its last state
	now    func() time.Time
	redact func([]byte) []byte
}

// SetRedact makes the writer pass every message but records through
// redact before writing it (records are the source's to redact, once).
func (w *Writer) SetRedact(redact func([]byte) []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.redact = redact
}

// NewWriter returns a writer to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10), counts: map[string]int64{}, now: time.Now}
}

// Record writes a RECORD of stream; data must be a JSON object.
func (w *Writer) Record(stream string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	// Written by hand: the data is already JSON, and this is the hot path.
	b := w.w
	b.WriteString(`{"type":"RECORD","record":{"stream":`)
	b.Write(strconv.AppendQuote(nil, stream))
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteString(`,"emitted_at":`)
	b.WriteString(strconv.FormatInt(w.now().UnixMilli(), 10))
	_, err := b.WriteString("}}\n")
	if err != nil {
		w.err = fmt.Errorf("writing a record of %s: %w", stream, err)
		return w.err
	}
	w.counts[stream]++
	return nil
}

// Count returns the records of stream written since its last state.
func (w *Writer) Count(stream string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[stream]
}

// Message writes any other message and flushes.
func (w *Writer) Message(m Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.message(m)
}

// message is Message; the caller holds w.mu.
func (w *Writer) message(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding a %s message: %w", m.Type, err)
	}
	if w.err != nil {
		return w.err
	}
	if w.redact != nil {
		b = w.redact(b)
	}
	w.w.Write(b)
	w.w.WriteByte('\n')
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("writing a %s message: %w", m.Type, err)
	}
	return w.err
}

// Log writes a LOG message.
func (w *Writer) Log(level, format string, args ...any) error {
	return w.Message(Message{Type: "LOG", Log: &LogMessage{Level: level, Message: fmt.Sprintf(format, args...)}})
}

func (w *Writer) millis() float64 { return float64(w.now().UnixMilli()) }

// Status writes a stream status TRACE.
func (w *Writer) Status(stream, status string) error {
	return w.Message(Message{Type: "TRACE", Trace: &TraceMessage{Type: "STREAM_STATUS", EmittedAt: w.millis(),
		StreamStatus: &StreamStatus{StreamDescriptor: StreamDescriptor{Name: stream}, Status: status}}})
}

// Error writes an error TRACE; stream may be empty.
func (w *Writer) Error(failureType, message, internal, stream string) error {
	te := &TraceError{Message: message, InternalMessage: internal, FailureType: failureType}
	if stream != "" {
		te.StreamDescriptor = &StreamDescriptor{Name: stream}
	}
	return w.Message(Message{Type: "TRACE", Trace: &TraceMessage{Type: "ERROR", EmittedAt: w.millis(), Error: te}})
}

// State writes a STREAM state of stream covering the records written
// since its last state, and restarts that count: at once, so that no
// record written meanwhile by another bundle falls between the two.
func (w *Writer) State(stream string, state json.RawMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.counts[stream]
	w.counts[stream] = 0
	return w.message(Message{Type: "STATE", State: &StateMessage{Type: "STREAM",
		Stream:      &StreamState{StreamDescriptor: StreamDescriptor{Name: stream}, StreamState: state},
		SourceStats: &Stats{RecordCount: float64(n)}}})
}

// Flush writes out buffered records.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		if err := w.w.Flush(); err != nil {
			w.err = fmt.Errorf("flushing records: %w", err)
		}
	}
	return w.err
}
