// Package progress reports the progress of long work on stderr: a live bar
// (rate, ETA and a note such as the loss) when the stream is a terminal, and
// plain, occasional lines when it is not (logs, CI, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

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
		width := 80
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 40 {
			width = cols
		}
		return &bar{w: w, total: total, title: title, unit: unit, start: time.Now(), width: width}
	}
	return &lines{w: w, total: total, title: title, unit: unit, start: time.Now(), every: 5 * time.Second}
}

type nop struct{}

func (nop) Update(int64, string) {}
func (nop) Finish()              {}

// bar redraws one terminal line (carriage return, no newline) at most ten
// times a second: title, a bar, percentage, count, rate, ETA and the note.
type bar struct {
	mu          sync.Mutex
	w           io.Writer
	total       int64
	title, unit string
	start, last time.Time
	width       int
	done        int64
	note        string
	finished    bool
}

func (b *bar) Update(done int64, note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.note = done, note
	if now := time.Now(); now.Sub(b.last) >= 100*time.Millisecond {
		b.last = now
		b.draw()
	}
}

func (b *bar) draw() {
	el := time.Since(b.start).Seconds()
	rate := float64(b.done) / max(el, 1e-9)
	tail := fmt.Sprintf(" %3.0f%% %d/%d %s %.0f %s/s", 100*float64(b.done)/float64(b.total), b.done, b.total, b.unit, rate, b.unit)
	if rate > 0 && b.done < b.total {
		tail += fmt.Sprintf(" ETA %.0fs", float64(b.total-b.done)/rate)
	}
	if b.note != "" {
		tail += " " + b.note
	}
	n := b.width - len(b.title) - len(tail) - 4
	n = min(max(n, 10), 50)
	fill := int(float64(n) * float64(b.done) / float64(b.total))
	line := b.title + " [" + strings.Repeat("=", fill) + strings.Repeat(" ", n-fill) + "]" + tail
	if len(line) > b.width-1 {
		line = line[:b.width-1]
	}
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
}

func (b *bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	b.draw()
	fmt.Fprintln(b.w)
}

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
