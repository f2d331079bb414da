package posting_test

import (
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/internbot/internbot/posting"
)

func TestSearch(t *testing.T) {
	p := posting.Default()
	tests := []struct {
		want    string
		queries []string
	}{
		{"pay", []string{"pay", "salary", "how much does it pay?", "compensation", "Pay", "salery", "what's the stipend", "is it paid?"}},
		{"location", []string{"location", "where is it?", "remote?", "is it in seattle", "can I work from new york", "Where?", "is it hybrid", "san francisco"}},
		{"tech-stack", []string{"tech stack", "what tools do they use", "pytorch", "tech-stack", "which frameworks"}},
		{"requirements", []string{"what are the requirements?", "do I need a phd", "qualifications", "requirements", "am I eligible"}},
		{"team", []string{"team", "which team", "what org is it"}},
		{"bonus", []string{"bonus", "nice to have", "what's preferred"}},
		{"duties", []string{"duties", "what will I do", "responsibilities", "what would I do day to day"}},
		{"type", []string{"hours", "is it full time", "is it full-time?", "type", "part time?"}},
		{"mission", []string{"mission", "what's the goal"}},
		{"role", []string{"role", "what is the position"}},
		{"about", []string{"about", "tell me about the company", "pinterest"}},
	}
	for _, tt := range tests {
		for _, q := range tt.queries {
			t.Run(tt.want+"/"+q, func(t *testing.T) {
				got := p.Search(q)
				if len(got) == 0 {
					t.Fatalf("Search(%q) = nil, want %s first", q, tt.want)
				}
				if got[0].Section.Key != tt.want {
					t.Errorf("Search(%q) = %s, want %s first", q, describe(got), tt.want)
				}
				if len(got) > 3 {
					t.Errorf("Search(%q) returned %d matches, want <= 3", q, len(got))
				}
			})
		}
	}
}

func describe(ms []posting.Match) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.Section.Key)
		b.WriteString("=")
		b.WriteString(strconv.FormatFloat(m.Score, 'f', 2, 64))
	}
	return "[" + b.String() + "]"
}

// nothingQueries are queries that match no section, among them the largest and oddest input Slack
// can deliver.
func nothingQueries() map[string]string {
	rnd := rand.New(rand.NewSource(1))
	var big strings.Builder
	for big.Len() < 10<<10 {
		big.WriteRune(rune(rnd.Intn(0x2FFFF)))
	}
	var ctl strings.Builder
	for i := 0; i < 512; i++ {
		ctl.WriteByte(byte(i % 32))
	}
	return map[string]string{
		"Gibberish":   "asdfgh",
		"Empty":       "",
		"Blank":       "   ",
		"StopWord":    "the",
		"StopWords":   "what is it about?",
		"Unicode10KB": big.String(),
		"Control":     ctl.String(),
		"SQL":         "'; DROP TABLE answers; --",
		"Emoji":       "🙂🙂🙂",
		"InvalidUTF8": "\xff\xfe\xfd",
	}
}

// TestSearchNothing: how long these take is BenchmarkSearchNothing's to say.
func TestSearchNothing(t *testing.T) {
	p := posting.Default()
	for name, q := range nothingQueries() {
		t.Run(name, func(t *testing.T) {
			if got := p.Search(q); got != nil {
				t.Errorf("Search(%.40q) = %s, want nil", q, describe(got))
			}
		})
	}
}

// BenchmarkSearchNothing times the queries of TestSearchNothing; each should take well under 20 ms.
func BenchmarkSearchNothing(b *testing.B) {
	p := posting.Default()
	for name, q := range nothingQueries() {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p.Search(q)
			}
		})
	}
}

