// Package asanatest is a faithful, deterministic simulator of the Asana REST
// API (https://app.asana.com/api/1.0) for tests and benchmarks, in the
// spirit of net/http/httptest.
//
// New generates an Asana account from a seed and a size ("tiny", "small",
// "medium", "large"): a premium organization with teams, users, projects,
// sections, tasks (with subtasks several levels deep, tasks in two
// projects, tasks in no project), stories, attachments, tags, custom
// fields and their values, portfolios and organization exports, plus a
// free personal workspace. The same Seed and Size always produce the same
// data, byte for byte.
//
// A *Sim is an http.Handler. NewServer starts it on a loopback socket;
// Sim.Transport serves it in memory, without sockets, so that tests can run
// inside testing/synctest bubbles with virtual time (create the Sim inside
// the bubble: its clock is read with time.Now).
//
// The simulator reproduces the API semantics a client depends on (see the
// project notes asana-api-semantics.md, section 11):
//
//   - Authorization: Bearer tokens (a personal access token, Sim.PAT, and
//     OAuth access tokens from POST /-/oauth_token with a refresh grant),
//     401 {"errors":[{"message":"Not Authorized"}]} otherwise, expiring
//     access tokens and revocable refresh tokens.
//   - The {"data": …} envelope; compact records in lists and full records
//     (without [Opt In] fields) from single GETs, exactly as the spec's
//     XCompact and XResponse schemas; opt_fields projection with dotted
//     paths, "this." and (a|b) groups.
//   - Pagination: limit 1..100, signed offset tokens that expire and are
//     valid only for the listing that issued them, next_page {offset, path,
//     uri} and null on the last page, and the 400 "The result is too
//     large" for unpaginated lists of more than 1000 objects.
//   - Filter validation on GET /tasks, completed_since and modified_since.
//   - Events: 412 with a fresh sync token, then {data, sync, has_more} with
//     at most 100 events per call, bubbling from tasks, subtasks and
//     stories to projects. Events are produced at runtime by Sim.AddEvent,
//     Sim.Activity, Sim.Delete, Sim.ApplyChanges or
//     Options.ActivityInterval; Sim.ExpireSyncTokens and
//     ExpireSyncTokensOlderThan make stored tokens answer 412.
//   - Change batches between two syncs (Sim.ApplyChanges): a seeded set of
//     every change an incremental sync must handle, with Asana's events,
//     and a ChangeLog of what each stream must re-emit or tombstone.
//   - Premium gating on the free workspace (402), service-account gating of
//     portfolios and organization exports (403), Options.Deny for per-object
//     402/403/404/451.
//   - Per-token rate limits (a sliding window in which rejected requests
//     count too, and a cap on concurrent GETs) answered with 429 and an
//     integer Retry-After, seeded latency and fault injection (5xx, dropped
//     connections, truncated bodies, extra 429s, slow responses), for a
//     while only (Options.FaultWindows); offset tokens answered as expired
//     (Options.StaleOffsets), access tokens that expire after a number of
//     requests, a revocable personal access token, and a hook that runs
//     after each request (Options.AfterRequest), to delete an object
//     between the listing of its parent and the listing of its children.
//
// Account exposes the ground truth so tests can compute the expected
// records: full records of every object and index helpers such as the tasks
// of a project or the stories of a task.
//
// Where Asana's behaviour is undocumented the simulator makes a documented
// choice; these are listed on the types and functions concerned.
package asanatest
