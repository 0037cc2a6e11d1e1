package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// beamFlags are the flags registered before this package's own: Beam's and
// its runners' (their packages' init functions run before this package's
// variables are initialized, and help.go's come before main.go's).
var beamFlags = func() map[string]bool {
	m := map[string]bool{}
	flag.VisitAll(func(f *flag.Flag) { m[f.Name] = true })
	return m
}()

const about = `asana-export copies an Asana account (workspaces, users, teams, projects,
sections, tasks and subtasks, stories, attachments, tags, custom fields,
portfolios, events) into Parquet files or BigQuery tables, with Apache Beam:
on this machine (Beam's Prism runner, the default) or on Dataflow. It
reads with a personal access token from $ASANA_TOKEN or --config, or a
simulated account with --demo. Exit codes: 0 done, 1 failed (nothing of the
run published), 2 bad flags, config or credentials, 3 published but a
stream lost data.

  asana-export --demo --output export
  ASANA_TOKEN=... asana-export --output asana --streams tasks,stories
  asana-export --sink bigquery --bq_project P --bq_dataset D
`

// parseFlags parses the command line: --help prints our flags first and
// Beam's after, and exits 0; a bad flag gets one line and a hint, and exit
// 2.
func parseFlags(args []string) {
	flag.CommandLine.Init(os.Args[0], flag.ContinueOnError)
	flag.CommandLine.SetOutput(io.Discard)
	flag.CommandLine.Usage = func() {}
	err := flag.CommandLine.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(os.Stdout)
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "asana-export: %v (asana-export --help lists the flags)\n", err)
		os.Exit(exitUsage)
	}
}

// usage writes the help: what the command does, its own flags, then
// Beam's, each group in alphabetical order.
func usage(w io.Writer) {
	fmt.Fprint(w, about)
	var own, beam []*flag.Flag
	flag.VisitAll(func(f *flag.Flag) {
		if beamFlags[f.Name] {
			beam = append(beam, f)
		} else {
			own = append(own, f)
		}
	})
	fmt.Fprintln(w, "\nFlags:")
	printFlags(w, own)
	fmt.Fprintln(w, "\nApache Beam's flags (--runner, and the options of the runner chosen; most apply to Dataflow only):")
	printFlags(w, beam)
}

func printFlags(w io.Writer, flags []*flag.Flag) {
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	for _, f := range flags {
		name, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, strings.ReplaceAll(text, "\n", "\n      "))
	}
}
