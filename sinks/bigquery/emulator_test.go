package bigquery

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	bq "cloud.google.com/go/bigquery"

	"github.com/asana-beam/asana-beam/sinks/bigquery/bqtest"
)

// emu is the BigQuery emulator of the package's tests, started by
// TestMain.
var emu *bqtest.Emulator

const testProject = "test-project"

func TestMain(m *testing.M) {
	flag.Parse()
	e, err := bqtest.Start(context.Background(), testProject, "first")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	emu = e
	code := m.Run()
	e.Close()
	os.Exit(code)
}

// testLoad is a Load into the emulator, in a new dataset.
func testLoad(t *testing.T, c *bq.Client, schemas map[string]string) Load {
	t.Helper()
	return Load{Project: testProject, Dataset: newDataset(t, c), Endpoint: emu.Endpoint, Replace: ReplaceDML,
		RunID: NewRunID(testNow()), Schemas: schemas}
}

// newClient returns a client of the emulator.
func newClient(t *testing.T) *bq.Client {
	t.Helper()
	c, err := Load{Project: testProject, Endpoint: emu.Endpoint}.NewClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var datasets atomic.Int64

// newDataset creates a dataset for one test.
func newDataset(t *testing.T, c *bq.Client) string {
	t.Helper()
	name := fmt.Sprintf("d%d", datasets.Add(1))
	if err := c.Dataset(name).Create(t.Context(), &bq.DatasetMetadata{}); err != nil {
		t.Fatalf("creating dataset %s: %v\n%s", name, err, emu.Log())
	}
	return name
}
