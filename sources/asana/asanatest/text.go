package asanatest

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// Text corpora. They deliberately mix scripts: accented Latin, CJK,
// right-to-left Hebrew and Arabic, and emoji (including multi-codepoint
// sequences), so that clients are exercised on realistic Unicode.

type personName struct{ display, ascii string }

var firstNames = []personName{
	{"Alice", "alice"}, {"Bjørn", "bjorn"}, {"José", "jose"}, {"Zoë", "zoe"},
	{"Łukasz", "lukasz"}, {"Ama", "ama"}, {"Chen", "chen"}, {"Priya", "priya"},
	{"Søren", "soren"}, {"Nguyễn", "nguyen"}, {"Olúwaseun", "oluwaseun"},
	{"Hiroshi", "hiroshi"}, {"Fatima", "fatima"}, {"Dmitri", "dmitri"},
	{"Inês", "ines"}, {"Mateo", "mateo"}, {"Aoife", "aoife"}, {"Kwame", "kwame"},
	{"Yuki", "yuki"}, {"Noa", "noa"}, {"דנה", "dana"}, {"יונתן", "yonatan"},
	{"ليلى", "layla"}, {"عمر", "omar"}, {"さくら", "sakura"}, {"Grace", "grace"},
	{"Émile", "emile"}, {"Ngozi", "ngozi"}, {"Lars", "lars"}, {"María", "maria"},
	{"Tomás", "tomas"}, {"Ilse", "ilse"},
}

var lastNames = []personName{
	{"Sanchez", "sanchez"}, {"Müller", "muller"}, {"O'Brien", "obrien"},
	{"Kowalski", "kowalski"}, {"Mensah", "mensah"}, {"Wang", "wang"},
	{"Patel", "patel"}, {"Nørgaard", "norgaard"}, {"Trần", "tran"},
	{"Adeyemi", "adeyemi"}, {"Tanaka", "tanaka"}, {"Haddad", "haddad"},
	{"Ivanov", "ivanov"}, {"Gonçalves", "goncalves"}, {"García", "garcia"},
	{"Ní Bhriain", "nibhriain"}, {"Boateng", "boateng"}, {"Sato", "sato"},
	{"כהן", "cohen"}, {"לוי", "levi"}, {"حداد", "haddad"}, {"منصور", "mansour"},
	{"山田", "yamada"}, {"Smith", "smith"}, {"Dubois", "dubois"}, {"Okafor", "okafor"},
}

var taskVerbs = []string{
	"Draft", "Review", "Ship", "Fix", "Plan", "Update", "Design", "Test",
	"Migrate", "Refactor", "Document", "Prepare", "Schedule", "Audit",
	"Translate", "Approve", "Research", "Follow up on", "Clean up", "Benchmark",
}

var taskObjects = []string{
	"Q3 launch plan", "onboarding flow", "pricing page", "login bug",
	"API rate limiter", "customer interviews", "release notes", "design system tokens",
	"data pipeline", "billing export", "SEO audit", "press kit", "mobile nav",
	"accessibility pass", "quarterly OKRs", "vendor contract", "hiring loop",
	"incident postmortem", "analytics dashboard", "localization strings",
	"crème brûlée menu", "Zürich offsite", "naïve search ranking", "résumé screening",
}

var foreignTaskNames = []string{
	"לתקן באג בטופס ההרשמה",
	"מחקר משתמשים – סבב שני",
	"مراجعة العقد مع المورد",
	"تحديث صفحة الأسعار",
	"レビュー: デザイン案 v2",
	"準備：四半期レポート",
	"修复登录页面的错误",
	"Überarbeitung der Straßenkarte",
	"🚀 Launch day checklist",
	"🐛 Crash on startup (iOS 17)",
	"👩‍💻 Pairing session notes",
	"✅ Sign-off from légal",
	"Mixed עברית and English text",
	"Emoji flags 🇯🇵🇧🇷🇳🇬 and skin tones 👍🏽",
}

var projectNames = []string{
	"Website Redesign", "Q3 Product Launch 🚀", "Marketing Campaigns",
	"Engineering Roadmap", "Customer Onboarding", "Hiring Pipeline",
	"מחקר משתמשים", "مشروع التوسع الإقليمي", "Brand Refresh", "Mobile App v2",
	"Infrastructure Migration", "Content Calendar", "Sales Enablement",
	"ローカライズ計画", "Bug Triage", "Partner Integrations", "Événements 2025",
	"Data Platform", "Security Review", "Office Move",
}

