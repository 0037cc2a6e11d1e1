package tabular

import "time"

// The conversions of Timestamp and Date values. A Handler receives them as
// integers, Row as time.Time.

// TimeOfMicros returns the time.Time (UTC) of a Timestamp value given as
// microseconds since the Unix epoch.
func TimeOfMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// TimeOfDays returns midnight UTC of a Date value given as days since
// 1970-01-01.
func TimeOfDays(days int64) time.Time { return time.Unix(days*86400, 0).UTC() }

// parseTimestamp parses an RFC 3339 date-time (with or without a fraction
// of seconds, with Z or a numeric offset) to microseconds since the Unix
// epoch (UTC), truncating the fraction to the microsecond.
func parseTimestamp(b []byte) (int64, bool) {
	// 2006-01-02T15:04:05[.999999999](Z|+07:00)
	if len(b) < len("2006-01-02T15:04:05Z") {
		return 0, false
	}
	days, ok := parseDate(b[:10])
	if !ok || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	hour, ok1 := digits2(b[11:13])
	minute, ok2 := digits2(b[14:16])
	sec, ok3 := digits2(b[17:19])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := b[19:]
	var micros int64
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if n <= 6 {
				micros = micros*10 + int64(rest[n]-'0')
			}
			n++
		}
		if n == 1 {
			return 0, false
		}
		for k := n; k <= 6; k++ {
			micros *= 10
		}
		rest = rest[n:]
	}
	var offset int64 // seconds east of UTC
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits2(rest[1:3])
		om, ok2 := digits2(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*60+om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := days*86400 + int64(hour*3600+minute*60+sec) - offset
	return secs*1_000_000 + micros, true
}

// parseDate parses YYYY-MM-DD to days since 1970-01-01.
func parseDate(b []byte) (int64, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	hi, ok1 := digits2(b[0:2])
	lo, ok2 := digits2(b[2:4])
	month, ok3 := digits2(b[5:7])
	day, ok4 := digits2(b[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || month < 1 || month > 12 || day < 1 {
		return 0, false
	}
	year := hi*100 + lo
	if day > daysIn(time.Month(month), year) {
		return 0, false
	}
	return daysFromCivil(year, month, day), true
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm), for years 0 to 9999.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func digits2(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}
