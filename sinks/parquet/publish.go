package parquet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// Publishing. Publish publishes a run whose files are all written
// under DIR/_tmp/<run>/ in three steps, each of which leaves DIR, read
// through its manifest, the previous export or the new one, complete,
// whenever the process stops:
//
//  1. the run's files move into the stream folders under names of the
//     run, DIR/<stream>/part-<run>-NNNNN.parquet: the manifest in place
//     names none of them, so the previous export is untouched;
//  2. the new manifest is written under DIR/_tmp/<run>/ and renamed over
//     DIR/_manifest.json, which is atomic on POSIX filesystems (on gs://,
//     an object is replaced whole when its upload ends: the manifest is
//     written in place, last). This is the switch;
//  3. the part files of the run's streams that the new manifest does not
//     name are deleted (the previous export's, and those of failed runs,
//     unless their run is still in progress), then DIR/_tmp/<run>/.
//
// A failure before the switch moves the run's files back and publishes
// nothing. A failure after it is only logged: the run is published, and
// what it failed to delete, the next run deletes.
//
// Nothing inside DIR that is written into or deleted from may be a
// symbolic link (DIR itself may be one): the stream folders, DIR/_tmp and
// what it holds of the run, the manifest, the part files. A run that
// finds one stops before it writes anything, and Publish checks again
// before it moves the first file.

// ErrSymlink is wrapped by the error of a run that found a symbolic link
// inside the export directory where it would write or delete.
var ErrSymlink = errors.New("it is a symbolic link inside the export directory (only the directory itself may be one)")

// noLink returns an error wrapping ErrSymlink if the local path p is a
// symbolic link.
func noLink(p string) error {
	fi, err := os.Lstat(p)
	if err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("refusing to write or delete through %s: %w", p, ErrSymlink)
	}
	return nil
}

