// Package report writes the tutorial's results as one self-contained HTML
// page: every figure embedded as a PNG data URI and every number in tables,
// so the page opens anywhere without a network or other files.
package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"

	"github.com/snnkit/snnkit/internal/atomicfile"
)

// Figure is an embedded picture with a caption.
type Figure struct {
	Title   string
	Caption string
	PNG     []byte
}

// Row is one row of a table.
type Row []string

// Table is a titled table.
type Table struct {
	Title  string
	Header Row
	Rows   []Row
}

// Page is the content of a report.
type Page struct {
	Title    string
	Summary  []string // short paragraphs at the top
	Network  string   // the printed spiking network
	Tables   []Table
	Figures  []Figure
	Footnote string
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"dataURI": func(b []byte) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
 body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
 h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
 table { border-collapse: collapse; margin: 0.5em 0 1em; }
 th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: right; }
 th:first-child, td:first-child { text-align: left; }
 pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
 figure { margin: 1em 0 2em; } figure img { max-width: 100%; border: 1px solid #eee; }
 figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }
 .foot { color: #777; font-size: 0.85em; margin-top: 3em; }
</style>
</head>
<body data-figures="{{len .Figures}}" data-images-loaded="0">
<h1>{{.Title}}</h1>
{{range .Summary}}<p>{{.}}</p>
{{end}}
<h2>Figures</h2>
{{range .Figures}}<figure>
<img alt="{{.Title}}" src="{{dataURI .PNG}}" onload="var b=document.body; b.dataset.imagesLoaded=String(Number(b.dataset.imagesLoaded)+1)" onerror="document.body.dataset.imageError='{{.Title}}'">
<figcaption><b>{{.Title}}.</b> {{.Caption}}</figcaption>
</figure>
{{end}}
{{range .Tables}}<h2>{{.Title}}</h2>
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
{{if .Network}}<h2>Spiking network</h2>
<pre>{{.Network}}</pre>
{{end}}
<p class="foot">{{.Footnote}}</p>
</body>
</html>
`))

// Render returns the page's HTML.
func Render(p *Page) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return b.Bytes(), nil
}

// Write renders the page to path through a temporary file renamed when
// complete.
func Write(path string, p *Page) error {
	b, err := Render(p)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}
