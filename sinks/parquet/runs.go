package parquet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// Runs in progress, and what failed runs leave behind.
//
// A run writes its files under DIR/_tmp/<run>/, and every process that
// writes them holds the run's lock, DIR/_tmp/<run>.lock:
//
//   - in a local directory, a shared flock(2) on that file, which the
//     kernel releases when the process ends, however it ends (a failure,
//     a kill -9, a reboot);
//   - on gs://, which has no locks, the lock is an object that the
//     writers rewrite every StaleAfter/8 (a heartbeat): the run is taken
//     for over once its lock object is older than StaleAfter. (So is a
//     local run on a system without flock, by the modification time of
//     its lock file.)
//
// At its start, each run deletes the runs under DIR/_tmp/ that are over:
// those whose lock nobody holds (or, on gs://, whose heartbeat stopped
// StaleAfter ago), and the run directories without a lock (left by an
// older asana-beam) whose files are all older than StaleAfter. A run
// that fails deletes its own files through Abandon, if the command that
// ran it can tell; if it cannot (it was killed), the next run does.

// StaleAfter is how long a run on gs:// (or a run directory without a
// lock) goes without a sign of life before another run deletes its
// temporary files.
const StaleAfter = 24 * time.Hour

// staleAfter is StaleAfter, shortened by tests.
var staleAfter = StaleAfter

// runState is what this process knows of a run it writes.
type runState struct {
	once sync.Once
	err  error

	mu     sync.Mutex
	lock   *os.File                   // local, with flock: the locked lock file
	beat   time.Time                  // otherwise: when the lock was last written
	fields map[string][]tabular.Field // the streams' columns, parsed once

	// publishing is held by Publish while it publishes and by Abandon:
	// once Abandon has undone the run, Publish may not publish it.
	publishing sync.Mutex
	abandoned  bool
}

var runs = struct {
	sync.Mutex
	m map[string]*runState
}{m: map[string]*runState{}}

func stateOf(e Export) *runState {
	runs.Lock()
	defer runs.Unlock()
	k := e.Dir + "\x00" + e.RunID
	st, ok := runs.m[k]
	if !ok {
		st = &runState{}
		runs.m[k] = st
	}
	return st
}

func isRemote(dir string) bool { return strings.Contains(dir, "://") }

// flockMode reports whether the runs of dir are locked with flock(2).
func flockMode(dir string) bool { return haveFlock && !isRemote(dir) }

func lockPath(dir, run string) string { return join(dir, "_tmp", run+".lock") }

// begin starts the run in this process, once: it checks the export
// directory for symbolic links, takes the run's lock, and deletes what
// runs that are over left under DIR/_tmp/.
func begin(ctx context.Context, e Export) error {
	st := stateOf(e)
	st.once.Do(func() { st.err = st.start(ctx, e) })
	return st.err
}

func (st *runState) start(ctx context.Context, e Export) error {
	if !isRemote(e.Dir) {
		if err := checkOutput(e); err != nil {
			return err
		}
	}
	if err := st.acquire(ctx, e); err != nil {
		return fmt.Errorf("locking run %s in %s: %w", e.RunID, e.Dir, err)
	}
	if err := cleanStale(ctx, e); err != nil {
		log.Warnf(ctx, "parquet: deleting what failed runs left in %s: %v", join(e.Dir, "_tmp"), err)
	}
	return nil
}

// lockInfo is the content of a lock, for people and for gs://.
func lockInfo(e Export) []byte {
	host, _ := os.Hostname()
	b, _ := json.Marshal(map[string]any{"run_id": e.RunID, "host": host, "pid": os.Getpid(), "written_at": time.Now().UTC()})
	return append(b, '\n')
}

