// Package airbyte writes the Airbyte protocol: AirbyteMessages, one JSON
// object per line on stdout. [Writer] is the plain Go sink (records, logs,
// traces, states); [Write] wraps it in a thin Beam transform for the
// pipeline's records. It knows records and JSON schemas, never Asana.
package airbyte

import "encoding/json"

// Message is an AirbyteMessage; exactly one member matching Type is set.
type Message struct {
	Type             string            `json:"type"`
	Record           *RecordMessage    `json:"record,omitempty"`
	State            *StateMessage     `json:"state,omitempty"`
	Log              *LogMessage       `json:"log,omitempty"`
	Spec             json.RawMessage   `json:"spec,omitempty"`
	ConnectionStatus *ConnectionStatus `json:"connectionStatus,omitempty"`
	Catalog          *Catalog          `json:"catalog,omitempty"`
	Trace            *TraceMessage     `json:"trace,omitempty"`
}

// RecordMessage is one record of a stream.
type RecordMessage struct {
	Stream    string          `json:"stream"`
	Data      json.RawMessage `json:"data"`
	EmittedAt int64           `json:"emitted_at"`
}

// StateMessage is a per-stream state.
type StateMessage struct {
	Type        string       `json:"type"`
	Stream      *StreamState `json:"stream"`
	SourceStats *Stats       `json:"sourceStats"`
}

// StreamState is the state of one stream.
type StreamState struct {
	StreamDescriptor StreamDescriptor `json:"stream_descriptor"`
	StreamState      json.RawMessage  `json:"stream_state"`
}

// Stats counts the records a state covers.
type Stats struct {
	RecordCount float64 `json:"recordCount"`
}

// StreamDescriptor names a stream.
type StreamDescriptor struct {
	Name string `json:"name"`
}

// LogMessage is a log line.
type LogMessage struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// ConnectionStatus answers check.
type ConnectionStatus struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// Catalog answers discover.
type Catalog struct {
	Streams []Stream `json:"streams"`
}

// Stream is an AirbyteStream.
type Stream struct {
	Name               string          `json:"name"`
	JSONSchema         json.RawMessage `json:"json_schema"`
	SupportedSyncModes []string        `json:"supported_sync_modes"`
	// SourceDefinedCursor and DefaultCursorField are set on a stream that
	// supports incremental sync: see [Stream.WithIncremental].
	SourceDefinedCursor     bool       `json:"source_defined_cursor,omitempty"`
	DefaultCursorField      []string   `json:"default_cursor_field,omitempty"`
	SourceDefinedPrimaryKey [][]string `json:"source_defined_primary_key,omitempty"`
	IsResumable             bool       `json:"is_resumable"`
}

// Sync modes of the protocol (SyncMode).
const (
	FullRefresh = "full_refresh"
	Incremental = "incremental"
)

// DeletedAtField is the property of a deleted record's tombstone, by
// Airbyte's CDC convention: a record whose _ab_cdc_deleted_at is set
// carries the primary key of a deleted row, which append_dedup
// destinations delete. See [WithDeletedAt].
const DeletedAtField = "_ab_cdc_deleted_at"

// TraceMessage is an error, or a stream status.
type TraceMessage struct {
	Type         string        `json:"type"`
	EmittedAt    float64       `json:"emitted_at"`
	Error        *TraceError   `json:"error,omitempty"`
	StreamStatus *StreamStatus `json:"stream_status,omitempty"`
}

// Failure types of a TraceError.
const (
	ConfigError    = "config_error"
	SystemError    = "system_error"
	TransientError = "transient_error"
)

// TraceError reports a failure the user can act on.
type TraceError struct {
	Message          string            `json:"message"`
	InternalMessage  string            `json:"internal_message,omitempty"`
	FailureType      string            `json:"failure_type"`
	StreamDescriptor *StreamDescriptor `json:"stream_descriptor,omitempty"`
}

// Stream statuses.
const (
	Started    = "STARTED"
	Running    = "RUNNING"
	Complete   = "COMPLETE"
	Incomplete = "INCOMPLETE"
)

// StreamStatus is a stream's progress.
type StreamStatus struct {
	StreamDescriptor StreamDescriptor `json:"stream_descriptor"`
	Status           string           `json:"status"`
}

// ConfiguredCatalog is the catalog read is given.
type ConfiguredCatalog struct {
	Streams []ConfiguredStream `json:"streams"`
}

// ConfiguredStream is one stream to read.
type ConfiguredStream struct {
	Stream   Stream `json:"stream"`
	SyncMode string `json:"sync_mode"`
	// CursorField, if set, is the stream's default cursor: this source
	// defines its cursors and reads no other.
	CursorField         []string `json:"cursor_field,omitempty"`
	DestinationSyncMode string   `json:"destination_sync_mode"`
}