var teamNames = []string{
	"Engineering", "Marketing", "Design", "Sales", "Customer Success",
	"People Ops", "Finance", "Product", "Legal", "Data", "Support", "Research",
	"IT", "Operations", "Growth", "Partnerships",
}

var sectionNames = []string{
	"Untitled section", "Backlog", "To do", "In progress", "In review", "Done",
	"Blocked 🚧", "Next sprint", "Ideas 💡", "בתהליך", "قيد التنفيذ",
}

var tagNames = []string{
	"urgent", "blocked", "customer-request", "tech-debt", "design", "🔥 hot",
	"needs-review", "quick-win", "פנימי", "مهم", "low-priority", "Q4", "légal",
}

var latinWords = strings.Fields(`the a to of and in for on with as by at from
customer release plan review draft design team data issue please update
launch feedback metrics sprint roadmap budget deadline owner status
dependency meeting notes follow-up priority risk scope milestone ticket
quarterly revenue onboarding migration latency dashboard export import
résumé café naïve façade coöperate jalapeño déjà vu über straße`)

var unicodeWords = strings.Fields(`数据 项目 検討 確認 계획 검토 проект задача
обновление Überblick Ærø Ångström ñandú ŽŸ ßtraße ǅemal ℃ ½ ∑ ∞ ≠ — … «»
“quoted” ‘single’ 𝒻𝒶𝓃𝒸𝓎 𝔤𝔬𝔱𝔥𝔦𝔠`)

var rtlWords = strings.Fields(`שלום עולם משימה פרויקט לקוח עדכון סקירה צוות
مرحبا مشروع مهمة العميل تحديث مراجعة الفريق الميزانية`)

var emojis = []string{
	"🚀", "✅", "🔥", "🐛", "💡", "🎉", "👍🏽", "👩‍💻", "🇯🇵", "❤️", "🤔", "📎",
	"🧵", "⚠️", "🏳️‍🌈", "1️⃣",
}

// Text styles for textRef.style.
const (
	styleLatin uint8 = iota
	styleUnicode
	styleRTL
	styleEmoji
	numStyles
)

// genText renders a textRef. It is a pure function of the ref.
func genText(t textRef) string {
	if t.lit != "" || t.n == 0 {
		return t.lit
	}
	r := rand.New(rand.NewPCG(uint64(t.seed), 0x7e47))
	var b strings.Builder
	b.Grow(int(t.n) + 16)
	n := 0
	words := 0
	for n < int(t.n) {
		var w string
		switch {
		case t.style == styleUnicode && r.IntN(3) == 0:
			w = unicodeWords[r.IntN(len(unicodeWords))]
		case t.style == styleRTL && r.IntN(2) == 0:
			w = rtlWords[r.IntN(len(rtlWords))]
		case t.style == styleEmoji && r.IntN(5) == 0:
			w = emojis[r.IntN(len(emojis))]
		default:
			w = latinWords[r.IntN(len(latinWords))]
		}
		if words > 0 {
			sep := " "
			if words%60 == 0 {
				sep = ".\n\n"
			} else if words%12 == 0 {
				sep = ". "
			}
			b.WriteString(sep)
			n += len(sep)
		}
		b.WriteString(w)
		n += utf8.RuneCountInString(w)
		words++
	}
	b.WriteByte('.')
	return b.String()
}

// htmlBody renders plain text as Asana rich text: <body>…</body> with the
// text HTML-escaped.
func htmlBody(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString("<body>")
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		default:
			continue
		}
		b.WriteString(s[start:i])
		b.WriteString(esc)
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteString("</body>")
	return b.String()
}

// longText is the size from which rendered texts are cached.
const longText = 500

// text renders a textRef, caching long texts per Sim.
func (s *Sim) text(t textRef, html bool) string {
	if int(t.n) < longText || t.lit != "" {
		if html {
			return htmlBody(genText(t))
		}
		return genText(t)
	}
	type key struct {
		t    textRef
		html bool
	}
	k := key{t, html}
	if v, ok := s.textCache.Load(k); ok {
		return v.(string)
	}
	v := genText(t)
	if html {
		v = htmlBody(v)
	}
	s.textCache.Store(k, v)
	return v
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