// checkOutput checks a local export directory before the run writes into
// it: no symbolic link where it will write or delete, and a directory
// where each stream's files go.
func checkOutput(e Export) error {
	tmp := join(e.Dir, "_tmp")
	for _, p := range []string{tmp, join(tmp, e.RunID), lockPath(e.Dir, e.RunID), join(tmp, e.RunID, ManifestName), join(e.Dir, ManifestName)} {
		if err := noLink(p); err != nil {
			return err
		}
	}
	for _, stream := range streamsOf(e) {
		if err := noLink(join(tmp, e.RunID, stream)); err != nil {
			return err
		}
		d := join(e.Dir, stream)
		if err := noLink(d); err != nil {
			return err
		}
		if fi, err := os.Stat(d); err == nil && !fi.IsDir() {
			return fmt.Errorf("%s is not a directory: the files of stream %s cannot go there", d, stream)
		}
		parts, _ := filepath.Glob(join(d, "part-*.parquet"))
		for _, p := range parts {
			if err := noLink(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Check checks a local export directory before a run writes into it: no
// symbolic link inside it where the run would write or delete (the stream
// folders, _tmp, the manifest, the part files), and a directory where
// each stream's files go. The run checks the same as it starts, and again
// before it publishes; a command calls Check to refuse the directory
// before it reads anything. On gs://, there is nothing to check.
func (e Export) Check() error {
	if isRemote(e.Dir) {
		return nil
	}
	return checkOutput(e)
}

func streamsOf(e Export) []string {
	var streams []string
	for s := range e.Schemas {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	return streams
}

// Test-only failpoints, read by Publish at each step of publishing
// (never set them otherwise):
//
//   - CrashEnv=<step> ends the process at that step at once with
//     os.Exit(CrashExitCode), as a kill -9 would: nothing deferred runs,
//     nothing is cleaned up;
//   - FailEnv=<step> makes the operation at that step fail: before the
//     switch, publishing fails (and is undone); after it, up to
//     "removed", deleting the replaced files fails (and is logged);
//     at "done", Publish returns an error once all is done, as a
//     runner failing after the switch would look to the command.
const (
	CrashEnv      = "ASANA_BEAM_TEST_CRASH_AT"
	FailEnv       = "ASANA_BEAM_TEST_FAIL_AT"
	CrashExitCode = 86
)

// The steps of publishing.
const (
	StepStart           = "start"            // nothing done yet
	StepMovedOne        = "moved-one"        // one file of the run moved into its stream folder
	StepMoved           = "moved"            // every file moved
	StepManifestWritten = "manifest-written" // the new manifest under its temporary name (not on gs://)
	StepSwitched        = "switched"         // the new manifest in place
	StepRemovedOne      = "removed-one"      // one replaced file deleted
	StepRemoved         = "removed"          // every replaced file deleted
	StepDone            = "done"             // the run's temporary files deleted
)

// CrashSteps are the steps in the order Publish reaches them. Up to
// StepSwitched, the previous export is the published one; from it on,
// the run's.
var CrashSteps = []string{StepStart, StepMovedOne, StepMoved, StepManifestWritten, StepSwitched, StepRemovedOne, StepRemoved, StepDone}

// stepHook, set by tests, sees every step reached.
var stepHook func(step string)

// failpoint is reached at each step of publishing (see CrashEnv).
func failpoint(step string) error {
	if stepHook != nil {
		stepHook(step)
	}
	if os.Getenv(CrashEnv) == step {
		fmt.Fprintf(os.Stderr, "asana-beam: %s=%s: exiting at once (test failpoint)\n", CrashEnv, step)
		os.Exit(CrashExitCode)
	}
	if os.Getenv(FailEnv) == step {
		return fmt.Errorf("failing at step %s of publishing, as %s asks (test failpoint)", step, FailEnv)
	}
	return nil
}

// partName is the name of a published file.
func partName(run string, i int) string { return fmt.Sprintf("part-%s-%05d.parquet", run, i) }

// runOfPart returns the run of a published file's name; "" for names
// without one (part-NNNNN.parquet, from before runs were in the names).
func runOfPart(name string) string {
	s, ok := strings.CutPrefix(name, "part-")
	if !ok {
		return ""
	}
	if s, ok = strings.CutSuffix(s, ".parquet"); !ok {
		return ""
	}
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return ""
	}
	return s[:i]
}

// publisher publishes one run.
type publisher struct {
	fs    filesystem.Interface
	e     Export
	moved []move // the files moved into the stream folders
}

type move struct{ from, to string }

// publish moves the run's files into place and switches the manifest.
// On error, the manifest was not switched.
func (p *publisher) publish(ctx context.Context, byStream map[string][]sinks.Part, m *Manifest) error {
	e := p.e
	if !isRemote(e.Dir) {
		if err := checkOutput(e); err != nil {
			return err
		}
	}
	if err := failpoint(StepStart); err != nil {
		return err
	}
	for _, stream := range streamsOf(e) {
		ms := m.Streams[stream]
		fl := byStream[stream]
		sort.Slice(fl, func(i, j int) bool { return fl[i].Name < fl[j].Name })
		if len(fl) == 0 {
			f, err := p.emptyFile(ctx, stream)
			if err != nil {
				return err
			}
			fl = []sinks.Part{f}
		}
		for i, f := range fl {
			name := partName(e.RunID, i)
			if err := p.move(ctx, f.Name, join(e.Dir, stream, name)); err != nil {
				return err
			}
			if len(p.moved) == 1 {
				if err := failpoint(StepMovedOne); err != nil {
					return err
				}
			}
			ms.Records += f.Rows
			ms.Files = append(ms.Files, stream+"/"+name)
			ms.Warnings = sinks.KeepWarnings(ms.Warnings, f.Warnings...)
			ms.WarningCount += f.WarningCount
		}
		m.Streams[stream] = ms
		m.WarningCount += ms.WarningCount
	}
	if err := failpoint(StepMoved); err != nil {
		return err
	}
	if !isRemote(e.Dir) {
		// Durable before the manifest names them, should the machine
		// stop rather than the process.
		dirs := map[string]bool{}
		for _, mv := range p.moved {
			if err := syncPath(mv.to); err != nil {
				return fmt.Errorf("syncing %s: %w", mv.to, err)
			}
			dirs[filepath.Dir(mv.to)] = true
		}
		for d := range dirs {
			if err := syncPath(d); err != nil {
				return fmt.Errorf("syncing %s: %w", d, err)
			}
		}
	}
	m.FinishedAt = time.Now().UTC()
	return p.switchManifest(ctx, m)
}

// move moves one file of the run into its stream folder. A file already
// there and gone from its temporary place was moved by an earlier
// attempt of Publish.
func (p *publisher) move(ctx context.Context, from, to string) error {
	if isRemote(to) {
		if err := rename(ctx, p.fs, from, to); err != nil {
			if !exists(ctx, p.fs, from) && exists(ctx, p.fs, to) {
				p.moved = append(p.moved, move{from, to})
				return nil
			}
			return err
		}
		p.moved = append(p.moved, move{from, to})
		return nil
	}
	dir := filepath.Dir(to)
	if err := noLink(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("moving %s into %s: %w", filepath.Base(from), dir, err)
	}
	if err := noLink(to); err != nil {
		return err
	}
	if _, err := os.Lstat(from); errors.Is(err, iofs.ErrNotExist) {
		if _, err := os.Lstat(to); err == nil {
			p.moved = append(p.moved, move{from, to})
			return nil
		}
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("moving %s to %s: %w", from, to, err)
	}
	p.moved = append(p.moved, move{from, to})
	return nil
}

// moveBack undoes the moves of a publish that failed before the switch,
// so that the stream folders hold the previous export alone (and a retry
// finds the run's files where they were).
func (p *publisher) moveBack(ctx context.Context) error {
	var errs []error
	for i := len(p.moved) - 1; i >= 0; i-- {
		mv := p.moved[i]
		if err := rename(ctx, p.fs, mv.to, mv.from); err != nil {
			if rerr := remove(ctx, p.fs, mv.to); rerr != nil {
				errs = append(errs, rerr)
			}
		}
	}
	p.moved = nil
	return errors.Join(errs...)
}

// switchManifest puts the run's manifest in place, atomically.
func (p *publisher) switchManifest(ctx context.Context, m *Manifest) error {
	e := p.e
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	target := join(e.Dir, ManifestName)
	if isRemote(e.Dir) {
		if err := filesystem.Write(ctx, p.fs, target, b); err != nil {
			return fmt.Errorf("writing the manifest %s: %w", target, err)
		}
		return nil
	}
	tmp := join(e.Dir, "_tmp", e.RunID, ManifestName)
	if err := writeSynced(tmp, b); err != nil {
		return err
	}
	if err := failpoint(StepManifestWritten); err != nil {
		return err
	}
	if err := noLink(target); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("replacing the manifest %s: %w", target, err)
	}
	// Switched: from here on, errors are not the run's.
	if err := syncPath(e.Dir); err != nil {
		log.Warnf(ctx, "parquet: syncing %s: %v", e.Dir, err)
	}
	return nil
}

func writeSynced(p string, b []byte) error {
	if err := noLink(p); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|oNoFollow, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// syncPath flushes a local file or directory to its disk.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func exists(ctx context.Context, fsys filesystem.Interface, p string) bool {
	_, err := fsys.Size(ctx, p)
	return err == nil
}

// emptyFile writes a file without rows for a stream without records, so
// that readers see its columns.
func (p *publisher) emptyFile(ctx context.Context, stream string) (sinks.Part, error) {
	f := sinks.Part{Stream: stream, Name: tempPath(p.e, stream, "empty")}
	fields, err := tabular.FromJSONSchema([]byte(p.e.Schemas[stream]))
	if err != nil {
		return f, fmt.Errorf("schema of %s: %w", stream, err)
	}
	if !isRemote(f.Name) {
		if err := noLink(f.Name); err != nil {
			return f, err
		}
	}
	wc, err := p.fs.OpenWrite(ctx, f.Name)
	if err != nil {
		return f, fmt.Errorf("creating %s: %w", f.Name, err)
	}
	w, err := NewWriter(wc, fields, Options{})
	if err == nil {
		err = w.Close()
	}
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f, fmt.Errorf("writing %s: %w", f.Name, err)
	}
	return f, nil
}

// cleanUp runs once the manifest names the run: it deletes the part
// files of the run's streams that the manifest does not name (unless
// their run is in progress), then the run's temporary files and lock.
// The failpoints are those of Publish, or none (from Abandon).
func cleanUp(ctx context.Context, fsys filesystem.Interface, e Export, m *Manifest, point func(string) error) error {
	if err := point(StepSwitched); err != nil {
		return err
	}
	named := map[string]bool{}
	var streams []string
	for s, ms := range m.Streams {
		streams = append(streams, s)
		for _, f := range ms.Files {
			named[join(e.Dir, f)] = true
		}
	}
	sort.Strings(streams)
	inProgress := map[string]bool{}
	removed := 0
	var errs []error
	for _, stream := range streams {
		d := join(e.Dir, stream)
		if !isRemote(d) {
			if err := noLink(d); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		old, err := fsys.List(ctx, join(d, "part-*.parquet"))
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", d, err))
			continue
		}
		for _, o := range old {
			if named[o] {
				continue
			}
			if run := runOfPart(path.Base(filepath.ToSlash(o))); run != "" && run != e.RunID {
				live, ok := inProgress[run]
				if !ok {
					live = runInProgress(ctx, fsys, e.Dir, run)
					inProgress[run] = live
				}
				if live {
					continue
				}
			}
			if !isRemote(o) {
				if err := noLink(o); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			if err := remove(ctx, fsys, o); err != nil {
				errs = append(errs, err)
				continue
			}
			if removed++; removed == 1 {
				if err := point(StepRemovedOne); err != nil {
					return err
				}
			}
		}
	}
	if err := point(StepRemoved); err != nil {
		return err
	}
	if err := removeRun(ctx, fsys, e); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func noPoint(string) error { return nil }

// abandon cleans up after a run of e whose pipeline failed or was
// stopped, and reports whether the run was published all the same: its
// manifest is in place, so the pipeline failed after the switch.
//
// A published run is finished as Publish would have: the files it
// replaced and its temporary files are deleted. A run that was not
// published is undone: its temporary files and lock, and any file it had
// moved into the stream folders, are deleted, and the previous export is
// left as it was. Nothing is deleted through a symbolic link.
//
// Call it once the pipeline has ended (whatever runs the run's DoFns has
// stopped), as it deletes what the run wrote.
func abandon(ctx context.Context, e Export) (published bool, err error) {
	// A Publish of the run still going in this process (the pipeline
	// was stopped while it published) ends first, and none starts after.
	st := stateOf(e)
	for !st.publishing.TryLock() {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("run %s is still being published (its manifest will say whether it was): %w", e.RunID, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer st.publishing.Unlock()
	st.abandoned = true
	defer release(e)
	fsys, err := filesystem.New(ctx, join(e.Dir, ManifestName))
	if err != nil {
		return false, err
	}
	defer fsys.Close()
	if m, err := readManifest(ctx, fsys, e.Dir); err == nil && m.RunID == e.RunID {
		return true, cleanUp(ctx, fsys, e, m, noPoint)
	}
	var errs []error
	for _, stream := range streamsOf(e) {
		d := join(e.Dir, stream)
		if !isRemote(d) {
			if err := noLink(d); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		mine, err := fsys.List(ctx, join(d, "part-"+e.RunID+"-*.parquet"))
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", d, err))
			continue
		}
		for _, f := range mine {
			if !isRemote(f) {
				if err := noLink(f); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			if err := remove(ctx, fsys, f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := removeRun(ctx, fsys, e); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("deleting what run %s wrote to %s: %w", e.RunID, e.Dir, err)
	}
	return false, nil
}