func (st *runState) acquire(ctx context.Context, e Export) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := lockPath(e.Dir, e.RunID)
	if !flockMode(e.Dir) {
		if err := writeLock(ctx, p, e); err != nil {
			return err
		}
		st.beat = time.Now()
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	for range 10 {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
		if err != nil {
			return err
		}
		if err := lockShared(f); err != nil {
			f.Close()
			return err
		}
		// A run starting elsewhere may have taken the file for a dead
		// run's and deleted it between our open and our lock: then our
		// lock is on a file nobody sees, and we start again.
		fi, ferr := f.Stat()
		pi, perr := os.Lstat(p)
		if ferr == nil && perr == nil && os.SameFile(fi, pi) {
			if fi.Size() == 0 {
				f.Write(lockInfo(e))
			}
			st.lock = f
			return nil
		}
		f.Close()
	}
	return fmt.Errorf("%s keeps being deleted", p)
}

func writeLock(ctx context.Context, p string, e Export) error {
	fsys, err := filesystem.New(ctx, p)
	if err != nil {
		return err
	}
	defer fsys.Close()
	if err := filesystem.Write(ctx, fsys, p, lockInfo(e)); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// heartbeat rewrites the run's lock when it is not a flock and was last
// written StaleAfter/8 ago, so that other runs see the run in progress.
func heartbeat(ctx context.Context, e Export) {
	if flockMode(e.Dir) {
		return
	}
	st := stateOf(e)
	st.mu.Lock()
	defer st.mu.Unlock()
	if time.Since(st.beat) < staleAfter/8 {
		return
	}
	if err := writeLock(ctx, lockPath(e.Dir, e.RunID), e); err != nil {
		log.Warnf(ctx, "parquet: %v", err)
		return
	}
	st.beat = time.Now()
}

// release drops the run's lock in this process.
func release(e Export) {
	st := stateOf(e)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.lock != nil {
		st.lock.Close()
		st.lock = nil
	}
}

// removeRun deletes the run's temporary files and its lock, and DIR/_tmp
// if nothing else is left there.
func removeRun(ctx context.Context, fsys filesystem.Interface, e Export) error {
	defer release(e)
	tmp := join(e.Dir, "_tmp")
	if isRemote(e.Dir) {
		files, err := runFiles(ctx, fsys, tmp, e.RunID)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := remove(ctx, fsys, f); err != nil {
				return err
			}
		}
		return remove(ctx, fsys, lockPath(e.Dir, e.RunID))
	}
	if err := noLink(tmp); err != nil {
		return err
	}
	if err := removeTree(join(tmp, e.RunID)); err != nil {
		return err
	}
	p := lockPath(e.Dir, e.RunID)
	if err := noLink(p); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", p, err)
	}
	os.Remove(tmp) // only if empty: other runs may be writing
	return nil
}

// runFiles lists the temporary files of a run on gs://:
// DIR/_tmp/<run>/<stream>/<name>.parquet.
func runFiles(ctx context.Context, fsys filesystem.Interface, tmp, run string) ([]string, error) {
	files, err := fsys.List(ctx, tmp+"/"+run+"/*/*")
	if err != nil {
		return nil, fmt.Errorf("listing %s/%s: %w", tmp, run, err)
	}
	return files, nil
}

// removeTree deletes a local directory and what it holds, unless it is a
// symbolic link.
func removeTree(p string) error {
	if err := noLink(p); err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("deleting %s: %w", p, err)
	}
	return nil
}

