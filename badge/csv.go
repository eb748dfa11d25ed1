package badge

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/wiegand"
)

// MaxCSVLine is the longest line ImportCSV reads, in bytes.
const MaxCSVLine = 64 << 10

// ImportReport is the outcome of ImportCSV.
type ImportReport struct {
	// Added lists the IDs of the badges added, in file order.
	Added []string
	// Errors lists the refused lines, in file order.
	Errors []LineError
}

// Err returns the line errors joined into one error, or nil when every line
// was imported.
func (r ImportReport) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	errs := make([]error, len(r.Errors))
	for i := range r.Errors {
		errs[i] = r.Errors[i]
	}
	return errors.Join(errs...)
}

// LineError is a refused line of a CSV import.
type LineError struct {
	Line int    // 1-based line number in the input
	ID   string // the line's badge ID field, as written ("" if absent)
	Err  error  // why; wraps ErrInvalid, ErrInvalidID or ErrExists
}

// Error returns "line N: reason".
func (e LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e LineError) Unwrap() error { return e.Err }

// CSV columns ImportCSV knows.
var csvColumns = []string{"name", "id", "type", "format", "facility", "number"}

// ImportCSV adds badges to the pool from CSV text, one badge per line. The
// columns are name, id and type, optionally followed by the card data
// format (a wiegand format name such as "H10301"), facility and number.
// The first line is a header when one of its fields is "id" (in any case);
// a header may name the columns in any order and leave out the optional
// ones, and an unknown column name stops the import before anything is
// added. Without a header the columns are taken in the order above.
//
// Surrounding spaces in fields, blank lines, a UTF-8 byte order mark and
// CRLF line ends are ignored. Fields may be quoted to contain commas but not
// line breaks.
//
// Every line is validated like Add. A bad line, or a badge ID already in the
// pool or earlier in the file, is recorded in the report with its line
// number and reason, and the import goes on: valid lines are imported
// anyway. ImportCSV returns a non-nil error only when it cannot go on (a
// read error, a line longer than MaxCSVLine, a bad header, a Store failure
// other than ErrExists or ErrInvalid, or ctx ending); the report then
// covers the lines handled before.
func (p *Pool) ImportCSV(ctx context.Context, r io.Reader) (ImportReport, error) {
	var rep ImportReport
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxCSVLine)
	cols := []int{0, 1, 2, 3, 4, 5} // index into csvColumns for each field
	seen := make(map[string]int)
	line, first := 0, true
	for sc.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields, err := splitCSVLine(text)
		if err != nil {
			rep.Errors = append(rep.Errors, LineError{Line: line, Err: err})
			first = false
			continue
		}
		if first {
			first = false
			if hdr, ok, err := parseHeader(fields); err != nil {
				return rep, fmt.Errorf("line %d: %w", line, err)
			} else if ok {
				cols = hdr
				continue
			}
		}
		b, err := badgeFromFields(fields, cols)
		if err != nil {
			rep.Errors = append(rep.Errors, LineError{Line: line, ID: b.ID, Err: err})
			continue
		}
		if prev, dup := seen[b.ID]; dup {
			rep.Errors = append(rep.Errors, LineError{Line: line, ID: b.ID,
				Err: fmt.Errorf("%w: badge %s is a duplicate of line %d", ErrExists, b.ID, prev)})
			continue
		}
		seen[b.ID] = line
		added, err := p.Add(ctx, b)
		switch {
		case err == nil:
			rep.Added = append(rep.Added, added.ID)
		case errors.Is(err, ErrExists) || errors.Is(err, ErrInvalid):
			rep.Errors = append(rep.Errors, LineError{Line: line, ID: b.ID, Err: err})
		default:
			return rep, fmt.Errorf("badge: import stopped at line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return rep, fmt.Errorf("%w: line %d is longer than %d bytes", ErrInvalid, line+1, MaxCSVLine)
		}
		return rep, fmt.Errorf("badge: reading CSV after line %d: %w", line, err)
	}
	return rep, nil
}

// splitCSVLine parses one CSV record and trims its fields.
func splitCSVLine(text string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%w: malformed CSV: %v", ErrInvalid, err)
	}
	out := make([]string, len(rec))
	for i, f := range rec {
		out[i] = strings.TrimSpace(f)
	}
	return out, nil
}

// parseHeader reports whether fields are a header and maps each field to a
// column.
func parseHeader(fields []string) ([]int, bool, error) {
	isHeader := false
	for _, f := range fields {
		if strings.EqualFold(f, "id") {
			isHeader = true
		}
	}
	if !isHeader {
		return nil, false, nil
	}
	cols := make([]int, len(fields))
	used := make(map[int]bool)
	for i, f := range fields {
		c := -1
		for j, name := range csvColumns {
			if strings.EqualFold(f, name) {
				c = j
			}
		}
		if c < 0 {
			return nil, false, fmt.Errorf("%w: unknown CSV column %.40q; known columns are %s", ErrInvalid, f, strings.Join(csvColumns, ", "))
		}
		if used[c] {
			return nil, false, fmt.Errorf("%w: CSV column %q appears twice", ErrInvalid, f)
		}
		used[c] = true
		cols[i] = c
	}
	if !used[0] {
		return nil, false, fmt.Errorf("%w: CSV header has no name column", ErrInvalid)
	}
	return cols, true, nil
}

// badgeFromFields builds a badge from one record. The returned badge carries
// the ID even on error, for the report.
func badgeFromFields(fields []string, cols []int) (Badge, error) {
	var v [6]string
	for i, f := range fields[:min(len(fields), len(cols))] {
		v[cols[i]] = f
	}
	b := Badge{Name: v[0], ID: v[1], CredentialType: v[2]}
	if len(fields) > len(cols) {
		return b, fmt.Errorf("%w: %d fields, expected at most %d", ErrInvalid, len(fields), len(cols))
	}
	if len(fields) < 2 {
		return b, fmt.Errorf("%w: %d field, expected at least name and id", ErrInvalid, len(fields))
	}
	if err := ValidateID(b.ID); err != nil {
		return b, err
	}
	format, facility, number := v[3], v[4], v[5]
	if format == "" {
		if facility != "" || number != "" {
			return b, fmt.Errorf("%w: facility or number given without a card format", ErrInvalid)
		}
		return b, nil
	}
	f, err := wiegand.ParseFormat(format)
	if err != nil {
		return b, fmt.Errorf("%w: unknown card format %q", ErrInvalid, format)
	}
	b.Card.Format = f
	if facility != "" {
		if b.Card.Facility, err = strconv.ParseUint(facility, 10, 64); err != nil {
			return b, fmt.Errorf("%w: facility code %q is not a number", ErrInvalid, facility)
		}
	}
	if number == "" {
		return b, fmt.Errorf("%w: card format %s given without a card number", ErrInvalid, f)
	}
	if b.Card.Number, err = strconv.ParseUint(number, 10, 64); err != nil {
		return b, fmt.Errorf("%w: card number %q is not a number", ErrInvalid, number)
	}
	return b, nil
}
