package bigquery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
)

// Replace is how Publish replaces a table with its staging tables.
type Replace string

const (
	// ReplaceCopy replaces a table with one copy job (WRITE_TRUNCATE) of
	// its staging tables: atomic (readers see the old table or the new),
	// and free, as BigQuery bills no copy job within a region. It is the
	// default, for BigQuery.
	ReplaceCopy Replace = "copy"
	// ReplaceDML replaces a table's rows with a transaction of DML, DELETE
	// then INSERT ... SELECT from the staging tables, in one query job.
	// BigQuery runs it atomically too, but bills the bytes it scans. It is
	// for the BigQuery emulator, which has no copy jobs; there, a table
	// whose columns changed is dropped and created again first, which is
	// not atomic (the emulator cannot change a table's schema otherwise).
	ReplaceDML Replace = "dml"
)

// DefaultStagingExpiration is how long staging tables live when a run
// leaves them behind (it crashed, or a bundle was retried): BigQuery
// deletes them then.
const DefaultStagingExpiration = 48 * time.Hour

// Load describes one export run into a BigQuery dataset, which must exist.
type Load struct {
	// Project is the project of the dataset, and the one billed for the
	// jobs.
	Project string `json:"project"`
	// Dataset receives a table per stream, named after it, and RunsTable.
	Dataset string `json:"dataset"`
	// Location is where the jobs run, such as "EU"; empty lets BigQuery
	// infer it from the dataset.
	Location string `json:"location,omitempty"`
	// Endpoint, when set, is the address of a BigQuery emulator, reached
	// without authentication; otherwise the client uses Google's endpoint
	// and Application Default Credentials.
	Endpoint string `json:"endpoint,omitempty"`
	// Replace is how tables are replaced (default ReplaceCopy).
	Replace Replace `json:"replace,omitempty"`
	// RunID names the run (NewRunID): its staging tables are
	// <stream>__<RunID>__<bundle>, and its rows of RunsTable have it.
	RunID string `json:"run_id"`
	// Schemas maps each exported stream to its JSON Schema.
	Schemas map[string]string `json:"schemas"`
	// Source describes what was exported, for RunsTable.
	Source map[string]string `json:"source,omitempty"`
	// StartedAt is when the run began.
	StartedAt time.Time `json:"started_at"`
	// StagingExpiration is how long staging tables live at most (default
	// DefaultStagingExpiration).
	StagingExpiration time.Duration `json:"staging_expiration,omitempty"`
}

// NewRunID returns a fresh run id: the time and a random suffix, in
// characters that table names and label values accept.
func NewRunID(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return strings.ToLower(now.UTC().Format("20060102T150405Z")) + "_" + hex.EncodeToString(b)
}

// Check reports what is missing or wrong in l.
func (l Load) Check() error {
	switch {
	case l.Project == "":
		return errors.New("bigquery: no project")
	case l.Dataset == "":
		return errors.New("bigquery: no dataset")
	case l.RunID == "" || len(l.RunID) > 63 || strings.Trim(l.RunID, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
		return fmt.Errorf("bigquery: run id %q: want up to 63 lower-case letters, digits and underscores, as labels take (NewRunID)", l.RunID)
	case len(l.Schemas) == 0:
		return errors.New("bigquery: no stream")
	case l.Replace != "" && l.Replace != ReplaceCopy && l.Replace != ReplaceDML:
		return fmt.Errorf("bigquery: unknown way to replace tables %q: want %q or %q", l.Replace, ReplaceCopy, ReplaceDML)
	}
	for s := range l.Schemas {
		if strings.Contains(s, "__") || s == RunsTable {
			return fmt.Errorf("bigquery: stream %q: its table name would clash with staging tables or %s", s, RunsTable)
		}
	}
	return nil
}

// NewClient returns a client for the project of l, in its location.
func (l Load) NewClient(ctx context.Context) (*bq.Client, error) {
	var opts []option.ClientOption
	if l.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(l.Endpoint), option.WithoutAuthentication())
	}
	c, err := bq.NewClient(ctx, l.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery: connecting to project %s: %w", l.Project, err)
	}
	c.Location = l.Location
	return c, nil
}

// writerOptions are the options of the Writers of l: uploads in one
// request to an emulator (see WriterOptions.SingleRequest).
func (l Load) writerOptions() WriterOptions {
	return WriterOptions{SingleRequest: l.Endpoint != ""}
}

func (l Load) replace() Replace {
	if l.Replace == "" {
		return ReplaceCopy
	}
	return l.Replace
}

func (l Load) stagingExpiration() time.Duration {
	if l.StagingExpiration <= 0 {
		return DefaultStagingExpiration
	}
	return l.StagingExpiration
}

// stagingPrefix starts the names of the staging tables of a stream in this
// run.
func (l Load) stagingPrefix(stream string) string { return stream + "__" + l.RunID + "__" }

// newStagingName returns the name of a new staging table of the stream.
func (l Load) newStagingName(stream string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return l.stagingPrefix(stream) + hex.EncodeToString(b)
}
