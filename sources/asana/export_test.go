package asana

// MaxInWindow is maxInWindow for the external tests.
var MaxInWindow = maxInWindow
