package parquet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// synth makes realistic JSON records from fields, the way Asana writes
// them: members in the schema's order, gids as digit strings, timestamps
// with milliseconds and Z, nulls, unicode and escapes in strings, nested
// lists.
type synth struct {
	r        *rand.Rand
	nullRate float64 // of a nullable field, and of a list element
	maxList  int     // elements of a list: 0 to maxList
	noteLen  int     // runes of a long text (notes, html_notes, text)
}

func newSynth(seed uint64) *synth {
	return &synth{r: rand.New(rand.NewPCG(seed, 42)), nullRate: 0.2, maxList: 3, noteLen: 300}
}

var (
	names = []string{
		"Launch plan", "Écrire la documentation", "日本語のタスク", "Ünïcödé ✓ 🎉",
		`Quote "this" and \ that`, "Line\nbreak\ttab", "Ошибка в отчёте", "<b>&amp;</b>", "",
		"Review Q3 budget with finance", "مهمة عربية",
	}
	words = strings.Fields(`the of and to in is for on with as by at from this that be are was it an
		or we you not but all can has have more will our their new release review budget design
		café naïve über 日本 数据 🎉 ✓ "quoted" back\slash`)
	resourceTypes = map[string]string{
		"assignee": "user", "created_by": "user", "completed_by": "user", "followers": "user",
		"user": "user", "owner": "user", "assigned_by": "user", "people_value": "user",
		"workspace": "workspace", "team": "team", "project": "project", "projects": "project",
		"section": "section", "parent": "task", "dependencies": "task", "dependents": "task",
		"tags": "tag", "custom_fields": "custom_field", "enum_value": "enum_option",
		"enum_options": "enum_option", "multi_enum_values": "enum_option",
	}
	epoch = time.Date(2024, 3, 1, 12, 34, 56, 789_000_000, time.UTC)
)

// record returns one record of the fields.
func (g *synth) record(fields []tabular.Field) []byte {
	var b bytes.Buffer
	g.object(&b, fields, "")
	return b.Bytes()
}

func (g *synth) object(b *bytes.Buffer, fields []tabular.Field, parent string) {
	b.WriteByte('{')
	for i := range fields {
		f := &fields[i]
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, f.Name)
		b.WriteByte(':')
		if f.Nullable && g.r.Float64() < g.nullRate {
			b.WriteString("null")
			continue
		}
		if !f.Repeated {
			g.value(b, f, parent)
			continue
		}
		b.WriteByte('[')
		n := g.r.IntN(g.maxList + 1)
		for j := range n {
			if j > 0 {
				b.WriteByte(',')
			}
			if g.r.Float64() < g.nullRate/4 {
				b.WriteString("null")
				continue
			}
			g.value(b, f, parent)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}

func (g *synth) value(b *bytes.Buffer, f *tabular.Field, parent string) {
	switch f.Type {
	case tabular.String:
		writeString(b, g.str(f.Name, parent))
	case tabular.Int64:
		fmt.Fprint(b, g.r.Int64N(2000)-100)
	case tabular.Double:
		fmt.Fprint(b, float64(g.r.IntN(100000))/8)
	case tabular.Bool:
		fmt.Fprint(b, g.r.IntN(2) == 1)
	case tabular.Timestamp:
		t := epoch.Add(time.Duration(g.r.Int64N(400*24*3600*1000)-200*24*3600*1000) * time.Millisecond)
		writeString(b, t.Format("2006-01-02T15:04:05.000Z"))
	case tabular.Date:
		writeString(b, epoch.AddDate(0, 0, g.r.IntN(400)-200).Format(time.DateOnly))
	case tabular.JSON:
		switch g.r.IntN(4) {
		case 0:
			fmt.Fprintf(b, `{"gid":"%d","resource_type":"task","name":%s}`, g.gid(), quote(names[g.r.IntN(len(names))]))
		case 1:
			writeString(b, names[g.r.IntN(len(names))])
		case 2:
			fmt.Fprintf(b, `[1, 2.5, {"a": [true, null]}]`)
		default:
			fmt.Fprint(b, g.r.IntN(1000))
		}
	case tabular.Record:
		g.object(b, f.Fields, f.Name)
	}
}

func (g *synth) gid() int64 { return 1_200_000_000_000_000 + g.r.Int64N(1e14) }

func (g *synth) str(name, parent string) string {
	switch name {
	case "gid":
		return fmt.Sprint(g.gid())
	case "resource_type":
		if rt, ok := resourceTypes[parent]; ok {
			return rt
		}
		return "task"
	case "name":
		return names[g.r.IntN(len(names))]
	case "notes", "text", "html_notes", "html_text", "description", "html_description":
		var sb strings.Builder
		if strings.HasPrefix(name, "html") {
			sb.WriteString("<body>")
		}
		for n := 0; n < g.noteLen; {
			w := words[g.r.IntN(len(words))]
			sb.WriteString(w)
			sb.WriteByte(" \n"[g.r.IntN(10)/9])
			n += len([]rune(w)) + 1
		}
		if strings.HasPrefix(name, "html") {
			sb.WriteString("</body>")
		}
		return sb.String()
	case "color":
		return "dark-green"
	case "email":
		return fmt.Sprintf("user%d@example.com", g.r.IntN(1000))
	case "permalink_url":
		return fmt.Sprintf("https://app.asana.com/0/%d/%d", g.gid(), g.gid())
	}
	return words[g.r.IntN(len(words))]
}

func writeString(b *bytes.Buffer, s string) { b.WriteString(quote(s)) }

func quote(s string) string {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(q)
}
