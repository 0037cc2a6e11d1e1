// Package bqtest runs the BigQuery emulator (goccy/bigquery-emulator
// v0.6.6) for tests: Start finds its binary, builds it when missing (once
// per machine; about 13 minutes), and starts it on free ports.
//
// The binary is $BIGQUERY_EMULATOR when set, else the one that
// sinks/bigquery/testdata/emulator/build.sh builds into
// ~/.cache/asana-beam. Tests that need the emulator fail, never skip, when
// they cannot have it.
package bqtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"
)

// EnvBinary names the environment variable that may give the emulator's
// binary.
const EnvBinary = "BIGQUERY_EMULATOR"

// BuildTimeout bounds a build of the emulator: a cold one takes about 13
// minutes on 2 cores.
const BuildTimeout = 40 * time.Minute

// Emulator is a running BigQuery emulator.
type Emulator struct {
	// Endpoint is its REST address, for option.WithEndpoint.
	Endpoint string
	// Project is its project, and Dataset a dataset it was started with.
	Project, Dataset string

	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// Binary returns the path of the emulator's binary, building it if needed.
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("bqtest: $%s: %w", EnvBinary, err)
		}
		return p, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("bqtest: cannot locate the emulator's build script")
	}
	script := filepath.Join(filepath.Dir(file), "..", "testdata", "emulator", "build.sh")
	ctx, cancel := context.WithTimeout(ctx, BuildTimeout)
	defer cancel()
	fmt.Fprintf(os.Stderr, "bqtest: getting the BigQuery emulator from %s (a first build takes about 13 minutes; set $%s to use a binary of your own)\n", script, EnvBinary)
	cmd := exec.CommandContext(ctx, "bash", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return "", fmt.Errorf("bqtest: building the BigQuery emulator took more than %v: %s", BuildTimeout, tail(stderr.String()))
	}
	if err != nil {
		return "", fmt.Errorf("bqtest: building the BigQuery emulator with %s: %v: %s", script, err, tail(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

var buildOnce struct {
	sync.Mutex
	path string
}

// Start starts an emulator with a project and a dataset. Close stops it.
func Start(ctx context.Context, project, dataset string) (*Emulator, error) {
	buildOnce.Lock()
	bin := buildOnce.path
	if bin == "" {
		var err error
		if bin, err = Binary(ctx); err != nil {
			buildOnce.Unlock()
			return nil, err
		}
		buildOnce.path = bin
	}
	buildOnce.Unlock()
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	e := &Emulator{Endpoint: "http://127.0.0.1:" + strconv.Itoa(httpPort), Project: project, Dataset: dataset,
		log: new(bytes.Buffer), done: make(chan struct{})}
	e.cmd = exec.Command(bin, "--project="+project, "--dataset="+dataset,
		"--host=127.0.0.1", "--port="+strconv.Itoa(httpPort), "--grpc-port="+strconv.Itoa(grpcPort), "--log-level=error")
	e.cmd.Stdout, e.cmd.Stderr = &syncWriter{w: e.log}, &syncWriter{w: e.log}
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bqtest: starting %s: %w", bin, err)
	}
	go func() { e.cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(e.Endpoint + "/bigquery/v2/projects/" + project + "/datasets")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		select {
		case <-e.done:
			return nil, fmt.Errorf("bqtest: the emulator exited at start: %s", tail(e.Log()))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Close()
			return nil, fmt.Errorf("bqtest: the emulator did not answer within a minute: %v: %s", err, tail(e.Log()))
		}
	}
}

// Log returns what the emulator printed.
func (e *Emulator) Log() string {
	logMu.Lock()
	defer logMu.Unlock()
	return e.log.String()
}

// Close stops the emulator.
func (e *Emulator) Close() {
	if e.cmd.Process != nil {
		e.cmd.Process.Kill()
		<-e.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bqtest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var logMu sync.Mutex

type syncWriter struct{ w *bytes.Buffer }

func (s *syncWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return s.w.Write(p)
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// Query returns the rows of a query, failing t on an error.
func Query(t testing.TB, c *bq.Client, sql string) [][]bq.Value {
	t.Helper()
	it, err := c.Query(sql).Read(t.Context())
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var rows [][]bq.Value
	for {
		var row []bq.Value
		err := it.Next(&row)
		if err == iterator.Done {
			return rows
		}
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		rows = append(rows, row)
	}
}
