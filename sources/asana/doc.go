// Package asana is the Asana REST API client every asana-beam stream uses.
//
// A [Client] authenticates with a personal access token or an OAuth 2.0
// refresh token, sends every request of a token through one shared
// [Limiter] (requests per sliding minute and requests in flight), retries
// 429s, 5xx responses, timeouts and dropped connections, and sorts the
// errors it cannot recover from into the kinds of [Error] the pipeline acts
// on. [Client.List] is the one paginator of the project: it walks Asana's
// offset pages with limit=100 and opt_fields, so list endpoints return full
// records and no record costs a request of its own.
//
// The client has no dependency on Beam; the pipeline wraps it in DoFns.
package asana
