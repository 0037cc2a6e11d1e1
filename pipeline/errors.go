package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// stops holds, for each run (see Output.Run), the first error that stopped
// one of its DoFns in this process. A runner hands the job's error back as
// text; this keeps the error itself, typed, for the command that launched
// the run, when the DoFns ran in its process (Prism in process). Each
// failed run leaves one error here for the life of the process.
var stops struct {
	sync.Mutex
	m map[string]error
}

// stop records err as what stopped a DoFn of run, unless one is recorded
// already or err is only the cancellation of a bundle that another
// failure ended. It returns err.
func stop(run string, err error) error {
	if err == nil || run == "" || errors.Is(err, context.Canceled) {
		return err
	}
	stops.Lock()
	defer stops.Unlock()
	if stops.m == nil {
		stops.m = map[string]error{}
	}
	if _, ok := stops.m[run]; !ok {
		stops.m[run] = err
	}
	return err
}

// Stopped returns the first error that stopped a DoFn of run, as the DoFn
// returned it: check it with errors.As (an *asana.Error of Kind
// asana.KindConfig, an *asana.ConfigError). It is nil when no DoFn of run
// stopped in this process, which is always the case when the workers are
// other processes (Dataflow, a Prism job server): there, only the job's
// error text tells what happened.
func Stopped(run string) error {
	stops.Lock()
	defer stops.Unlock()
	return stops.m[run]
}

// JobMessage is the line of a failed job's error text that says what
// failed, for a message when Stopped has nothing (the workers were other
// processes, or what failed was no DoFn of ours): the error of the DoFn
// that failed, which Beam's SDK writes on the line after
// "DoFn[...] failed:", else the first line that is not a heading of the
// runner's ("job X failed:"). It is for people to read; a caller that
// branches on the kind of failure asks Stopped.
func JobMessage(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i := len(lines) - 2; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "DoFn[") && strings.HasSuffix(l, "failed:") {
			if m := strings.TrimSpace(lines[i+1]); m != "" {
				return m
			}
		}
	}
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasSuffix(l, ":") {
			return l
		}
	}
	return strings.TrimSpace(lines[0])
}
