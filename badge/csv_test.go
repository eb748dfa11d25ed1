package badge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/acsbridge/acsbridge/wiegand"
)

func TestImportCSVMixed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, _ := newTestPool(t, "900")
	input := "\uFEFFName, ID ,Type\r\n" + // 1 header, BOM, CRLF
		"Visitor 01,1001,temp\r\n" + // 2 ok
		"Visitor 02,10O2,temp\r\n" + // 3 letter O
		"\r\n" + // 4 blank
		"Visitor 03,  1003  ,temp\r\n" + // 5 ok, spaces trimmed
		"\"Lobby, east\",1004,\r\n" + // 6 ok, quoted comma, no type
		"Visitor 05,1001,temp\r\n" + // 7 duplicate of line 2
		"Visitor 06,900,temp\r\n" + // 8 already in the pool
		",1007,temp\r\n" + // 9 no name
		"Visitor 08\r\n" + // 10 no id
		"Visitor 09,1009,temp,extra\r\n" + // 11 too many fields
		"Visitor \"10,1010,temp\r\n" + // 12 bad quote
		"Visitor 11,-1011,temp\r\n" + // 13 sign
		"Visitor 12,٣٣,temp\r\n" + // 14 non-ASCII digits
		"Visitor 13,0013,temp" // 15 ok, no final newline, leading zeros kept
	rep, err := p.ImportCSV(ctx, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rep.Added); got != "[1001 1003 1004 0013]" {
		t.Errorf("Added = %s", got)
	}
	want := []struct {
		line int
		id   string
		is   error
		msg  string
	}{
		{3, "10O2", ErrInvalidID, "'O' at position 3"},
		{7, "1001", ErrExists, "duplicate of line 2"},
		{8, "900", ErrExists, "already exists"},
		{9, "1007", ErrInvalid, "badge name is empty"},
		{10, "", ErrInvalid, "expected at least name and id"},
		{11, "1009", ErrInvalid, "4 fields, expected at most 3"},
		{12, "", ErrInvalid, "malformed CSV"},
		{13, "-1011", ErrInvalidID, "'-' at position 1"},
		{14, "٣٣", ErrInvalidID, "not an ASCII digit"},
	}
	if len(rep.Errors) != len(want) {
		t.Fatalf("got %d line errors, want %d:\n%v", len(rep.Errors), len(want), rep.Err())
	}
	for i, w := range want {
		e := rep.Errors[i]
		if e.Line != w.line || e.ID != w.id || !errors.Is(e, w.is) || !strings.Contains(e.Error(), w.msg) ||
			!strings.HasPrefix(e.Error(), fmt.Sprintf("line %d: ", w.line)) {
			t.Errorf("error %d = {line %d, id %q, %q}; want line %d, id %q, %v containing %q", i, e.Line, e.ID, e.Error(), w.line, w.id, w.is, w.msg)
		}
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "line 14: ") {
		t.Errorf("Report.Err() = %v", err)
	}
	b, err := p.Get(ctx, "1004")
	if err != nil || b.Name != "Lobby, east" || b.CredentialType != "" || b.State != Available {
		t.Errorf("imported badge 1004 = %+v, %v", b, err)
	}
	if _, err := p.Get(ctx, "13"); !errors.Is(err, ErrNotFound) {
		t.Errorf("0013 was normalised: Get(13) = %v", err)
	}
}

func TestImportCSVHeaderlessWithCards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, _ := newTestPool(t)
	input := "Visitor 1,2001,H10301-temp,H10301,12,2001\n" +
		"Visitor 2,2002\n" +
		"Visitor 3,2003,,H10302,,123456789\n" +
		"Visitor 4,2004,,H10301,256,1\n" + // facility too big
		"Visitor 5,2005,,Q99,1,1\n" + // unknown format
		"Visitor 6,2006,,,1,1\n" + // card data without format
		"Visitor 7,2007,,H10301,1,\n" + // no number
		"Visitor 8,2008,,H10301,x,1\n" // facility not a number
	rep, err := p.ImportCSV(ctx, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rep.Added); got != "[2001 2002 2003]" {
		t.Errorf("Added = %s; errors: %v", got, rep.Err())
	}
	for i, msg := range []string{"facility code 256", "unknown card format \"Q99\"", "without a card format", "without a card number", "not a number"} {
		if i >= len(rep.Errors) || !strings.Contains(rep.Errors[i].Error(), msg) || rep.Errors[i].Line != i+4 {
			t.Errorf("error %d: got %v, want line %d containing %q", i, rep.Errors, i+4, msg)
		}
	}
	b, _ := p.Get(ctx, "2001")
	if b.Card != (Card{Format: wiegand.H10301, Facility: 12, Number: 2001}) || b.CredentialType != "H10301-temp" {
		t.Errorf("badge 2001 = %+v", b)
	}
	b, _ = p.Get(ctx, "2003")
	if b.Card != (Card{Format: wiegand.H10302, Number: 123456789}) {
		t.Errorf("badge 2003 = %+v", b)
	}
}

func TestImportCSVHeaderOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, _ := newTestPool(t)
	rep, err := p.ImportCSV(ctx, strings.NewReader("id,name\n3001,Front 1\n3002,Front 2\n"))
	if err != nil || len(rep.Added) != 2 || len(rep.Errors) != 0 {
		t.Fatalf("ImportCSV = %+v, %v", rep, err)
	}
	if b, _ := p.Get(ctx, "3001"); b.Name != "Front 1" {
		t.Fatalf("header order ignored: %+v", b)
	}
	for _, hdr := range []string{"name,id,colour\n1,2\n", "id,type\n1,2\n", "name,id,ID\n"} {
		rep, err := p.ImportCSV(ctx, strings.NewReader(hdr))
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "line 1: ") || len(rep.Added) != 0 {
			t.Errorf("ImportCSV(%q) = %+v, %v; want a header error", hdr, rep, err)
		}
	}
}

func TestImportCSVStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	p, _ := newTestPool(t)
	long := "Visitor 1,4001\n" + strings.Repeat("x", MaxCSVLine+1) + "\nVisitor 3,4003\n"
	rep, err := p.ImportCSV(ctx, strings.NewReader(long))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "line 2 is longer") || len(rep.Added) != 1 {
		t.Errorf("long line: %+v, %v", rep, err)
	}

	boom := errors.New("disk on fire")
	rep, err = p.ImportCSV(ctx, io.MultiReader(strings.NewReader("Visitor 2,4002\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || len(rep.Added) != 1 {
		t.Errorf("read error: %+v, %v", rep, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rep, err = p.ImportCSV(cctx, strings.NewReader("Visitor 5,4005\n"))
	if !errors.Is(err, context.Canceled) || len(rep.Added) != 0 {
		t.Errorf("cancelled: %+v, %v", rep, err)
	}

	// A store failure other than a duplicate stops the import.
	fp, err := NewPool(failingStore{Store: NewMemoryStore(), err: boom}, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	rep, err = fp.ImportCSV(ctx, strings.NewReader("Visitor 6,4006\nVisitor 7,4007\n"))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "line 1") || len(rep.Added) != 0 {
		t.Errorf("store failure: %+v, %v", rep, err)
	}
}

type failingStore struct {
	Store
	err error
}

func (s failingStore) Add(context.Context, Badge) error { return s.err }
