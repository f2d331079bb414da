package posting

import "regexp"

// dateWords are the words that make a question one about dates ("what is the deadline", "when does
// it start"). A posting rarely has a section for them; the deadlines the bot keeps answer them.
var dateWords = map[string]bool{
	"deadline": true, "deadlines": true, "due": true, "date": true, "dates": true, "when": true,
	"start": true, "starts": true, "starting": true, "begin": true, "begins": true, "close": true,
	"closes": true, "closing": true, "cutoff": true, "timeline": true, "until": true,
}

// AsksWhen reports whether query is a question about dates.
func AsksWhen(query string) bool {
	for _, w := range tokenize(clip(query), maxQueryTokens) {
		if dateWords[w] {
			return true
		}
	}
	return false
}

// datePattern finds what reads as a date in a posting's text: a month name, an ISO date, a
// numeric d/m/y date, or a season with a year.
var datePattern = regexp.MustCompile(`(?i)\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)\.?\s+\d{1,2}\b` +
	`|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b` +
	`|\b(spring|summer|fall|autumn|winter)\s+(of\s+)?(19|20)\d{2}\b`)

// Dated returns the sections whose body gives a date, in posting order.
func (p *Posting) Dated() []*Section {
	if p == nil {
		return nil
	}
	var out []*Section
	for i := range p.Sections {
		if datePattern.MatchString(p.Sections[i].Body) {
			out = append(out, &p.Sections[i])
		}
	}
	return out
}