// cleanStale deletes the temporary files of the runs of e.Dir that are
// over, other than e's.
func cleanStale(ctx context.Context, e Export) error {
	if isRemote(e.Dir) {
		return cleanStaleRemote(ctx, e)
	}
	tmp := join(e.Dir, "_tmp")
	entries, err := os.ReadDir(tmp)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	locked := map[string]bool{}
	for _, en := range entries {
		if run, ok := strings.CutSuffix(en.Name(), ".lock"); ok && en.Type().IsRegular() {
			locked[run] = true
		}
	}
	var errs []error
	for _, en := range entries {
		name := en.Name()
		switch {
		case en.Type()&os.ModeSymlink != 0:
			// Not ours, and never deleted through.
		case en.Type().IsRegular() && strings.HasSuffix(name, ".lock"):
			run := strings.TrimSuffix(name, ".lock")
			if run == e.RunID {
				continue
			}
			if err := removeIfOver(e.Dir, run); err != nil {
				errs = append(errs, err)
			}
		case en.IsDir() && name != e.RunID && !locked[name]:
			newest, err := newestModTime(join(tmp, name))
			if err == nil && time.Since(newest) > staleAfter {
				if err := removeTree(join(tmp, name)); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// removeIfOver deletes the temporary files of a local run and its lock if
// nobody holds the lock.
func removeIfOver(dir, run string) error {
	p := lockPath(dir, run)
	if !haveFlock {
		if fi, err := os.Lstat(p); err != nil || time.Since(fi.ModTime()) <= staleAfter {
			return nil
		}
	} else {
		f, err := os.OpenFile(p, os.O_RDWR|oNoFollow, 0)
		if errors.Is(err, iofs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("opening %s: %w", p, err)
		}
		defer f.Close()
		ok, err := tryLockExclusive(f)
		if err != nil {
			return fmt.Errorf("locking %s: %w", p, err)
		}
		if !ok {
			return nil // in progress
		}
	}
	if err := removeTree(join(dir, "_tmp", run)); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", p, err)
	}
	return nil
}

// newestModTime is the latest modification time in a directory tree.
func newestModTime(root string) (time.Time, error) {
	var newest time.Time
	err := filepath.WalkDir(root, func(_ string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
		return nil
	})
	return newest, err
}

// cleanStaleRemote is cleanStale on gs://, by the age of the locks.
func cleanStaleRemote(ctx context.Context, e Export) error {
	tmp := join(e.Dir, "_tmp")
	fsys, err := filesystem.New(ctx, tmp)
	if err != nil {
		return err
	}
	defer fsys.Close()
	lm, ok := fsys.(filesystem.LastModifiedGetter)
	if !ok {
		return nil // no ages: nothing can be told over
	}
	locks, err := fsys.List(ctx, tmp+"/*.lock")
	if err != nil {
		return fmt.Errorf("listing %s: %w", tmp, err)
	}
	files, err := fsys.List(ctx, tmp+"/*/*/*")
	if err != nil {
		return fmt.Errorf("listing %s: %w", tmp, err)
	}
	byRun := map[string][]string{}
	for _, f := range files {
		run, _, _ := strings.Cut(strings.TrimPrefix(f, tmp+"/"), "/")
		byRun[run] = append(byRun[run], f)
	}
	lockOf := map[string]string{}
	for _, l := range locks {
		run := strings.TrimSuffix(strings.TrimPrefix(l, tmp+"/"), ".lock")
		lockOf[run] = l
		if _, ok := byRun[run]; !ok {
			byRun[run] = nil
		}
	}
	old := func(p string) bool {
		t, err := lm.LastModified(ctx, p)
		return err == nil && time.Since(t) > staleAfter
	}
	var errs []error
	for run, fl := range byRun {
		if run == e.RunID {
			continue
		}
		over := true
		if l, ok := lockOf[run]; ok {
			over = old(l)
		} else {
			for _, f := range fl {
				if !old(f) {
					over = false
					break
				}
			}
		}
		if !over {
			continue
		}
		for _, f := range fl {
			if err := remove(ctx, fsys, f); err != nil {
				errs = append(errs, err)
			}
		}
		if l, ok := lockOf[run]; ok {
			if err := remove(ctx, fsys, l); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// runInProgress reports whether a run other than this process's own is
// in progress: its lock is held (local) or was written within StaleAfter.
func runInProgress(ctx context.Context, fsys filesystem.Interface, dir, run string) bool {
	p := lockPath(dir, run)
	if flockMode(dir) {
		f, err := os.OpenFile(p, os.O_RDWR|oNoFollow, 0)
		if err != nil {
			return false
		}
		defer f.Close()
		ok, err := tryLockExclusive(f)
		return err == nil && !ok
	}
	if !isRemote(dir) {
		fi, err := os.Lstat(p)
		return err == nil && time.Since(fi.ModTime()) <= staleAfter
	}
	lm, ok := fsys.(filesystem.LastModifiedGetter)
	if !ok {
		return true
	}
	t, err := lm.LastModified(ctx, p)
	return err == nil && time.Since(t) <= staleAfter
}
