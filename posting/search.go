package posting

import (
	"hash/fnv"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Match is one section that answers a query, with its relevance score.
type Match struct {
	Section *Section
	Score   float64
}

// Limits that keep matching cheap whatever people paste into Slack: only the
// start of a query is read, and only so many tokens of it are scored.
const (
	maxQueryBytes  = 1024
	maxQueryTokens = 24
	maxTokenRunes  = 32
	maxFuzzyTokens = 6
	maxResults     = 3
)

// Scoring knobs. Field weights follow the usual BM25F idea: a word in the
// key, title or aliases says far more about a section than a word buried in
// its body.
const (
	bm25K1 = 1.2
	bm25B  = 0.5

	weightKey   = 3.0
	weightTitle = 3.0
	weightAlias = 3.0
	weightBody  = 1.0

	phraseBonus   = 2.5  // per token of a multi-word alias found as a phrase
	keyBonus      = 3.0  // the query names the section key outright ("pay")
	prefixFactor  = 0.5  // "resp" for "responsibilities"
	fuzzyFactor1  = 0.6  // one edit away: "salery"
	fuzzyFactor2  = 0.4  // two edits away, long words only
	relativeFloor = 0.5  // keep matches scoring at least this share of the best
	absoluteFloor = 1.05 // and at least this much outright
)

// stopWords carry no meaning for picking a section. They still take part in
// alias phrases, which is how "what will I do" finds the duties; an alias
// that is itself a stop word ("need" for the requirements) is matched the
// same way, as a one-word phrase.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a about after all also am an and any anything are as at be been
		being but by can could did do does doing for from get got had has have having he her here him
		his how i if in into is it its just know let like me might more most much my need no not of on
		one or our out please really say she should so some tell than that the their them then there
		these they this those to too us use used very want was way we were what when which who whom
		why will with would yeah yes you your`) {
		stopWords[w] = true
	}
}

// tokenize lowercases s and splits it into runs of letters and digits,
// returning at most limit tokens; overlong tokens are cut to maxTokenRunes.
func tokenize(s string, limit int) []string {
	var toks []string
	var b strings.Builder
	n := 0
	flush := func() {
		if b.Len() > 0 {
			toks = append(toks, b.String())
			b.Reset()
			n = 0
		}
	}
	for _, r := range s {
		if len(toks) >= limit {
			return toks
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if n < maxTokenRunes {
				b.WriteRune(unicode.ToLower(r))
				n++
			}
			continue
		}
		flush()
	}
	if len(toks) < limit {
		flush()
	}
	return toks
}

// stem strips common English inflections so "requirements", "working" and
// "duties" meet "requirement", "work" and "duty". It is deliberately crude:
// what matters is that queries and sections are stemmed the same way.
func stem(w string) string {
	if !isASCII(w) {
		return w
	}
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		w = w[:n-3] + "y"
	case n > 4 && (strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "ches") ||
		strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "zes")):
		w = w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:n-1]
	}
	n = len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ing"):
		w = undouble(w[:n-3])
	case n > 4 && strings.HasSuffix(w, "ed"):
		w = undouble(w[:n-2])
	}
	// "leverage" and "leveraging" both end up as "leverag".
	if n = len(w); n > 4 && w[n-1] == 'e' {
		w = w[:n-1]
	}
	return w
}

func undouble(w string) string {
	n := len(w)
	if n > 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// terms turns text into the stemmed, meaningful words of it.
func terms(text string) []string {
	var out []string
	for _, t := range tokenize(text, math.MaxInt) {
		if isTerm(t) {
			out = append(out, stem(t))
		}
	}
	return out
}

func isTerm(t string) bool {
	if stopWords[t] {
		return false
	}
	// Single letters are noise ("C++" -> "c", "you'll" -> "ll" is two, fine).
	return utf8.RuneCountInString(t) > 1 || unicode.IsDigit([]rune(t)[0])
}

func stemAll(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = stem(t)
	}
	return out
}

type field int

const (
	fieldKey field = iota
	fieldTitle
	fieldAlias
	fieldBody
	numFields
)

var fieldWeight = [numFields]float64{weightKey, weightTitle, weightAlias, weightBody}

type doc struct {
	tf      [numFields]map[string]int
	length  [numFields]float64
	phrases [][]string // aliases matched as phrases (multi-word or stop words), stemmed
	key     string     // stemmed key with its words joined by "-"
	names   []string   // key, title and aliases, normalised, as is and stemmed: for Suggest
}

type index struct {
	docs   []doc
	df     map[string]int
	avgLen [numFields]float64
	vocab  []string // every term, sorted, for typo matching
}

// indexes caches built indexes by a fingerprint of the posting's text, so
// the Posting stays a plain value callers may copy and edit: an edited
// posting simply has a different fingerprint. Indexes are read-only once
// built, so they are shared between goroutines.
var indexes struct {
	sync.Mutex
	m map[uint64]*index
}

const maxCachedIndexes = 8

func indexFor(p *Posting) *index {
	h := fingerprint(p)
	indexes.Lock()
	ix := indexes.m[h]
	indexes.Unlock()
	if ix != nil && len(ix.docs) == len(p.Sections) {
		return ix
	}
	ix = buildIndex(p)
	indexes.Lock()
	if indexes.m == nil || len(indexes.m) >= maxCachedIndexes {
		indexes.m = make(map[uint64]*index)
	}
	indexes.m[h] = ix
	indexes.Unlock()
	return ix
}

func fingerprint(p *Posting) uint64 {
	h := fnv.New64a()
	write := func(s string) {
		io.WriteString(h, s)
		h.Write([]byte{0})
	}
	for _, s := range p.Sections {
		write(s.Key)
		write(s.Title)
		write(s.Body)
		for _, a := range s.Aliases {
			write(a)
		}
		h.Write([]byte{1})
	}
	return h.Sum64()
}

func buildIndex(p *Posting) *index {
	ix := &index{docs: make([]doc, len(p.Sections)), df: map[string]int{}}
	for i := range p.Sections {
		s := &p.Sections[i]
		d := &ix.docs[i]
		fields := [numFields][]string{
			fieldKey:   terms(s.Key),
			fieldTitle: terms(s.Title),
			fieldBody:  terms(s.Body),
		}
		for _, a := range s.Aliases {
			toks := tokenize(a, math.MaxInt)
			switch {
			case len(toks) == 1 && isTerm(toks[0]):
				fields[fieldAlias] = append(fields[fieldAlias], stem(toks[0]))
			case len(toks) > 0:
				d.phrases = append(d.phrases, stemAll(toks))
			}
		}
		d.key = strings.Join(stemAll(tokenize(s.Key, math.MaxInt)), "-")
		for _, raw := range append([]string{s.Key, s.Title}, s.Aliases...) {
			toks := tokenize(raw, maxQueryTokens)
			d.names = append(d.names, strings.Join(toks, " "), strings.Join(stemAll(toks), " "))
		}
		seen := map[string]bool{}
		for f, ts := range fields {
			d.tf[f] = make(map[string]int, len(ts))
			d.length[f] = float64(len(ts))
			ix.avgLen[f] += float64(len(ts))
			for _, t := range ts {
				d.tf[f][t]++
				if !seen[t] {
					seen[t] = true
					ix.df[t]++
				}
			}
		}
	}
	if n := float64(len(ix.docs)); n > 0 {
		for f := range ix.avgLen {
			ix.avgLen[f] /= n
		}
	}
	ix.vocab = make([]string, 0, len(ix.df))
	for t := range ix.df {
		ix.vocab = append(ix.vocab, t)
	}
	sort.Strings(ix.vocab)
	return ix
}

func (ix *index) idf(t string) float64 {
	n, df := float64(len(ix.docs)), float64(ix.df[t])
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// weightedTerm is a vocabulary term a query token stands for, discounted
// when it was reached by prefix or typo rather than spelled out.
type weightedTerm struct {
	term   string
	factor float64
}

// expand maps query terms onto the vocabulary: exact terms as they are,
// unknown ones to their closest prefix or typo matches.
func (ix *index) expand(qterms []string) []weightedTerm {
	var out []weightedTerm
	fuzzy := 0
	for _, q := range qterms {
		if ix.df[q] > 0 {
			out = append(out, weightedTerm{q, 1})
			continue
		}
		qlen := utf8.RuneCountInString(q)
		if qlen < 4 || fuzzy >= maxFuzzyTokens {
			continue
		}
		fuzzy++
		maxDist := 0
		switch {
		case qlen >= 8:
			maxDist = 2
		case qlen >= 5:
			maxDist = 1
		}
		best, cands := 0.0, []string(nil)
		for _, v := range ix.vocab {
			f := 0.0
			if utf8.RuneCountInString(v) > qlen && strings.HasPrefix(v, q) {
				f = prefixFactor
			}
			if maxDist > 0 {
				switch d := editDistance(q, v, maxDist); min(d, maxDist+1) {
				case 1:
					f = max(f, fuzzyFactor1)
				case 2:
					if maxDist >= 2 {
						f = max(f, fuzzyFactor2)
					}
				}
			}
			switch {
			case f > best:
				best, cands = f, append(cands[:0], v)
			case f > 0 && f == best:
				cands = append(cands, v)
			}
		}
		for _, c := range cands {
			out = append(out, weightedTerm{c, best})
		}
	}
	return out
}

// queryTerms splits a query into its raw tokens (for phrase matching) and its
// distinct stemmed terms (for scoring).
func queryTerms(query string) (stemmed []string, qterms []string) {
	toks := tokenize(clip(query), maxQueryTokens)
	stemmed = stemAll(toks)
	seen := map[string]bool{}
	for i, t := range toks {
		if !isTerm(t) || seen[stemmed[i]] {
			continue
		}
		seen[stemmed[i]] = true
		qterms = append(qterms, stemmed[i])
	}
	return stemmed, qterms
}

// Search ranks the sections that answer query, best first. It returns at
// most three matches, only those scoring near the best one, and nil when
// nothing matches well enough.
func (p *Posting) Search(query string) []Match {
	if p == nil || len(p.Sections) == 0 {
		return nil
	}
	stemmed, qterms := queryTerms(query)
	if len(stemmed) == 0 {
		return nil
	}
	ix := indexFor(p)
	wterms := ix.expand(qterms)
	// The key bonus looks at the whole query, stop words included, so the
	// "about" section is found by "about".
	joined := strings.Join(stemmed, "-")

	var matches []Match
	for i := range ix.docs {
		d := &ix.docs[i]
		score := 0.0
		for _, wt := range wterms {
			tfw := 0.0
			for f := field(0); f < numFields; f++ {
				tf := d.tf[f][wt.term]
				if tf == 0 {
					continue
				}
				norm := 1.0
				if ix.avgLen[f] > 0 {
					norm = 1 - bm25B + bm25B*d.length[f]/ix.avgLen[f]
				}
				tfw += fieldWeight[f] * float64(tf) / norm
			}
			if tfw > 0 {
				score += wt.factor * ix.idf(wt.term) * tfw * (bm25K1 + 1) / (tfw + bm25K1)
			}
		}
		for _, ph := range d.phrases {
			if containsPhrase(stemmed, ph) {
				score += phraseBonus * float64(len(ph))
			}
		}
		if d.key != "" && (joined == d.key || slices.Contains(qterms, d.key)) {
			score += keyBonus
		}
		if score > 0 && !math.IsInf(score, 0) && !math.IsNaN(score) {
			matches = append(matches, Match{Section: &p.Sections[i], Score: score})
		}
	}
	if len(matches) == 0 {
		return nil
	}
	sort.SliceStable(matches, func(i, j int) bool { return matches[i].Score > matches[j].Score })
	floor := max(absoluteFloor, relativeFloor*matches[0].Score)
	n := 0
	for n < len(matches) && n < maxResults && matches[n].Score >= floor {
		n++
	}
	if n == 0 {
		return nil
	}
	return matches[:n:n]
}

// clip cuts an untrusted query to maxQueryBytes (possibly mid-rune, which
// tokenize treats as a separator).
func clip(query string) string {
	if len(query) > maxQueryBytes {
		return query[:maxQueryBytes]
	}
	return query
}

func containsPhrase(toks, phrase []string) bool {
	if len(phrase) == 0 {
		return false
	}
outer:
	for i := 0; i+len(phrase) <= len(toks); i++ {
		for j, p := range phrase {
			if toks[i+j] != p {
				continue outer
			}
		}
		return true
	}
	return false
}

// Suggest returns up to three section keys whose key, title or aliases are
// spelled closest to query, for a "did you mean" reply when Search finds
// nothing. Closest first; nil when nothing is close.
func (p *Posting) Suggest(query string) []string {
	if p == nil {
		return nil
	}
	toks := tokenize(clip(query), maxQueryTokens)
	var probes []string
	seen := map[string]bool{}
	add := func(q string) {
		if !seen[q] {
			seen[q] = true
			probes = append(probes, q)
		}
	}
	for _, t := range toks {
		if !stopWords[t] {
			add(t)
			add(stem(t))
		}
	}
	if len(toks) > 1 {
		add(strings.Join(toks, " "))
		add(strings.Join(stemAll(toks), " "))
	}
	if len(probes) == 0 {
		return nil
	}
	type cand struct {
		key  string
		dist int
	}
	var cands []cand
	ix := indexFor(p)
	for i := range ix.docs {
		best := -1
		for _, name := range ix.docs[i].names {
			if d := closeness(probes, name); d >= 0 && (best < 0 || d < best) {
				best = d
			}
		}
		if best >= 0 {
			cands = append(cands, cand{p.Sections[i].Key, best})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var keys []string
	for _, c := range cands {
		if len(keys) == maxResults {
			break
		}
		keys = append(keys, c.key)
	}
	return keys
}

// closeness is the smallest edit distance from any probe to name, or -1 if
// none is close enough to be a plausible misspelling of it.
func closeness(probes []string, name string) int {
	nlen := utf8.RuneCountInString(name)
	if nlen == 0 {
		return -1
	}
	allowed := 1
	if nlen >= 8 {
		allowed = 2
	}
	best := -1
	for _, q := range probes {
		qlen := utf8.RuneCountInString(q)
		d := editDistance(q, name, allowed)
		if qlen >= 3 && nlen > qlen && strings.HasPrefix(name, q) {
			d = min(d, 1)
		}
		// A distance as long as the probe itself means nothing is shared.
		if d <= allowed && d < qlen && (best < 0 || d < best) {
			best = d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b in runes, or
// limit+1 once it is known to exceed limit. The config package uses it for
// "did you mean" on unknown keys.
func EditDistance(a, b string, limit int) int { return editDistance(a, b, limit) }

// editDistance is the Levenshtein distance between a and b in runes, or
// limit+1 once it is known to exceed limit.
func editDistance(a, b string, limit int) int {
	if d := utf8.RuneCountInString(a) - utf8.RuneCountInString(b); d > limit || -d > limit {
		return limit + 1
	}
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return min(prev[len(rb)], limit+1)
}
