// Package progress reports the progress of long work on stderr: a live bar
// (rate, ETA and a note such as the loss) when the stream is a terminal, and
// plain, occasional lines when it is not (logs, CI, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Reporter receives progress updates.
type Reporter interface {
	// Update reports done units of the total and a short note.
	Update(done int64, note string)
	// Finish ends the report (the bar is completed, a final line written).
	Finish()
}

// New returns a Reporter writing to w: a bar when w is a terminal, plain
// lines otherwise, nothing when w is nil or quiet is set.
func New(w io.Writer, total int64, title, unit string, quiet bool) Reporter {
	if w == nil || quiet || total <= 0 {
		return nop{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &bar{b: progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(title),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		), title: title}
	}
	return &lines{w: w, total: total, title: title, unit: unit, start: time.Now(), every: 5 * time.Second}
}

type nop struct{}

func (nop) Update(int64, string) {}
func (nop) Finish()              {}

type bar struct {
	b     *progressbar.ProgressBar
	title string
}

func (b *bar) Update(done int64, note string) {
	if note != "" {
		b.b.Describe(b.title + " " + note)
	}
	_ = b.b.Set64(done)
}

func (b *bar) Finish() { _ = b.b.Finish() }

// lines prints at most one line every few seconds.
type lines struct {
	mu          sync.Mutex
	w           io.Writer
	total       int64
	title, unit string
	start, last time.Time
	every       time.Duration
	done        int64
	note        string
	finished    bool
}

func (l *lines) Update(done int64, note string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done, l.note = done, note
	if now := time.Now(); now.Sub(l.last) >= l.every && done < l.total {
		l.last = now
		l.print()
	}
}

func (l *lines) print() {
	el := time.Since(l.start).Seconds()
	rate := float64(l.done) / max(el, 1e-9)
	eta := ""
	if rate > 0 && l.done < l.total {
		eta = fmt.Sprintf(", ETA %.0fs", float64(l.total-l.done)/rate)
	}
	fmt.Fprintf(l.w, "%s %d/%d %s (%.0f%%), %.0f %s/s%s %s\n", l.title, l.done, l.total, l.unit, 100*float64(l.done)/float64(l.total), rate, l.unit, eta, l.note)
}

func (l *lines) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished {
		return
	}
	l.finished = true
	l.print()
}