func TestSearchRankedAndBounded(t *testing.T) {
	p := posting.Default()
	for _, q := range []string{"machine learning research at pinterest", "pay location team mission role type bonus", "AI"} {
		got := p.Search(q)
		if len(got) > 3 {
			t.Errorf("Search(%q) returned %d matches", q, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Score > got[i-1].Score {
				t.Errorf("Search(%q) not sorted: %s", q, describe(got))
			}
		}
	}
}

func TestSearchPointsIntoPosting(t *testing.T) {
	p := posting.Default()
	got := p.Search("pay")
	s, _ := p.Section("pay")
	if len(got) == 0 || got[0].Section != s {
		t.Fatalf("Search(pay)[0].Section does not point into the posting")
	}
}

func TestSuggest(t *testing.T) {
	p := posting.Default()
	for q, want := range map[string]string{
		"salry":     "pay",
		"locaton":   "location",
		"requirmnt": "requirements",
		"teh stack": "tech-stack",
		"misson":    "mission",
	} {
		got := p.Suggest(q)
		if !slices.Contains(got, want) {
			t.Errorf("Suggest(%q) = %v, want it to contain %q", q, got, want)
		}
		if len(got) > 3 {
			t.Errorf("Suggest(%q) = %v, want <= 3", q, got)
		}
	}
	for _, q := range []string{"", "   ", "the", "qqqqqqqqqq", "'; DROP TABLE answers; --"} {
		if got := p.Suggest(q); got != nil {
			t.Errorf("Suggest(%q) = %v, want nil", q, got)
		}
	}
}

func BenchmarkSearch(b *testing.B) {
	p := posting.Default()
	for b.Loop() {
		p.Search("how much does it pay?")
	}
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"pay", "how much does it pay?", "salery", "", "what will I do", "\xff", "new york new york new york"} {
		f.Add(s)
	}
	p := posting.Default()
	f.Fuzz(func(t *testing.T, q string) {
		got := p.Search(q)
		if len(got) > 3 {
			t.Fatalf("Search(%q) returned %d matches", q, len(got))
		}
		for i, m := range got {
			if m.Section == nil || math.IsNaN(m.Score) || math.IsInf(m.Score, 0) || m.Score <= 0 {
				t.Fatalf("Search(%q)[%d] = %+v", q, i, m)
			}
			if i > 0 && m.Score > got[i-1].Score {
				t.Fatalf("Search(%q) not sorted", q)
			}
		}
		if s := p.Suggest(q); len(s) > 3 {
			t.Fatalf("Suggest(%q) = %v", q, s)
		}
	})
}

func TestSearchSeesEdits(t *testing.T) {
	p := posting.Default()
	if got := p.Search("zeppelin"); got != nil {
		t.Fatalf("Search(zeppelin) = %s before the edit", describe(got))
	}
	s, _ := p.Section("bonus")
	s.Aliases = append(s.Aliases, "zeppelin")
	if got := p.Search("zeppelin"); len(got) == 0 || got[0].Section.Key != "bonus" {
		t.Fatalf("Search(zeppelin) = %s after adding the alias, want bonus", describe(got))
	}
}

func TestSearchConcurrent(t *testing.T) {
	p := posting.Default()
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				if got := p.Search("salary"); len(got) == 0 || got[0].Section.Key != "pay" {
					t.Errorf("Search(salary) = %s", describe(got))
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

// TestSearchLongQueryIsCapped: a query far over the cap still finds its section; how long it takes is
// BenchmarkSearchLongQuery's to say.
func TestSearchLongQueryIsCapped(t *testing.T) {
	p := posting.Default()
	if got := p.Search(strings.Repeat("salary ", 5000)); len(got) == 0 || got[0].Section.Key != "pay" {
		t.Errorf("Search(salary x5000) = %s", describe(got))
	}
	p.Suggest(strings.Repeat("salry ", 5000))
}

// BenchmarkSearchLongQuery times a query and a suggestion far over the cap; each should take well
// under 20 ms.
func BenchmarkSearchLongQuery(b *testing.B) {
	p := posting.Default()
	b.Run("Search", func(b *testing.B) {
		q := strings.Repeat("salary ", 5000)
		for b.Loop() {
			p.Search(q)
		}
	})
	b.Run("Suggest", func(b *testing.B) {
		q := strings.Repeat("salry ", 5000)
		for b.Loop() {
			p.Suggest(q)
		}
	})
}
